from functools import cache

from .caching import cache_get, cache_set
from .conf import conf, demo_presets, trained_demo_presets

# How long the presets chosen in the catalogue (brands, products) are remembered for the banner.
CHOSEN_PRESETS_SECONDS = 300
CHOSEN_PRESETS_KEY = "personalization:chosen-presets"


def chosen_presets() -> frozenset[str]:
    """The presets that brands and the host's personalizable products choose (cached briefly: the
    host adapter describes every product)."""
    chosen = cache_get(CHOSEN_PRESETS_KEY)  # an unreachable cache is a miss (personalization.caching)
    if chosen is None:
        from brand_guides.models import Brand

        from .hosts import host

        adapter = host()
        chosen = set(Brand.objects.exclude(model_preset="").values_list("model_preset", flat=True))
        chosen |= {info.model_preset for info in adapter.product_infos(adapter.products())}
        chosen.discard("")
        cache_set(CHOSEN_PRESETS_KEY, chosen, CHOSEN_PRESETS_SECONDS)
    return frozenset(chosen)


def demo_presets_in_use() -> list[str]:
    """The presets on demo weights that designs are made with: the default preset, and any that a
    brand or product chooses. Sorted names; empty when none."""
    demo = demo_presets()
    if not demo:
        return []
    in_use = {conf.DEFAULT_PRESET}
    if not demo <= in_use:  # a demo preset other than the default: does anything choose it?
        in_use |= chosen_presets()
    return sorted(demo & in_use)


def personalization(request) -> dict:
    # Callables: a template calls them only when it shows the banner (once per request).
    in_use = cache(demo_presets_in_use)
    return {
        # The demo banner: a preset in use runs on demo weights (random weights, pictures are noise).
        "personalization_demo_model": lambda: bool(in_use()),
        "personalization_demo_presets": in_use,
        # Every demo preset in use runs the trained pattern model (not random weights).
        "personalization_demo_trained": lambda: bool(in_use()) and set(in_use()) <= trained_demo_presets(),
        "personalization_trained_demo_preset_names": trained_demo_presets,
        # Every preset on demo weights, for the studio's "Model: ..." line.
        "personalization_demo_preset_names": demo_presets,
        # The admin shows a red banner while the output safety check is turned off.
        "personalization_safety_off": not conf.SAFETY_CHECK,
    }
