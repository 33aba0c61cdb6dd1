"""One generation, as one frozen value: the Recipe. No torch, no ORM.

A Recipe holds everything that decides the pixels of a design: the model preset and the weights,
the prompt and negative prompt, the seeds, steps, guidance scale, width and height (the pixel budget
``size`` shaped like the product's print area, ``sizing.shaped_size``), the img2img strength, the
reference image (by SHA-256) and how it is fitted to that shape (cover or contain), and the brand's
LoRA. It is built and validated ONCE, by
:func:`build`, against the preset's ranges and capabilities and against every rule the engine
enforces (``engine/rules.py``), so a request that submit accepts is never failed by the worker for a
reason that submit could have caught. Everything downstream reads it:

    form / serializer --(raw values)--> build() --> Recipe
    services: GenerationRequest.recipe (its columns) and the result-cache key (cache_key)
    worker:   recipe.job(...) -> engine Job;  PNG metadata: recipe.png_parameters(seed)
    orders:   LineDesign.recipe (as_dict) for the print re-render

Field errors come back in the customer's words under the request's field names ("steps",
"guidance_scale", "size", "seed", "variations", "strength", "reference_image", "reference_fit",
"product", "description").
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from . import presets
from .engine import options as engine_options
from .engine import rules as engine_rules
from .sizing import REFERENCE_FITS, fit_reference, shaped_size

MAX_SEED = 2**32 - 1
# The request fields a Recipe reads from a form, a serializer or a service call.
INPUT_FIELDS = ("seed", "variations", "steps", "guidance_scale", "size", "strength")


class RecipeInvalid(ValueError):
    """The values do not make a valid recipe; ``errors`` maps request fields to messages."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


@dataclass(frozen=True, slots=True)
class Recipe:
    preset: str
    model: str
    prompt: str
    negative_prompt: str
    seed: int
    variations: int
    steps: int
    guidance_scale: float
    width: int
    height: int
    strength: float | None = None  # img2img only (None: no reference image)
    reference_sha256: str = ""
    lora: str = ""  # the storage name of the brand's LoRA weights ("" : none)
    lora_scale: float = 1.0
    reference_fit: str = "cover"  # img2img only: how the reference is fitted to width x height

    # --- what it means ---------------------------------------------------------------------------

    @property
    def seeds(self) -> tuple[int, ...]:
        """Variation i uses seed + i."""
        return tuple(self.seed + index for index in range(self.variations))

    @property
    def scheduler(self) -> str:
        return presets.BUILT_IN[self.preset].scheduler_label

    @property
    def is_img2img(self) -> bool:
        return bool(self.reference_sha256)

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"

    def with_prompts(self, prompt: str, negative_prompt: str) -> Recipe:
        """The same recipe with the built prompts (a preset without negative prompts drops it)."""
        keeps_negative = presets.BUILT_IN[self.preset].negative_prompt
        return replace(self, prompt=prompt, negative_prompt=negative_prompt if keeps_negative else "")

    # --- what reads it -----------------------------------------------------------------------------

    def job(self, *, reference_image=None, lora_path: str | None = None, seeds=None) -> engine_rules.Job:
        """The engine's Job. ``reference_image`` (a PIL image) and ``lora_path`` (a local file) are
        what the worker resolved from ``reference_sha256`` and ``lora``; the reference is fitted to
        width x height here (``sizing.fit_reference`` with ``reference_fit``), before the engine
        encodes it."""
        if reference_image is not None:
            reference_image = fit_reference(reference_image, (self.width, self.height), self.reference_fit)
        return engine_rules.Job(
            prompt=self.prompt,
            negative_prompt=self.negative_prompt,
            seeds=list(seeds if seeds is not None else self.seeds),
            steps=self.steps,
            guidance_scale=self.guidance_scale,
            width=self.width,
            height=self.height,
            reference_image=reference_image,
            strength=self.strength if self.strength is not None else 1.0,
            lora_path=lora_path if self.lora else None,
            lora_scale=self.lora_scale,
        )

    def png_parameters(self, *, seed: int) -> dict:
        """The keyword arguments of ``engine.metadata.png_bytes``/``parameters_text`` for one
        variation, with the recipe's own fields added to the A1111 line."""
        extra = {"Preset": self.preset}
        if self.is_img2img:
            extra["Denoising strength"] = self.strength
            extra["Reference fit"] = self.reference_fit
        if self.lora:
            extra["LoRA scale"] = self.lora_scale
        return {
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "seed": seed,
            "steps": self.steps,
            "guidance_scale": self.guidance_scale,
            "scheduler": self.scheduler,
            "model": self.model,
            "width": self.width,
            "height": self.height,
            "extra": extra,
        }

    def cache_key(self, *context: str) -> str:
        """SHA-256 of every field that decides the pixels, plus ``context`` (what the images are
        composited with: product, colour, material, brand...)."""
        parts = [
            self.preset,
            self.model,
            self.prompt,
            self.negative_prompt,
            f"{self.steps}",
            f"{self.guidance_scale:.4f}",
            self.size,
            f"{self.seed}",
            f"{self.variations}",
            self.reference_sha256,
            f"{self.strength:.4f}" if self.is_img2img else "",
            self.reference_fit if self.is_img2img else "",
            self.lora,
            f"{self.lora_scale:.4f}" if self.lora else "",
            *context,
        ]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["scheduler"] = self.scheduler
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Recipe:
        """The recipe of ``as_dict``; a dict from before a field existed takes its default."""
        names = cls.__dataclass_fields__
        return cls(**{key: value for key, value in data.items() if key in names})


# --- building and validating (the one place) -----------------------------------------------------


def parse_number(value, *, label: str, low: float, high: float, integer: bool) -> tuple[Any, str]:
    """(number, "") or (None, message): ``value`` (a number or a string) as a finite number between
    ``low`` and ``high`` (a whole one when ``integer``), with the customer's message when it is not."""
    if isinstance(value, bool):
        return None, f"Enter a number for {label}."
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None, f"Enter a number for {label}."
    if not math.isfinite(number):
        return None, f"{label.capitalize()} must be a finite number."
    if integer and number != int(number):
        return None, f"{label.capitalize()} must be a whole number."
    if not low <= number <= high:
        shown = (int(low), int(high)) if integer else (f"{low:g}", f"{high:g}")
        if shown[0] == shown[1]:
            return None, f"{label.capitalize()} must be {shown[0]} with this model."
        return None, f"{label.capitalize()} must be between {shown[0]} and {shown[1]}."
    return (int(number) if integer else number), ""


def _blank(value) -> bool:
    return value is None or value == ""


def fewest_steps(strength: float) -> int:
    """The fewest steps that leave img2img at least one denoising step at this strength."""
    steps = max(1, math.ceil(1 / strength))
    return steps if int(steps * strength) >= 1 else steps + 1


def least_strength(steps: int) -> float:
    """The least strength (in hundredths) that leaves img2img at least one step at these steps."""
    hundredths = math.ceil(100 / steps)
    while int(steps * (hundredths / 100)) < 1:  # the engine's own arithmetic (rules.JOB_RULES)
        hundredths += 1
    return min(1.0, hundredths / 100)


def _img2img_steps_message(job) -> str:
    return (
        f"With a reference image, steps × strength must be at least 1 ({job.steps} × {job.strength:g} "
        f"leaves no step to run): use at least {fewest_steps(job.strength)} steps, or a strength of "
        f"at least {least_strength(job.steps):g}."
    )


# Every rule of engine/rules.py (JOB_RULES), as the request field it is about and the customer's
# message. A test checks there is one entry per rule and that build() catches each.
ENGINE_RULE_ERRORS: dict[str, tuple[str, Callable]] = {
    "text": ("description", lambda job: "Describe your design in words."),
    "seeds_present": ("variations", lambda job: "Ask for at least one variation."),
    "seed_range": ("seed", lambda job: f"Seed must be a whole number between 0 and {MAX_SEED}."),
    "size": (
        "size",
        lambda job: (
            f"{job.width} px is not a size the generator can make: sizes are multiples of 8 "
            "from 64 to 2048 px."
        ),
    ),
    # The preset's ranges lie inside the engine's, so these two only fire for a preset gone wrong.
    "steps": ("steps", lambda job: f"{job.steps} steps are more than the generator can run."),
    "guidance": (
        "guidance_scale",
        lambda job: f"A guidance of {job.guidance_scale:g} is out of the generator's range.",
    ),
    "strength": ("strength", lambda job: "Strength must be more than 0 and at most 1."),
    "img2img_steps": ("steps", _img2img_steps_message),
    "lora_file": (
        "product",
        lambda job: (
            "This product cannot be personalized right now (its brand's style file is missing). "
            "Please try again later."
        ),
    ),
}


def build(
    *,
    preset: presets.Preset | str | None = None,
    prompt: str,
    negative_prompt: str = "",
    seed=None,
    variations=None,
    steps=None,
    guidance_scale=None,
    size=None,
    aspect: float = 1.0,
    strength=None,
    reference_png: bytes | None = None,
    reference_sha256: str = "",
    reference_fit: str = "cover",
    lora: str = "",
    lora_scale: float = 1.0,
    lora_exists: Callable[[str], bool] | None = None,
    random_seed: Callable[[], int] | None = None,
) -> Recipe:
    """Parse and validate raw request values (strings, numbers or None for the preset's default)
    against the preset, then against the engine's rules. Raises RecipeInvalid with every field's
    message. ``size`` is the pixel budget; the design takes the print area's ``aspect`` (width /
    height, ``sizing.shaped_size``). ``reference_fit`` ("cover" or "contain") is how a reference
    image is fitted to that shape. ``lora_exists(name)`` says whether the LoRA file is in storage
    (default: assume so)."""
    preset = preset if isinstance(preset, presets.Preset) else presets.get(preset)
    errors: dict[str, str] = {}

    def number(name, value, default, *, label, low, high, integer):
        parsed, message = parse_number(
            default if _blank(value) else value, label=label, low=low, high=high, integer=integer
        )
        if message:
            errors[name] = message
        return parsed

    guidance_scale = number(
        "guidance_scale",
        guidance_scale,
        preset.default_guidance,
        label="guidance",
        low=preset.min_guidance,
        high=preset.max_guidance,
        integer=False,
    )
    variations = number(
        "variations", variations, 1, label="variations", low=1, high=preset.max_variations, integer=True
    )
    if _blank(seed):
        import secrets

        seed = (random_seed or (lambda: secrets.randbelow(MAX_SEED + 1)))()
    else:
        seed = number("seed", seed, 0, label="seed", low=0, high=MAX_SEED, integer=True)
    size = number(
        "size",
        size,
        preset.default_size,
        label="size",
        low=min(preset.sizes),
        high=max(preset.sizes),
        integer=True,
    )
    if size is not None and size not in preset.sizes:
        errors["size"] = f"Size must be one of {', '.join(map(str, preset.sizes))} with {preset.label}."
        size = None
    img2img = reference_png is not None
    if img2img and not preset.img2img:
        errors["reference_image"] = f"{preset.label} does not take a reference image."
    if reference_fit not in REFERENCE_FITS:
        errors["reference_fit"] = "Choose how to fit the reference picture: cover or contain."
    strength = number(
        "strength",
        strength,
        preset.default_strength,
        label="strength",
        low=preset.min_strength,
        high=preset.max_strength,
        integer=False,
    )
    default_steps = preset.default_steps
    if img2img and strength is not None:  # a default that leaves img2img at least one step to run
        default_steps = min(preset.max_steps, max(default_steps, fewest_steps(strength)))
    steps = number(
        "steps",
        steps,
        default_steps,
        label="steps",
        low=preset.min_steps,
        high=preset.max_steps,
        integer=True,
    )
    if lora and not preset.lora:
        errors["product"] = (
            f"This product's brand style (LoRA) cannot be used with {preset.label}: the shop must "
            "choose another model preset."
        )
    if errors:
        raise RecipeInvalid(errors)

    # The budget in the print area's shape; a budget the engine could not make even as a square
    # (a preset gone wrong) stays as it is, for the engine's size rule below to refuse in its words.
    width, height = shaped_size(size, aspect) if engine_options.size_ok(size, size) else (size, size)
    recipe = Recipe(
        preset=preset.name,
        model=presets.model_for(preset.name),
        prompt=prompt,
        negative_prompt=negative_prompt if preset.negative_prompt else "",
        seed=seed,
        variations=variations,
        steps=steps,
        guidance_scale=float(guidance_scale),
        width=width,
        height=height,
        strength=strength if img2img else None,
        reference_sha256=reference_sha256 if img2img else "",
        lora=lora or "",
        lora_scale=float(lora_scale) if lora else 1.0,
        reference_fit=reference_fit if img2img else "cover",
    )
    reference_image = None
    if img2img:
        from PIL import Image

        reference_image = Image.open(io.BytesIO(reference_png), formats=["PNG"])
    job = recipe.job(reference_image=reference_image, lora_path=recipe.lora or None)
    for rule in engine_rules.problems(job, file_exists=lora_exists or (lambda name: True)):
        if rule.name in ENGINE_RULE_ERRORS:
            field, message = ENGINE_RULE_ERRORS[rule.name]
            text = message(job)
        else:  # a rule added to the engine without its entry above: still refused, in its own words
            field, text = "__all__", rule.explain(job)
        errors.setdefault(field, text)
    if errors:
        raise RecipeInvalid(errors)
    return recipe
