"""Model presets: what each supported Stable Diffusion 2.x family can do. No torch here.

A preset names a model family with its scheduler, its native size and the sizes it may make, its
step, guidance and strength ranges with their defaults, and its capabilities (img2img, negative
prompt, LoRA). The storefront sliders, the API's validation, the Recipe, the worker's engine and the
frozen order line all read the preset of the request; nothing else holds a range.

    sd21       SD 2.1 768-v: v-prediction, DPM-Solver++ 2M (the default)
    sd21-base  SD 2.1-base: 512 px, epsilon prediction, DPM-Solver++ 2M
    sd-turbo   SD-Turbo (SD 2.1 distilled, adversarial diffusion distillation): 512 px, 1-4 steps,
               no classifier-free guidance (so no negative prompt), Euler with trailing timesteps
               as in its model card; for small GPUs or CPU-only servers

The shop owner picks the preset per brand (``Brand.model_preset``) or per product (the host
adapter's ``ProductInfo.model_preset``); ``PERSONALIZATION["DEFAULT_PRESET"]`` is the fallback.
Where each preset's weights live: ``PERSONALIZATION["MODELS"][name]`` (a hub id or a local
diffusers directory); ``build_tiny_pipeline --preset NAME`` writes a random-weight demo model in
that preset's layout. ``PERSONALIZATION["PRESET_OVERRIDES"] = {name: {field: value}}`` narrows a
preset (e.g. fewer sizes or other defaults); the system check refuses overrides that break it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from .conf import conf

# The schedulers the engine knows (engine/loading.make_scheduler builds them from these names).
SCHEDULERS = {
    "dpmsolver++-2m": "DPMSolverMultistepScheduler (DPM++ 2M)",
    "euler-trailing": "EulerDiscreteScheduler (trailing timesteps)",
}
PREDICTION_TYPES = ("v_prediction", "epsilon")
SIZE_MULTIPLE = 64
# The sizes any preset may make (the engine's own limits, engine/options.size_ok: multiples of 8).
MIN_SIZE, MAX_SIZE = 64, 2048


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    label: str
    hub_id: str
    description: str
    prediction_type: str
    scheduler: str  # a key of SCHEDULERS
    native_size: int
    sizes: tuple[int, ...]
    default_size: int
    min_steps: int
    max_steps: int
    default_steps: int
    min_guidance: float
    max_guidance: float
    default_guidance: float
    min_strength: float
    max_strength: float
    default_strength: float
    img2img: bool = True
    negative_prompt: bool = True
    lora: bool = True
    max_variations: int = 4

    @property
    def scheduler_label(self) -> str:
        return SCHEDULERS[self.scheduler]

    @property
    def uses_guidance(self) -> bool:
        """False when guidance is fixed at 0 (no classifier-free guidance, one UNet pass per step)."""
        return self.max_guidance > 0

    def as_dict(self) -> dict:
        """JSON-ready, for the API and the studio's sliders."""
        data = asdict(self)
        data["sizes"] = list(self.sizes)
        data["scheduler_label"] = self.scheduler_label
        return data

    def problems(self) -> list[str]:
        """What is inconsistent in this preset (empty: fine); the system check reports them."""
        found = []
        if self.scheduler not in SCHEDULERS:
            found.append(f"scheduler {self.scheduler!r} is not one of {', '.join(SCHEDULERS)}")
        if self.prediction_type not in PREDICTION_TYPES:
            found.append(
                f"prediction_type {self.prediction_type!r} is not one of {', '.join(PREDICTION_TYPES)}"
            )
        if not self.sizes:
            found.append("sizes is empty")
        for size in self.sizes:
            if (
                not isinstance(size, int)
                or isinstance(size, bool)
                or size % 8
                or not MIN_SIZE <= size <= MAX_SIZE
            ):
                found.append(f"size {size!r} is not a multiple of 8 between {MIN_SIZE} and {MAX_SIZE}")
        if self.default_size not in self.sizes:
            found.append(f"default_size {self.default_size} is not one of sizes {list(self.sizes)}")
        for low, high, default, label in (
            (self.min_steps, self.max_steps, self.default_steps, "steps"),
            (self.min_guidance, self.max_guidance, self.default_guidance, "guidance"),
            (self.min_strength, self.max_strength, self.default_strength, "strength"),
        ):
            if not low <= default <= high:
                found.append(f"default {label} {default} is not between {low} and {high}")
        if self.min_steps < 1:
            found.append("min_steps must be at least 1")
        if self.min_guidance < 0:
            found.append("min_guidance must not be negative")
        if not 0 < self.min_strength <= self.max_strength <= 1:
            found.append("strengths must lie in (0, 1]")
        if self.max_variations < 1:
            found.append("max_variations must be at least 1")
        return found


# SD 2.1 768-v; SD 2.1-base is the same family at 512 px with epsilon prediction.
_SD21 = Preset(
    name="sd21",
    label="Stable Diffusion 2.1 (768-v)",
    hub_id="stabilityai/stable-diffusion-2-1",
    description="The best quality: 768 px, v-prediction, DPM-Solver++ 2M in 20-30 steps. Needs a GPU.",
    prediction_type="v_prediction",
    scheduler="dpmsolver++-2m",
    native_size=768,
    sizes=(512, 768),
    default_size=768,
    min_steps=1,
    max_steps=100,
    default_steps=25,
    min_guidance=0.0,
    max_guidance=20.0,
    default_guidance=7.5,
    min_strength=0.05,
    max_strength=1.0,
    default_strength=0.6,
)

BUILT_IN: dict[str, Preset] = {
    "sd21": _SD21,
    "sd21-base": replace(
        _SD21,
        name="sd21-base",
        label="Stable Diffusion 2.1-base (512)",
        hub_id="stabilityai/stable-diffusion-2-1-base",
        description="512 px, epsilon prediction, DPM-Solver++ 2M: 0.44x the latent pixels of 768-v.",
        prediction_type="epsilon",
        native_size=512,
        sizes=(512,),
        default_size=512,
    ),
    "sd-turbo": Preset(
        name="sd-turbo",
        label="SD-Turbo (SD 2.1 distilled, 1-4 steps)",
        hub_id="stabilityai/sd-turbo",
        description=(
            "512 px in 1 to 4 steps without guidance (its model card's settings): for small GPUs or "
            "CPU-only servers. No negative prompt and no brand LoRA."
        ),
        prediction_type="epsilon",
        scheduler="euler-trailing",
        native_size=512,
        sizes=(512,),
        default_size=512,
        min_steps=1,
        max_steps=4,
        default_steps=1,
        min_guidance=0.0,
        max_guidance=0.0,
        default_guidance=0.0,
        # img2img as in the model card: steps x strength of at least 1 (2 steps at 0.5).
        min_strength=0.25,
        max_strength=1.0,
        default_strength=0.5,
        negative_prompt=False,
        lora=False,
    ),
}

# The fields a host may narrow in PRESET_OVERRIDES (the family's nature stays fixed).
OVERRIDABLE = frozenset(
    {
        "label",
        "description",
        "sizes",
        "default_size",
        "min_steps",
        "max_steps",
        "default_steps",
        "min_guidance",
        "max_guidance",
        "default_guidance",
        "min_strength",
        "max_strength",
        "default_strength",
        "max_variations",
    }
)
CHOICES = [(name, preset.label) for name, preset in BUILT_IN.items()]


@dataclass(frozen=True, slots=True)
class Envelope:
    """The widest values any built-in preset allows: the database's CheckConstraints on a
    GenerationRequest (personalization.models) are these, and PRESET_OVERRIDES may not go past them."""

    min_steps: int
    max_steps: int
    min_guidance: float
    max_guidance: float
    min_strength: float
    max_strength: float
    max_variations: int
    min_size: int = MIN_SIZE
    max_size: int = MAX_SIZE


def _envelope(presets) -> Envelope:
    presets = list(presets)
    return Envelope(
        min_steps=min(p.min_steps for p in presets),
        max_steps=max(p.max_steps for p in presets),
        min_guidance=min(p.min_guidance for p in presets),
        max_guidance=max(p.max_guidance for p in presets),
        min_strength=min(p.min_strength for p in presets),
        max_strength=max(p.max_strength for p in presets),
        max_variations=max(p.max_variations for p in presets),
    )


ENVELOPE = _envelope(BUILT_IN.values())


def envelope_problems(preset: Preset) -> list[str]:
    """What in ``preset`` lies outside ENVELOPE (what the database accepts)."""
    e, found = ENVELOPE, []
    for label, low, high, floor, ceiling in (
        ("steps", preset.min_steps, preset.max_steps, e.min_steps, e.max_steps),
        ("guidance", preset.min_guidance, preset.max_guidance, e.min_guidance, e.max_guidance),
        ("strength", preset.min_strength, preset.max_strength, e.min_strength, e.max_strength),
        ("variations", 1, preset.max_variations, 1, e.max_variations),
    ):
        if low < floor or high > ceiling:
            found.append(
                f"{label} {low:g}..{high:g} goes past {floor:g}..{ceiling:g}, what any preset allows"
            )
    return found


class UnknownPreset(KeyError):
    pass


def names() -> tuple[str, ...]:
    return tuple(BUILT_IN)


# The global range settings that presets replaced, and the preset field each became.
REPLACED_SETTINGS = {
    "DEFAULT_STEPS": "default_steps",
    "MIN_STEPS": "min_steps",
    "MAX_STEPS": "max_steps",
    "DEFAULT_GUIDANCE": "default_guidance",
    "MIN_GUIDANCE": "min_guidance",
    "MAX_GUIDANCE": "max_guidance",
    "SIZES": "sizes",
    "DEFAULT_SIZE": "default_size",
    "MAX_VARIATIONS": "max_variations",
    "DEFAULT_STRENGTH": "default_strength",
}


def override_problems() -> list[str]:
    """What is wrong in PERSONALIZATION["PRESET_OVERRIDES"] and DEFAULT_PRESET (for the system check),
    and any range setting that presets replaced (so a shop's old setting is not silently ignored)."""
    from django.conf import settings

    found = []
    for old in sorted(set(getattr(settings, "PERSONALIZATION", None) or {}) & set(REPLACED_SETTINGS)):
        found.append(
            f"PERSONALIZATION[{old!r}] is no longer read: ranges and defaults belong to the model "
            f'presets; set PRESET_OVERRIDES = {{"<preset>": {{"{REPLACED_SETTINGS[old]}": ...}}}} instead'
        )
    overrides = conf.PRESET_OVERRIDES or {}
    if not isinstance(overrides, dict):
        return ["PRESET_OVERRIDES must be a dict {preset name: {field: value}}"]
    for name, changes in overrides.items():
        if name not in BUILT_IN:
            found.append(f"PRESET_OVERRIDES: unknown preset {name!r} (known: {', '.join(BUILT_IN)})")
            continue
        if not isinstance(changes, dict):
            found.append(f"PRESET_OVERRIDES[{name!r}] must be a dict")
            continue
        if unknown := sorted(set(changes) - OVERRIDABLE):
            found.append(f"PRESET_OVERRIDES[{name!r}]: cannot override {', '.join(unknown)}")
            continue
        changed = _apply(BUILT_IN[name], changes)
        found += [f"PRESET_OVERRIDES[{name!r}]: {p}" for p in changed.problems() + envelope_problems(changed)]
    if conf.DEFAULT_PRESET not in BUILT_IN:
        found.append(f"DEFAULT_PRESET {conf.DEFAULT_PRESET!r} is not one of {', '.join(BUILT_IN)}")
    return found


def _apply(preset: Preset, changes: dict) -> Preset:
    changes = {k: v for k, v in changes.items() if k in OVERRIDABLE}
    if "sizes" in changes:
        changes["sizes"] = tuple(changes["sizes"])
        changes.setdefault(
            "default_size",
            preset.default_size if preset.default_size in changes["sizes"] else changes["sizes"][0],
        )
    return replace(preset, **changes)


def get(name: str | None = None) -> Preset:
    """The preset called ``name`` (None or "": the default preset), with the host's overrides."""
    name = name or conf.DEFAULT_PRESET
    if name not in BUILT_IN:
        raise UnknownPreset(name)
    return _apply(BUILT_IN[name], (conf.PRESET_OVERRIDES or {}).get(name, {}))


def model_for(name: str) -> str:
    """Where the weights of preset ``name`` are: PERSONALIZATION["MODELS"][name], else (for "sd21")
    the older single ``MODEL`` setting, else the preset's hub id."""
    models = conf.MODELS or {}
    if models.get(name):
        return str(models[name])
    if name == "sd21" and conf.MODEL:
        return str(conf.MODEL)
    return BUILT_IN[name].hub_id


def field_names() -> tuple[str, ...]:
    return tuple(f.name for f in fields(Preset))


def lora_problem(name: str | None) -> str:
    """Why a brand with LoRA weights cannot use preset ``name`` ("" : the default preset), or ""."""
    try:
        preset = get(name or None)
    except UnknownPreset:
        return ""
    if preset.lora:
        return ""
    return (
        f"{preset.label} cannot apply a brand's LoRA weights: choose another model preset, or remove "
        "the LoRA file."
    )


def choose(*, product_preset: str = "", brand_preset: str = "") -> Preset:
    """The preset a product is generated with: the product's own choice (the host adapter's
    ``ProductInfo.model_preset``), else its brand's (``Brand.model_preset``), else DEFAULT_PRESET.
    A name that is not a preset (e.g. one removed since) falls through to the next choice."""
    for name in (product_preset, brand_preset):
        if name and name in BUILT_IN:
            return get(name)
    return get(None)


def _offer_to_brands() -> None:
    """Hand the presets to brand_guides (Brand.model_preset's choices and its LoRA check), which
    does not import this plugin (brand_guides/model_presets.py)."""
    from brand_guides import model_presets

    model_presets.register(choices=CHOICES, lora_problem=lora_problem)


_offer_to_brands()
