"""Honest waiting: a request's queue position and ETA from the measured throughput of the GPU workers.

What a request costs a worker is measured when it succeeds (``work_seconds``: its share of the
batch's pipeline call, its re-seeds, its post-processing and storing; ``gpu_seconds``: the GPU part).
The throughput table is read from a moving window of those measures, per configuration (preset,
width x height, steps): the last ETA_WINDOW_SIZE succeeded, non-cache runs finished within
ETA_WINDOW_HOURS. A request's predicted cost is, in this order:

1. its configuration's median seconds per image, times its variations;
2. the median seconds per unit of work of its preset's other sizes and steps, scaled by its work
   (images x pixels x steps; one unit is one 512x512 image for one step);
3. the same over all presets;
4. ETA_DEFAULT_SECONDS_PER_STEP per unit (nothing measured at all).

Every cost is scaled by the workers' speed now (``Throughput.speed``: the newest ETA_SPEED_RUNS runs
against their configurations' medians), so a slowdown shows at once rather than when the medians
catch up.

The table (one query) and the number of live GPU workers (fresh heartbeats, at least 1; one query)
are kept in the cache for ETA_CACHE_SECONDS: the status endpoints that read them are polled every
second by every waiting customer.

A queued request's ETA comes from the queue's schedule (``schedule``): the queue in the order the
workers take it (``lifecycle.batch_plan``: the oldest request and the compatible ones that join its
pipeline call, then the next oldest), each request at its own predicted cost; a request waits for
the batches before its own and what is left of the running ones, divided by the live workers, then
for its batch's pipeline call and the post-processing of its batch's rows up to itself. The schedule
(one query over the queue) is kept in the cache too, counted down between readings. A running
request's ETA: what is left of its batch's pipeline call (the rows its worker runs), plus the
post-processing left of itself and of the rows of its batch that are finished before it (one query).
"""

import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median

from django.utils import timezone

from . import lifecycle
from .caching import cache_get, cache_set
from .conf import conf
from .models import GenerationRequest, WorkerHeartbeat

Status = GenerationRequest.Status
Phase = GenerationRequest.Phase

CACHE_KEY = "personalization:eta:throughput:v2"
SCHEDULE_KEY = "personalization:eta:schedule:v1"
REFERENCE_PIXELS = 512 * 512
# The GPU part of a request's cost when nothing was measured (the rest is post-processing).
DEFAULT_GPU_SHARE = 0.8
# What is left of the post-processing part once a request is storing (the mockups and the files).
STORING_LEFT = 0.5

Config = tuple[str, int, int, int]  # preset, width, height, steps


def work_units(*, width: int, height: int, steps: int, images: int = 1) -> float:
    """The work of ``images`` pictures: one unit is one 512x512 image for one denoising step."""
    return images * steps * width * height / REFERENCE_PIXELS


@dataclass(frozen=True)
class Cost:
    """A request's predicted worker seconds, and the part of them that is its GPU work."""

    seconds: float
    gpu_share: float
    source: str  # "measured", "preset", "all" or "default": which rung of the fallback answered

    @property
    def gpu_seconds(self) -> float:
        return self.seconds * self.gpu_share

    @property
    def post_seconds(self) -> float:
        return self.seconds - self.gpu_seconds


@dataclass(frozen=True)
class Throughput:
    """The measured throughput: per configuration the median (seconds per image, GPU share); per
    preset and over all the median (seconds per work unit, GPU share); the live GPU workers."""

    configs: dict[Config, tuple[float, float]] = field(default_factory=dict)
    presets: dict[str, tuple[float, float]] = field(default_factory=dict)
    overall: tuple[float, float] | None = None
    workers: int = 1
    # How fast the workers run now against their window: the median, over the newest ETA_SPEED_RUNS
    # runs, of each run's seconds per image over its configuration's median (2.0: twice as slow).
    speed: float = 1.0

    def cost(self, *, preset: str, width: int, height: int, steps: int, variations: int) -> Cost:
        """The predicted cost of a request of this configuration (the fallbacks of the module doc)."""
        measured = self.configs.get((preset, width, height, steps))
        if measured is not None:
            return Cost(measured[0] * variations * self.speed, measured[1], "measured")
        units = work_units(width=width, height=height, steps=steps, images=variations)
        for source, rate in (("preset", self.presets.get(preset)), ("all", self.overall)):
            if rate is not None:
                return Cost(rate[0] * units * self.speed, rate[1], source)
        return Cost(float(conf.ETA_DEFAULT_SECONDS_PER_STEP) * units, DEFAULT_GPU_SHARE, "default")


def measure(*, now: datetime | None = None) -> Throughput:
    """The throughput table from the database (two queries); ``throughput`` caches it."""
    now = now or timezone.now()
    rows = (
        GenerationRequest.objects.filter(
            status=Status.SUCCEEDED,
            cache_source=None,
            finished_at__gte=now - timedelta(hours=float(conf.ETA_WINDOW_HOURS)),
            work_seconds__gt=0,
        )
        .order_by("-finished_at")
        .values_list("preset", "width", "height", "steps", "variations", "work_seconds", "gpu_seconds")[
            : int(conf.ETA_WINDOW_ROWS)
        ]
    )
    rows = list(rows)
    per_config: dict[Config, list[tuple]] = {}
    for preset, width, height, steps, variations, work, gpu in rows:
        window = per_config.setdefault((preset, width, height, steps), [])
        if len(window) < int(conf.ETA_WINDOW_SIZE):  # newest first: the last N of each configuration
            share = min(1.0, max(0.0, gpu / work)) if gpu is not None else DEFAULT_GPU_SHARE
            window.append((work / variations, share, work_units(width=width, height=height, steps=steps)))
    configs, by_preset, everything = {}, {}, []
    for config, window in per_config.items():
        configs[config] = (median(s[0] for s in window), median(s[1] for s in window))
        rates = [(per_image / units, share) for per_image, share, units in window]
        by_preset.setdefault(config[0], []).extend(rates)
        everything.extend(rates)
    newest = [
        (work / variations) / configs[(preset, width, height, steps)][0]
        for preset, width, height, steps, variations, work, _gpu in rows[: max(1, int(conf.ETA_SPEED_RUNS))]
    ]
    return Throughput(
        configs=configs,
        presets={name: _medians(rates) for name, rates in by_preset.items()},
        overall=_medians(everything) if everything else None,
        workers=live_workers(now=now),
        speed=median(newest) if newest else 1.0,
    )


def _medians(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    return median(p[0] for p in pairs), median(p[1] for p in pairs)


def live_workers(*, now: datetime | None = None) -> int:
    """GPU worker processes with a fresh heartbeat (WORKER_STALE_SECONDS), at least 1: with none,
    the ETA is what one worker would take once it is back."""
    cutoff = (now or timezone.now()) - timedelta(seconds=conf.WORKER_STALE_SECONDS)
    alive = (
        WorkerHeartbeat.objects.exclude(state=WorkerHeartbeat.State.KILLED)
        .filter(last_seen__gte=cutoff)
        .count()
    )
    return max(1, alive)


def throughput() -> Throughput:
    """The throughput table, from the cache (ETA_CACHE_SECONDS) or measured afresh."""
    table = cache_get(CACHE_KEY)
    if not isinstance(table, Throughput):
        table = measure()
        cache_set(CACHE_KEY, table, max(1, int(conf.ETA_CACHE_SECONDS)))
    return table


def request_cost(generation: GenerationRequest, *, table: Throughput | None = None) -> Cost:
    table = table or throughput()
    return table.cost(
        preset=generation.preset,
        width=generation.width,
        height=generation.height,
        steps=generation.steps,
        variations=generation.variations,
    )


@dataclass(frozen=True)
class _Running:
    pk: object
    worker: str
    created_at: datetime
    gpu_left: float  # of the batch's shared pipeline call
    post_left: float


def _left(cost: Cost, *, phase: str, step: int, total: int, variations: int) -> tuple[float, float]:
    """(GPU seconds, post-processing seconds) left of a running request in ``phase``."""
    done = min(1.0, step / total) if total else 0.0
    if phase == Phase.RESEEDING:  # one variation drawn again, then the rest of its checks
        return cost.gpu_seconds / max(1, variations) * (1 - done), cost.post_seconds
    if phase == Phase.POSTPROCESSING:
        return 0.0, cost.post_seconds
    if phase == Phase.STORING:
        return 0.0, cost.post_seconds * STORING_LEFT
    return cost.gpu_seconds * (1 - done), cost.post_seconds  # generating (or not told yet)


def _running(table: Throughput) -> list[_Running]:
    rows = GenerationRequest.objects.filter(status=Status.RUNNING).values_list(
        "pk",
        "worker",
        "created_at",
        "preset",
        "width",
        "height",
        "steps",
        "variations",
        "progress_step",
        "progress_total",
        "phase",
    )
    running = []
    for pk, worker, created_at, preset, width, height, steps, variations, step, total, phase in rows:
        cost = table.cost(preset=preset, width=width, height=height, steps=steps, variations=variations)
        gpu, post = _left(cost, phase=phase, step=step, total=total, variations=variations)
        running.append(_Running(pk, worker, created_at, gpu, post))
    return running


@dataclass(frozen=True)
class Wait:
    """What a customer is told while waiting: 1 for the next request to run (0 when not queued),
    and the estimated seconds until done (None once finished)."""

    position: int
    eta_seconds: float | None


def poll_after_seconds(generation: GenerationRequest, wait: Wait | None = None) -> int | None:
    """Seconds a client should wait before asking about the request again; None once it is
    finished. Every second while it runs (its steps and phases move) or is next in line; further
    back in the queue, about a tenth of its ETA, at least 1 and at most POLL_SECONDS_MAX (10): a
    customer ten minutes away from their design is told every 10 s. The job card polls at this
    pace (its hx-trigger) and the API detail says it (``poll_after_seconds``), so a deep queue does
    not multiply the polls the web tier answers."""
    if generation.status not in (Status.QUEUED, Status.RUNNING):
        return None
    if generation.status == Status.RUNNING:
        return 1
    wait = wait if wait is not None else wait_for(generation)
    if wait.eta_seconds is None or wait.position <= 1:  # next in line: it may start any moment
        return 1
    return max(1, min(int(conf.POLL_SECONDS_MAX), int(wait.eta_seconds // 10)))


def wait_for(generation: GenerationRequest) -> Wait:
    """The request's queue position and ETA (see the module doc); kept on the instance for as long
    as its status, phase and step stay the same (the card and the API read it twice)."""
    key = (generation.status, generation.phase, generation.progress_step)
    kept = getattr(generation, "_wait", None)
    if kept is not None and kept[0] == key:
        return kept[1]
    wait = _wait(generation)
    generation._wait = (key, wait)
    return wait


def _wait(generation: GenerationRequest) -> Wait:
    if generation.status not in (Status.QUEUED, Status.RUNNING):
        return Wait(0, None)
    table = throughput()
    own = request_cost(generation, table=table)
    if generation.status == Status.RUNNING:
        batch = [r for r in _running(table) if r.worker == generation.worker]
        mine = [r for r in batch if r.pk == generation.pk]
        if not mine:  # it finished or moved between the two reads: its own cost is the best guess
            return Wait(0, _rounded(own.seconds))
        me = mine[0]
        seconds = sum(r.gpu_left for r in batch) + sum(
            r.post_left for r in batch if r.created_at <= me.created_at
        )
        return Wait(0, _rounded(seconds))
    kept = cache_get(SCHEDULE_KEY)
    entry = kept.waits.get(str(generation.pk)) if isinstance(kept, Schedule) else None
    if entry is None:  # a request newer than the kept schedule (a submit), or none kept
        kept = schedule(table)
        cache_set(SCHEDULE_KEY, kept, max(1, int(conf.ETA_CACHE_SECONDS)))
        entry = kept.waits.get(str(generation.pk))
    if entry is None:  # claimed or cancelled since it was read: its own cost is the best guess
        return Wait(1, _rounded(own.seconds))
    position, seconds = entry
    # The schedule counts from when it was made; at least the request's own cost is left.
    return Wait(position, _rounded(max(own.seconds, seconds - (_clock() - kept.made_at))))


@dataclass(frozen=True)
class _Queued:
    """A queued request as the schedule reads it (one row of one query)."""

    pk: object
    variations: int
    key: tuple | None  # lifecycle.batch_key_of
    config: dict


@dataclass(frozen=True)
class Schedule:
    """Every queued request's (position, ETA seconds), as of ``made_at`` (``_clock()``)."""

    made_at: float
    waits: dict[str, tuple[int, float]]


def schedule(table: Throughput | None = None, *, running: list[_Running] | None = None) -> Schedule:
    """The queue as the workers will take it (``lifecycle.batch_plan``: the oldest request with the
    compatible ones that join its batch, then the next oldest): each request waits for the work of
    the batches before its own and what is left of the running ones, shared by the live workers,
    then for its batch's pipeline call and the post-processing of its batch's rows up to itself.
    One query (and the running rows unless given); the status endpoints read it from the cache."""
    table = table or throughput()
    running = _running(table) if running is None else running
    fields = lifecycle.BATCH_FIELDS
    rows = (
        GenerationRequest.objects.filter(status=Status.QUEUED, cancel_requested=False)
        .order_by("created_at", "pk")
        .values_list(
            "pk", "variations", "reference_image", "reference_sha256", "brand__lora_weights",
            "brand__lora_scale", *fields,
        )
    )  # fmt: skip
    queued = []
    for pk, variations, reference, reference_sha256, lora, lora_scale, *values in rows:
        config = dict(zip(fields, values, strict=True))
        key = lifecycle.batch_key_of(
            fields=tuple(values), has_reference=bool(reference or reference_sha256), lora=lora or "",
            lora_scale=lora_scale,
        )  # fmt: skip
        queued.append(_Queued(pk, variations, key, config))
    ahead = sum(r.gpu_left + r.post_left for r in running)
    waits, position = {}, 1
    plan = lifecycle.batch_plan(queued, limit_images=conf.MAX_BATCH_IMAGES, key=lambda item: item.key)
    for batch in plan:
        costs = [
            table.cost(
                preset=item.config["preset"],
                width=item.config["width"],
                height=item.config["height"],
                steps=item.config["steps"],
                variations=item.variations,
            )
            for item in batch
        ]
        pipeline = sum(cost.gpu_seconds for cost in costs)
        post = 0.0
        for item, cost in zip(batch, costs, strict=True):
            post += cost.post_seconds
            waits[str(item.pk)] = (position, ahead / table.workers + pipeline + post)
        ahead += sum(cost.seconds for cost in costs)
        position += len(batch)
    return Schedule(made_at=_clock(), waits=waits)


def _clock() -> float:
    """Wall-clock seconds (the schedule is shared between processes through the cache)."""
    return time.time()


def _rounded(seconds: float) -> float:
    return round(max(0.0, seconds), 1)


def eta_error_summary(*, since: datetime | None = None, until: datetime | None = None) -> dict:
    """How far the ETAs given at submit were from the real waits, over the succeeded, non-cache
    requests created in [since, until) with a recorded ETA: the absolute error in percent of the
    real wait (submit to finished). Returns dict(count, median_abs_pct_error, p90_abs_pct_error);
    the percentages are None when there is nothing to compare."""
    rows = GenerationRequest.objects.filter(
        status=Status.SUCCEEDED, cache_source=None, eta_at_submit__isnull=False, finished_at__isnull=False
    )
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if until is not None:
        rows = rows.filter(created_at__lt=until)
    errors = []
    for predicted, created_at, finished_at in rows.values_list("eta_at_submit", "created_at", "finished_at"):
        actual = (finished_at - created_at).total_seconds()
        if actual > 0:
            errors.append(abs(predicted - actual) / actual * 100)
    errors.sort()
    return {
        "count": len(errors),
        "median_abs_pct_error": round(_percentile(errors, 50), 1) if errors else None,
        "p90_abs_pct_error": round(_percentile(errors, 90), 1) if errors else None,
    }


def _percentile(ordered: list[float], percent: float) -> float:
    """The percentile of sorted values, interpolated linearly between the closest ranks."""
    position = (len(ordered) - 1) * percent / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
