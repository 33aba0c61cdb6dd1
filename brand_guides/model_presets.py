"""The model presets a brand may choose (``Brand.model_preset``), as the personalization plugin
registers them. No Django models, no imports of the plugin.

brand_guides never imports personalization (an import contract: personalization builds on
brand_guides, not the other way round), yet a brand chooses one of personalization's model presets
and a preset without LoRA support cannot take the brand's LoRA weights. So personalization hands both
over when it loads (``personalization/presets.py`` calls :func:`register`), and brand_guides asks
here: the field's choices (a callable, so migrations do not copy the list) and ``Brand.clean``.
Without personalization installed a brand has no preset to choose (blank only).
"""

from collections.abc import Callable

_choices: list[tuple[str, str]] = []
_lora_problem: Callable[[str], str] = lambda name: ""  # noqa: E731


def register(*, choices: list[tuple[str, str]], lora_problem: Callable[[str], str]) -> None:
    """``choices``: (name, label) pairs; ``lora_problem(name)``: why a brand with LoRA weights
    cannot use preset ``name`` ("" : it can; "" as name means the default preset)."""
    global _lora_problem
    _choices[:] = list(choices)
    _lora_problem = lora_problem


def choices() -> list[tuple[str, str]]:
    """The choices of ``Brand.model_preset`` (evaluated lazily by Django)."""
    return list(_choices)


def lora_problem(name: str) -> str:
    return _lora_problem(name)
