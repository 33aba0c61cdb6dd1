"""What a generation job must be, without torch: the one list of rules that the engine's
`validate_jobs` (core.py) and the submit service (through `recipe.build`) both check,
so a request the shop accepts is never refused by the engine later, in the worker.

    problems(job)      -> the JOB_RULES this job breaks (empty: fine)
    check_job(job)     raises RuleBroken (a ValueError) for the first one
    check_batch(jobs)  the jobs one pipeline call may run together (BATCH_RULES), then each job

A rule is a name, the Job fields it reads, the engine's message and a test. The service turns a
broken rule into a field error in the customer's words (recipe.ENGINE_RULE_ERRORS, one entry per
rule; a test keeps them complete).
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from numbers import Real
from pathlib import Path
from typing import Any

from PIL import Image

from personalization.presets import ENVELOPE

from .options import SIZE_MESSAGE, size_ok

# The engine's envelope: the widest of the model presets' ranges (presets.ENVELOPE). A request is
# validated against its own preset by the Recipe (personalization/recipe.py), which then checks
# these rules too; here they only guard the engine against a job that no preset allows.
MIN_STEPS, MAX_STEPS = ENVELOPE.min_steps, ENVELOPE.max_steps
MIN_GUIDANCE, MAX_GUIDANCE = ENVELOPE.min_guidance, ENVELOPE.max_guidance
SEED_LIMIT = 2**64  # torch.Generator.manual_seed takes [0, 2**64)


@dataclass
class Job:
    """One prompt, one image per seed. A reference image makes it an img2img job."""

    prompt: str
    negative_prompt: str = ""
    seeds: list[int] = field(default_factory=lambda: [0])
    steps: int = 25
    guidance_scale: float = 7.5
    width: int = 768
    height: int = 768
    reference_image: Image.Image | None = None
    strength: float = 0.75  # img2img only: how far from the reference image to go
    lora_path: str | None = None
    lora_scale: float = 1.0


FileExists = Callable[[str], bool]


@dataclass(frozen=True)
class Rule:
    name: str
    fields: tuple[str, ...]  # the Job fields it reads
    message: str  # the engine's ValueError text; may name "{job.<field>}"
    holds: Callable[[Any, FileExists], bool]  # a Job (JOB_RULES) or a list of Jobs (BATCH_RULES)

    def explain(self, job: Job) -> str:
        return self.message.format(job=job)


class RuleBroken(ValueError):
    """A job breaks `rule`; str() is the engine's message."""

    def __init__(self, rule: Rule, job: Job | None = None):
        self.rule = rule
        super().__init__(rule.explain(job) if job is not None else rule.message)


def _integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _local_file(path: str) -> bool:
    return Path(path).is_file()


def _denoising_steps(job: Job) -> int:
    """The steps an img2img call really runs: diffusers' `int(num_inference_steps * strength)`."""
    return int(job.steps * job.strength)


JOB_RULES: tuple[Rule, ...] = (
    Rule(
        "text",
        ("prompt", "negative_prompt"),
        "prompt and negative_prompt must be strings",
        lambda job, _: isinstance(job.prompt, str) and isinstance(job.negative_prompt, str),
    ),
    Rule("seeds_present", ("seeds",), "seeds must not be empty", lambda job, _: bool(job.seeds)),
    Rule(
        "seed_range",
        ("seeds",),
        "seeds must be integers in [0, 2**64)",
        lambda job, _: all(_integer(seed) and 0 <= seed < SEED_LIMIT for seed in job.seeds or ()),
    ),
    Rule(
        "size",
        ("width", "height"),
        SIZE_MESSAGE,
        lambda job, _: _integer(job.width) and _integer(job.height) and size_ok(job.width, job.height),
    ),
    Rule(
        "steps",
        ("steps",),
        f"steps must be between {MIN_STEPS} and {MAX_STEPS}",
        lambda job, _: _integer(job.steps) and MIN_STEPS <= job.steps <= MAX_STEPS,
    ),
    Rule(
        "guidance",
        ("guidance_scale",),
        f"guidance_scale must be between {MIN_GUIDANCE:g} and {MAX_GUIDANCE:g}",
        lambda job, _: _number(job.guidance_scale) and MIN_GUIDANCE <= job.guidance_scale <= MAX_GUIDANCE,
    ),
    Rule(
        "strength",
        ("strength",),
        "strength must be in (0, 1]",
        lambda job, _: _number(job.strength) and 0 < job.strength <= 1,
    ),
    Rule(
        # img2img skips the first (1 - strength) of the schedule: at least one step must be left.
        "img2img_steps",
        ("steps", "strength", "reference_image"),
        "steps * strength must be at least 1",
        lambda job, _: job.reference_image is None or _denoising_steps(job) >= 1,
    ),
    Rule(
        "lora_file",
        ("lora_path",),
        "LoRA file not found: {job.lora_path}",
        lambda job, file_exists: job.lora_path is None or file_exists(job.lora_path),
    ),
)

# What ONE pipeline call needs of its jobs. The LoRA scale only matters with a LoRA: two brands
# without one may share a call whatever their (unused) scales.
SHARED_FIELDS = ("width", "height", "steps", "guidance_scale", "lora_path", "lora_scale")


def batch_key(job: Job) -> tuple:
    return (job.width, job.height, job.steps, job.guidance_scale, job.lora_path) + (
        (job.lora_scale,) if job.lora_path is not None else ()
    )


BATCH_RULES: tuple[Rule, ...] = (
    Rule("batch_present", (), "no jobs", lambda jobs, _: bool(jobs)),
    Rule(
        "batch_shared",
        SHARED_FIELDS,
        f"batched jobs must share {', '.join(SHARED_FIELDS)}",
        lambda jobs, _: len({batch_key(job) for job in jobs}) <= 1,
    ),
    Rule(
        "batch_img2img_alone",
        ("reference_image",),
        "jobs with a reference image cannot be batched",
        lambda jobs, _: len(jobs) <= 1 or all(job.reference_image is None for job in jobs),
    ),
)


def problems(job: Job, *, file_exists: FileExists = _local_file) -> list[Rule]:
    """The JOB_RULES `job` breaks, in order (a rule is only tested once the ones before it hold for
    the fields it reads, so each problem is reported once: steps=0 is a steps problem, not also an
    img2img one). `file_exists` says whether the LoRA file is there (the service asks the storage)."""
    broken: list[Rule] = []
    for rule in JOB_RULES:
        if any(set(rule.fields) & set(earlier.fields) for earlier in broken):
            continue
        if not rule.holds(job, file_exists):
            broken.append(rule)
    return broken


def check_job(job: Job, *, file_exists: FileExists = _local_file) -> None:
    if broken := problems(job, file_exists=file_exists):
        raise RuleBroken(broken[0], job)


def check_batch(jobs: list[Job], *, file_exists: FileExists = _local_file) -> None:
    """The engine's whole input check (`validate_jobs`): the batch, then every job in it."""
    if not BATCH_RULES[0].holds(jobs, file_exists):
        raise RuleBroken(BATCH_RULES[0])
    for job in jobs:
        check_job(job, file_exists=file_exists)
    for rule in BATCH_RULES[1:]:
        if not rule.holds(jobs, file_exists):
            raise RuleBroken(rule)
