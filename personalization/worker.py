"""The GPU worker's loop body: claim a request (plus compatible waiting ones), run ONE batched
pipeline call with live progress, blurred previews and cancellation, then score, re-seed once if
off-brand, run the output safety check (re-seed once if unsafe), composite mockups and store
everything. Runs only inside the worker process (imports torch)."""

import contextlib
import logging
import os
import signal
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections
from PIL import Image

from . import approval, emails, heartbeat, lifecycle, postprocess, presets, review, safety
from .conf import conf
from .engine.options import check_size
from .models import GenerationRequest
from .sizing import shaped_size

logger = logging.getLogger(__name__)
Phase = GenerationRequest.Phase

ADAPTER_MESSAGE = (
    "This brand's style (its LoRA adapter) could not be applied, so no design was made. "
    "The shop needs to replace the brand's LoRA file; please try again later."
)
OOM_MESSAGE = (
    "The image server ran out of GPU memory while making this design. "
    "Try again with fewer variations or a smaller size."
)
UNSAFE_MESSAGE = (
    "We can't show this design: the pictures did not pass our content check, even after a second "
    "try. Please describe your design differently."
)
SAFETY_UNAVAILABLE_MESSAGE = (
    "This design could not be checked before showing it, so it was not kept. The problem is on the "
    "shop's side; please try again later."
)
INPUT_MISSING_MESSAGE = (
    "The reference picture you uploaded for this design is no longer on the shop's server, so no "
    "design was made. Please upload it again and resubmit; this request was not counted against your "
    "daily designs."
)
STORAGE_MESSAGE = (
    "The design was made but the shop could not save it. The problem is on the shop's side; please "
    "try again later (this request was not counted against your daily designs)."
)
MODEL_UNAVAILABLE_MESSAGE = (
    "This design could not be made: the image model it needs is not available at the moment. The "
    "problem is on the shop's side, and this request was not counted against your daily designs."
)


class InputMissing(Exception):
    """A file the request needs (its reference picture) is gone from storage: ``input_missing``."""


class StorageFailed(Exception):
    """The finished pictures could not be stored after STORAGE_RETRIES more tries: ``storage_error``."""


class WorkerStopping(Exception):
    """The worker process was asked to stop (SIGTERM): the batch stops at its next step and its rows
    are released without using up an attempt (``lifecycle.generation_release``)."""


# Set by SIGTERM while a task runs (``graceful_stop``); the step callback reads it.
stopping = threading.Event()
storage_sleep = time.sleep  # the wait between storage tries (a test replaces it instead of waiting)


def _on_term(signum, frame) -> None:
    stopping.set()


@contextlib.contextmanager
def graceful_stop():
    """While a task runs, SIGTERM asks the batch to stop at its next step (``stopping``) instead of
    killing the process mid-step; after the task, the signal is delivered again to the handler that
    was in place (django-q2's default: the process exits). Only the main thread can take signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stopping.clear()
    previous = signal.signal(signal.SIGTERM, _on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        if stopping.is_set():
            stopping.clear()
            signal.raise_signal(signal.SIGTERM)


# A preset whose weights failed to load is not tried again for this long (seconds) in the process:
# a queue of its requests fails at once, without a load attempt each. A fixed setting is picked up
# after that, or at once by a restarted worker.
LOAD_RETRY_SECONDS = 60.0


class ModelUnavailable(Exception):
    """The weights of a preset cannot be loaded in this process (the log has the real reason): its
    requests fail with ``model_unavailable``; other presets keep being served."""

    def __init__(self, preset: str, model: str, reason: str):
        super().__init__(f"preset {preset!r}: the model {model} cannot be loaded ({reason})")
        self.preset, self.model, self.reason = preset, model, reason


# (preset, model) -> (time.monotonic() until which it is not tried again, why it failed)
_load_failures: dict[tuple[str, str], tuple[float, str]] = {}
load_clock = time.monotonic  # the clock of _load_failures (a test moves it on instead of sleeping)
# (preset, model) of the default preset once loaded by warm_start (or tried to)
_preloaded: set[tuple[str, str]] = set()


def text_in_design_message(found: str) -> str:
    return (
        f"The picture came out with text we can't print: {found}. Please describe your design "
        "differently, for example without words or brand names."
    )


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def engine(preset_name: str | None = None):
    """The process's Engine for model preset `preset_name` (None: DEFAULT_PRESET), on that preset's
    weights (presets.model_for: PERSONALIZATION["MODELS"][name]). One Engine, so one pipeline, per
    preset in use; each is loaded on its first generation."""
    from .engine.core import get_engine

    name = preset_name or conf.DEFAULT_PRESET
    return get_engine(
        presets.model_for(name),
        preset=name,
        device=conf.DEVICE,
        dtype=conf.DTYPE,
        compile=conf.COMPILE,
        compile_mode=conf.COMPILE_MODE,
        attention=conf.ATTENTION,
    )


def warmup_shapes(preset_name: str | None = None) -> list[tuple[int, int, int]]:
    """conf.WARMUP_SHAPES as (width, height, images); with COMPILE on and none given, each size of the
    preset (None: DEFAULT_PRESET) at 1 image, as a square. Given a preset, only the shapes that
    preset can make: a size of it shaped to the shape's own aspect (``sizing.shaped_size``), so
    "1152x512x1" (768 shaped like a mug strip) counts for SD 2.1 768-v.

    Designs take their print area's shape, so products that are not square run other shapes than the
    default warm-up's squares: a compiled model compiles each of those on its first request. List
    the catalogue's shapes (the size shown with each design) in WARMUP_SHAPES to warm them too."""
    shapes = []
    for shape in conf.WARMUP_SHAPES:
        try:
            parts = shape.strip().lower().split("x") if isinstance(shape, str) else list(shape)
            width, height, images = (int(part) for part in parts)
        except (TypeError, ValueError, AttributeError):
            raise ImproperlyConfigured(
                f"PERSONALIZATION['WARMUP_SHAPES']: {shape!r} is not WIDTHxHEIGHTxIMAGES, e.g. 768x768x1"
            ) from None
        try:
            check_size(width, height)
        except ValueError as exc:
            raise ImproperlyConfigured(f"PERSONALIZATION['WARMUP_SHAPES']: {shape!r}: {exc}") from None
        if not 1 <= images <= conf.MAX_BATCH_IMAGES:
            raise ImproperlyConfigured(
                f"PERSONALIZATION['WARMUP_SHAPES']: {shape!r}: images must be between 1 and "
                f"MAX_BATCH_IMAGES ({conf.MAX_BATCH_IMAGES})"
            )
        shapes.append((width, height, images))
    if not shapes and conf.COMPILE:
        shapes = [(size, size, 1) for size in presets.get(preset_name).sizes]
    elif preset_name is not None:
        sizes = presets.get(preset_name).sizes
        shapes = [shape for shape in shapes if _makes(sizes, shape[0], shape[1])]
    return shapes


def _makes(sizes, width: int, height: int) -> bool:
    """Whether a preset with these ``sizes`` generates ``width`` x ``height`` for some print area."""
    return any(shaped_size(size, width / height) == (width, height) for size in sizes)


def check_settings() -> list[str]:
    """Refuse bad engine settings before any worker starts (raises ImproperlyConfigured); no torch.
    Returns warnings that do not stop the worker (missing_models)."""
    from .engine import options

    try:
        options.check_dtype(conf.DTYPE)
        options.check_compile_mode(conf.COMPILE_MODE)
        options.check_attention(conf.ATTENTION)
    except ValueError as exc:
        raise ImproperlyConfigured(f"PERSONALIZATION: {exc}") from None
    models = conf.MODELS or {}
    if not isinstance(models, dict):
        raise ImproperlyConfigured(
            "PERSONALIZATION['MODELS'] must be a dict {preset name: hub id or local directory}"
        )
    if unknown := sorted(set(models) - set(presets.BUILT_IN)):
        raise ImproperlyConfigured(
            f"PERSONALIZATION['MODELS']: unknown preset(s) {', '.join(map(repr, unknown))} "
            f"(known: {', '.join(presets.BUILT_IN)})"
        )
    if conf.DEFAULT_PRESET not in presets.BUILT_IN:
        known = ", ".join(presets.BUILT_IN)
        raise ImproperlyConfigured(
            f"PERSONALIZATION['DEFAULT_PRESET'] {conf.DEFAULT_PRESET!r} is not one of {known}"
        )
    warmup_shapes()
    return missing_models()


def _looks_local(model: str) -> bool:
    """A local path rather than a hub id ("owner/name"): absolute, ./ ../ ~, or more than one "/"."""
    return Path(model).is_absolute() or model.startswith((".", "~")) or model.count("/") > 1 or "\\" in model


def missing_models() -> list[str]:
    """A warning for each preset whose weights are a local path that is not a directory: the worker
    still starts (the other presets are served) and that preset's requests fail with
    ``model_unavailable``. A hub id is not checked (it may be in the cache, or downloaded)."""
    warnings = []
    for name in presets.BUILT_IN:
        model = presets.model_for(name)
        if _looks_local(model) and not Path(model).is_dir():  # as the loader sees it
            warnings.append(
                f"the weights of preset {name!r} ({model}) are not a directory: its requests will fail "
                f"with model_unavailable (set PERSONALIZATION['MODELS'][{name!r}])"
            )
    return warnings


def models_in_use() -> dict[str, str]:
    """{preset name: where its weights are}, the default preset first (for the worker's banner)."""
    names = [conf.DEFAULT_PRESET, *(name for name in presets.BUILT_IN if name != conf.DEFAULT_PRESET)]
    return {name: presets.model_for(name) for name in names}


def check_safety() -> None:
    """Refuse to start without a working output safety check (raises ImproperlyConfigured), unless
    PERSONALIZATION["SAFETY_CHECK"] turns it off (then a loud warning); no torch."""
    safety.check_available()


def forget_load_failures() -> None:
    """Forget the remembered load failures (the next use of each preset tries its weights again)."""
    _load_failures.clear()
    _preloaded.clear()


def load(preset_name: str | None = None):
    """The pipeline of a preset (None: DEFAULT_PRESET), loaded on first use. Weights that cannot be
    loaded (a missing directory, a hub id while offline: OSError or ValueError from diffusers; weights
    of another prediction type: ModelPresetMismatch; anything else the load raises) raise
    ModelUnavailable, and the failure is remembered per (preset, weights) for LOAD_RETRY_SECONDS: until
    then the preset's requests fail at once, without a new attempt."""
    eng = engine(preset_name)
    key = (eng.preset.name, eng.model_name)
    if (failed := _load_failures.get(key)) is not None:
        until, reason = failed
        if load_clock() < until:
            raise ModelUnavailable(*key, reason)
        del _load_failures[key]
    try:
        return eng.pipeline
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        _load_failures[key] = (load_clock() + LOAD_RETRY_SECONDS, reason)
        logger.error(
            "preset %s: the model %s cannot be loaded; its requests fail with model_unavailable "
            "(tried again after %.0f s, or at once by a restarted worker; see PERSONALIZATION['MODELS'][%r])",
            key[0],
            key[1],
            LOAD_RETRY_SECONDS,
            key[0],
            exc_info=True,
        )
        raise ModelUnavailable(*key, reason) from exc


def ensure_loaded(preset_name: str | None = None):
    """Load the pipeline of a preset (None: DEFAULT_PRESET) and run its warm-up shapes (each once
    per process); return the pipeline. Weights that cannot be loaded raise ModelUnavailable (see
    load). The worker process loads the default preset when it starts (warm_start), and another
    preset after claiming its first request (the leases kept alive)."""
    pipeline = load(preset_name)
    eng = engine(preset_name)
    started = time.monotonic()
    if ran := eng.warm_up(warmup_shapes(eng.preset.name)):
        logger.info("%s: warmed up %s in %.1f s", eng.preset.name, ran, time.monotonic() - started)
    return pipeline


def _preload(preset_name: str, *, startup: bool = False) -> None:
    """ensure_loaded, a failure stopping nothing (load logs it): the batch fails in the customer's
    words if its preset is the one that cannot load, and other presets are served."""
    try:
        ensure_loaded(preset_name)
    except ModelUnavailable as exc:
        if startup:
            logger.critical(
                "the DEFAULT preset %s cannot be loaded from %s (%s): this worker keeps serving the "
                "other presets; requests of %s fail with model_unavailable until its weights are fixed",
                exc.preset,
                exc.model,
                exc.reason,
                exc.preset,
            )
    except Exception:  # a warm-up that failed: the generation tries again and reports it
        logger.exception("preset %s: the warm-up failed", preset_name)


def _local_path(field) -> str:
    """A local file for a stored file (LoRA weights may live in S3)."""
    try:
        return field.path
    except NotImplementedError:
        cache = Path(tempfile.gettempdir()) / "personalization-cache"
        cache.mkdir(exist_ok=True)
        target = cache / field.name.replace("/", "_")
        if not target.exists():
            with field.open("rb") as fh:
                target.write_bytes(fh.read())
        return str(target)


def job_for(req: GenerationRequest, *, seeds: list[int] | None = None):
    """The engine Job of a request: its Recipe (``req.recipe``) with the reference picture and the
    brand's LoRA file made local; ``seeds`` replaces the recipe's (a re-seed)."""
    recipe = req.recipe
    reference = None
    if recipe.is_img2img and req.reference_image:
        try:
            with req.reference_image.open("rb") as fh:
                reference = Image.open(fh, formats=["PNG"])  # stored by submit as PNG
                reference.load()
        except Exception as exc:
            if not _exists(req.reference_image):
                raise InputMissing(f"the reference picture {req.reference_image.name} is gone") from exc
            raise
    lora_path = _local_path(req.brand.lora_weights) if recipe.lora else None
    return recipe.job(reference_image=reference, lora_path=lora_path, seeds=seeds)


def _exists(field) -> bool:
    try:
        return field.storage.exists(field.name)
    except Exception:  # the storage cannot say: not a missing file
        return True


def reseed(seed: int, index: int) -> int:
    """The automatic re-seed for an off-brand variation: deterministic, far from the original."""
    return (seed + 0x9E3779B1 * (index + 1)) % 2**32


class _Progress:
    """on_step for one batched call: throttled progress + previews, cancellation every step."""

    def __init__(self, batch: list[GenerationRequest], worker: str):
        self.batch = {req.pk: req for req in batch}
        self.offsets, offset = {}, 0
        for req in batch:
            self.offsets[req.pk] = offset
            offset += req.variations
        self.active = set(self.batch)
        self.cancelled: set = set()
        self.worker = worker
        self.last = 0.0

    def __call__(self, step: int, total: int, latents) -> None:
        from .engine.core import GenerationCancelled, latents_to_preview

        now = time.monotonic()
        if now - self.last >= conf.PROGRESS_INTERVAL or step == total:
            self.last = now
            previews = latents_to_preview(latents, size=conf.PREVIEW_SIZE)
            names = {}
            for pk in self.active:
                try:
                    names[pk] = postprocess.store_preview(self.batch[pk], previews[self.offsets[pk]])
                except Exception:  # a live preview is not worth the GPU work: the next step tries again
                    logger.warning("request %s: the live preview could not be stored", pk, exc_info=True)
            GenerationRequest.objects.filter(pk__in=self.active).update(progress_total=total)
            stop = lifecycle.generation_heartbeat(
                request_ids=list(self.active), worker=self.worker, step=step, preview_names=names
            )
        else:
            stop = set(
                GenerationRequest.objects.filter(pk__in=self.active, cancel_requested=True).values_list(
                    "pk", flat=True
                )
            )
        for pk in stop & self.active:
            lifecycle.generation_mark_cancelled(request_id=pk, worker=self.worker)
            self.active.discard(pk)
            self.cancelled.add(pk)
        if not self.active:
            raise GenerationCancelled(f"cancelled at step {step} of {total}")
        if stopping.is_set():
            raise WorkerStopping(f"stopped at step {step} of {total}")


class _KeepAlive:
    """Renews a batch's leases from a thread for as long as the worker is busy with it, whatever one
    step costs (a first call that compiles a new shape, a LoRA fetched from S3, a slow decode), so the
    sweeper only ever requeues the work of a worker that is gone. A dead process renews nothing."""

    def __init__(self, request_ids: list, worker: str):
        self.request_ids, self.worker = list(request_ids), worker
        self.interval = max(0.1, conf.LEASE_SECONDS / 3)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-keepalive", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        # Bounded: a beat blocked on a row lock must not hold up the worker. A late beat is harmless:
        # heartbeats only touch rows still running for this worker.
        self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    lifecycle.generation_heartbeat(request_ids=self.request_ids, worker=self.worker)
                except Exception:  # a database hiccup: the next beat (or the step heartbeat) retries
                    logger.exception("lease keep-alive failed for %s", self.request_ids)
        finally:
            connections.close_all()  # this thread's own connections


def run(request_id) -> str:
    """The django-q2 task body. Returns a short summary (stored by django-q2). The process's
    heartbeat row says busy meanwhile (personalization.heartbeat)."""
    with heartbeat.busy(), graceful_stop():
        return _run(request_id)


def warm_start() -> float | None:
    """Load the default preset, run its warm-up shapes and load the output safety check, once per
    process; returns the seconds it took (None: done before). django-q2's ``post_spawn`` runs it in
    each new GPU worker process before the process reads its first task (``personalization.startup``),
    so no task's timeout ever counts it; a process that was not spawned so (a test, a sync cluster)
    runs it in its first task, after the claim (``_run_batch``). A failure stops nothing here: the
    default preset's requests fail with ``model_unavailable`` (its load failure is remembered), the
    other presets are served, and a safety check that cannot load fails the work it would check."""
    default = (conf.DEFAULT_PRESET, presets.model_for(conf.DEFAULT_PRESET))
    if default in _preloaded:
        return None
    _preloaded.add(default)
    started = time.monotonic()
    _preload(conf.DEFAULT_PRESET, startup=True)
    try:
        safety.get_checker()
    except safety.SafetyUnavailable as exc:
        logger.error("the output safety check cannot load: %s", exc)
    seconds = time.monotonic() - started
    logger.info("worker %s loaded and warmed up in %.1f s", worker_name(), seconds)
    return seconds


def _run(request_id) -> str:
    worker = worker_name()
    # Claim first, load after (run_batch, the leases kept alive meanwhile): a task that django-q2's
    # timeout kills while a model loads has counted its attempt, so the sweeper requeues the row and
    # fails it with worker_lost after MAX_ATTEMPTS, instead of leaving it queued for ever.
    first = lifecycle.generation_claim(request_id=request_id, worker=worker)
    if first is None:
        first = lifecycle.generation_claim_next(worker=worker)
        if first is None:
            return "nothing to do"
    batch = [first]
    for pk in lifecycle.compatible_waiting(first=first, limit_images=conf.MAX_BATCH_IMAGES):
        claimed = lifecycle.generation_claim(request_id=pk, worker=worker)
        if claimed is not None:
            batch.append(claimed)
    return run_batch(batch, worker=worker)


def run_batch(batch: list[GenerationRequest], *, worker: str) -> str:
    with _KeepAlive([req.pk for req in batch], worker):
        return _run_batch(batch, worker=worker)


def _run_batch(batch: list[GenerationRequest], *, worker: str) -> str:
    from .engine.core import EngineAdapterError, EngineOutOfMemory, GenerationCancelled

    try:
        checker = safety.get_checker()
    except safety.SafetyUnavailable as exc:  # fail closed: nothing is made that cannot be checked
        logger.error("the output safety check cannot load, failing %s: %s", [req.pk for req in batch], exc)
        for req in batch:
            _fail_unchecked(req, worker=worker)
        return "safety_unavailable"
    started = time.monotonic()
    progress = None
    try:
        # The default preset is loaded when the process starts (warm_start; here only in a process
        # that django-q2 did not spawn). The batch shares its preset (lifecycle.compatible_waiting
        # batches one model's requests); one not loaded yet loads here, its leases kept alive.
        warm_start()
        ensure_loaded(batch[0].preset)
        eng = engine(batch[0].preset)
        batch, jobs = _jobs(batch, worker=worker)
        if not batch:
            return "input_missing"
        progress = _Progress(batch, worker)
        results = eng.generate(jobs, on_step=progress)
    except GenerationCancelled:
        return f"cancelled {len(progress.cancelled)}"
    except WorkerStopping:  # a graceful stop: the rows go back to the queue, their attempt unused
        released = [
            req.pk
            for req in batch
            if req.pk in progress.active and lifecycle.generation_release(request_id=req.pk, worker=worker)
        ]
        logger.warning("the worker is stopping: %s released to the queue", released)
        from .queue import enqueue_generation

        for pk in released:
            enqueue_generation(pk)
        return f"stopped, released {len(released)}"
    except ModelUnavailable as exc:  # the shop's configuration: logged in full by load()
        logger.error("failing %s with model_unavailable: %s", [req.pk for req in batch], exc)
        for req in batch:
            lifecycle.generation_fail(
                request_id=req.pk, worker=worker, code="model_unavailable", message=MODEL_UNAVAILABLE_MESSAGE
            )
        return "model_unavailable"
    except EngineOutOfMemory:
        for req in batch:
            lifecycle.generation_fail(request_id=req.pk, worker=worker, code="gpu_oom", message=OOM_MESSAGE)
        return "gpu_oom"
    except EngineAdapterError as exc:  # the brand's file, not the request: the shop must replace it
        logger.error("brand %s: %s", batch[0].brand, exc)
        for req in batch:
            lifecycle.generation_fail(
                request_id=req.pk, worker=worker, code="brand_adapter_error", message=ADAPTER_MESSAGE
            )
        return "brand_adapter_error"
    except Exception as exc:
        logger.exception("generation failed for %s", [req.pk for req in batch])
        for req in batch:
            lifecycle.generation_fail(
                request_id=req.pk,
                worker=worker,
                code="generation_error",
                message=f"The image could not be generated ({type(exc).__name__}). Please try again.",
            )
        return "generation_error"
    pipeline_seconds = time.monotonic() - started
    per_image = pipeline_seconds / max(1, sum(req.variations for req in batch))
    # Each row of the batch is finished in turn: the ones after the first wait in post-processing,
    # never at "step n of n" with no word.
    lifecycle.generation_phase(request_ids=list(progress.active), worker=worker, phase=Phase.POSTPROCESSING)
    done = 0
    for req, images in zip(batch, results, strict=True):
        if req.pk not in progress.active:
            continue
        try:
            outcome = finish_request(
                req, images, eng=eng, worker=worker, per_image=per_image, checker=checker
            )
            done += outcome == "succeeded"
        except safety.SafetyUnavailable as exc:
            logger.error("the output safety check failed on %s: %s", req.pk, exc)
            _fail_unchecked(req, worker=worker)
        except Exception as exc:  # one bad row must not sink the others of its batch
            logger.exception("post-processing failed for %s", req.pk)
            lifecycle.generation_fail(
                request_id=req.pk,
                worker=worker,
                code="postprocess_error",
                message=f"The design was generated but could not be finished ({type(exc).__name__}).",
            )
    logger.info(
        "batch of %s request(s): pipeline %.3f s, post-processing %.3f s",
        len(batch),
        pipeline_seconds,
        time.monotonic() - started - pipeline_seconds,
    )
    return f"succeeded {done} of {len(batch)}"


def _jobs(batch: list[GenerationRequest], *, worker: str) -> tuple[list[GenerationRequest], list]:
    """The engine jobs of a batch; a request whose reference picture is gone from storage fails
    with ``input_missing`` (refunded: the shop lost it) and leaves the batch."""
    kept, jobs = [], []
    for req in batch:
        try:
            jobs.append(job_for(req))
        except InputMissing as exc:
            logger.error("request %s: %s", req.pk, exc)
            lifecycle.generation_fail(
                request_id=req.pk, worker=worker, code="input_missing", message=INPUT_MISSING_MESSAGE
            )
            continue
        kept.append(req)
    return kept, jobs


def _stored(req: GenerationRequest, call):
    """``call()``, a write into the private storage and its row, tried again up to STORAGE_RETRIES
    times (waiting STORAGE_RETRY_SECONDS x 2^n; the lease is kept alive meanwhile). A database
    connection that broke meanwhile (a failover, a restarted pooler: the file stored, its row not) is
    closed, so the next try opens a fresh one instead of failing on the dead one again. Raises
    StorageFailed."""
    for attempt in range(conf.STORAGE_RETRIES + 1):
        try:
            return call()
        except Exception as exc:
            if attempt == conf.STORAGE_RETRIES:
                raise StorageFailed(f"{type(exc).__name__}: {exc}") from exc
            delay = conf.STORAGE_RETRY_SECONDS * 2**attempt
            logger.warning(
                "request %s: storing failed (%s), try %s of %s in %.1f s",
                req.pk,
                exc,
                attempt + 2,
                conf.STORAGE_RETRIES + 1,
                delay,
            )
            if isinstance(exc, DatabaseError):
                _close_connections()
            storage_sleep(delay)
    raise AssertionError("unreachable")


def _close_connections() -> None:
    """Close this thread's database connections outside a transaction (the next query reconnects);
    one inside a transaction is left to its atomic block, which rolls it back."""
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close()


def _fail_storage(req: GenerationRequest, *, worker: str, exc: StorageFailed) -> str:
    logger.error("request %s: its pictures could not be stored, failing it: %s", req.pk, exc)
    try:
        postprocess.discard_outputs(req)  # no half-stored variation stays visible or orderable
    except Exception:
        logger.exception("request %s: its partly stored pictures could not be removed", req.pk)
    lifecycle.generation_fail(request_id=req.pk, worker=worker, code="storage_error", message=STORAGE_MESSAGE)
    return "storage_error"


def _fail_unchecked(req: GenerationRequest, *, worker: str) -> None:
    postprocess.discard_outputs(req)
    lifecycle.generation_fail(
        request_id=req.pk, worker=worker, code="safety_unavailable", message=SAFETY_UNAVAILABLE_MESSAGE
    )


def _regenerate(eng, req: GenerationRequest, seed: int, *, on_step=None) -> Image.Image | None:
    """One variation again with another seed (kept alive by _KeepAlive); None when out of memory."""
    from .engine.core import EngineOutOfMemory

    try:
        [[candidate]] = eng.generate([job_for(req, seeds=[seed])], on_step=on_step)
    except EngineOutOfMemory:
        return None
    return postprocess.harmonized(candidate, req)


class _ReseedProgress:
    """on_step for the re-seed of one off-brand variation: its own "step k of n" (phase
    ``reseeding``), written at most every PROGRESS_INTERVAL, like the batch's progress."""

    def __init__(self, req: GenerationRequest, worker: str):
        self.req, self.worker, self.last = req, worker, 0.0

    def __call__(self, step: int, total: int, latents) -> None:
        now = time.monotonic()
        if now - self.last >= conf.PROGRESS_INTERVAL or step == total:
            self.last = now
            GenerationRequest.objects.filter(
                pk=self.req.pk, status=GenerationRequest.Status.RUNNING, worker=self.worker
            ).update(progress_step=min(step, total), progress_total=total)


@dataclass
class _Variation:
    index: int
    image: Image.Image
    seed: int
    score: float | None
    flags: list[str]
    reseeded_from: int | None
    seconds: float
    verdict: "safety.Verdict | None" = None  # None: the check is off
    replaced: dict | None = None  # the unsafe picture a safety re-seed replaced

    def safety_record(self) -> dict:
        if self.verdict is None:
            return safety.UNCHECKED
        return self.verdict.as_json() | ({"replaced": self.replaced} if self.replaced else {})


def finish_request(
    req: GenerationRequest,
    images,
    *,
    eng,
    worker: str,
    per_image: float,
    checker: "safety.SafetyChecker | None",
) -> str:
    """Score each variation (one re-seed when off-brand), check it (one re-seed when unsafe), then:
    any variation still unsafe -> rejected ``unsafe_output``, nothing stored; text in a picture that
    spells a banned term or another company's mark -> held for review or rejected ``text_in_design``
    (the brand's choice); else store them all and mark succeeded. Returns the outcome."""
    if req.scheduler_name != eng.scheduler_name:
        req.scheduler_name = eng.scheduler_name
        GenerationRequest.objects.filter(pk=req.pk).update(scheduler_name=eng.scheduler_name)
    if checker is None:
        logger.warning("request %s is stored WITHOUT the output safety check: %s", req.pk, safety.OFF_WARNING)
    post_started = time.monotonic()
    terms = safety.brand_terms(req.brand)
    kept: list[_Variation] = []
    for index, image in enumerate(images):
        seed = req.seed + index
        image = postprocess.harmonized(image, req)
        score, flags = postprocess.assess(image, req)
        seconds, reseeded_from = per_image, None
        if postprocess.below_minimum(score, flags, req) and req.brand.min_consistency_score > 0:
            t0 = time.monotonic()
            new_seed = reseed(seed, index)
            lifecycle.generation_phase(request_ids=[req.pk], worker=worker, phase=Phase.RESEEDING, step=0)
            candidate = _regenerate(eng, req, new_seed, on_step=_ReseedProgress(req, worker))
            lifecycle.generation_phase(request_ids=[req.pk], worker=worker, phase=Phase.POSTPROCESSING)
            if candidate is not None:
                new_score, new_flags = postprocess.assess(candidate, req)
                if (new_score or 0) > (score or 0) or (flags and not new_flags):
                    image, score, flags, reseeded_from, seed = candidate, new_score, new_flags, seed, new_seed
            seconds += time.monotonic() - t0
        if checker is None:
            kept.append(_Variation(index, image, seed, score, flags, reseeded_from, seconds))
            continue
        verdict = checker.check(image, terms=terms)
        replaced = None
        if verdict.is_unsafe:  # one re-seed, like an off-brand variation; the unsafe picture is dropped
            t0 = time.monotonic()
            new_seed = reseed(seed, index)
            candidate = _regenerate(eng, req, new_seed)
            if candidate is not None and not (again := checker.check(candidate, terms=terms)).is_unsafe:
                replaced = {"seed": seed, "unsafe": verdict.unsafe}
                reseeded_from = reseeded_from if reseeded_from is not None else seed
                image, seed, verdict = candidate, new_seed, again
                score, flags = postprocess.assess(image, req)
            seconds += time.monotonic() - t0
        if verdict.is_unsafe:
            logger.warning(
                "request %s: variation %s still unsafe after a re-seed (%s): rejected, nothing stored",
                req.pk,
                index,
                ", ".join(f"{d['label']} {d['score']:.2f}" for d in verdict.unsafe),
            )
            postprocess.discard_outputs(req)
            lifecycle.generation_reject(
                request_id=req.pk, worker=worker, code="unsafe_output", message=UNSAFE_MESSAGE
            )
            return "unsafe_output"
        kept.append(_Variation(index, image, seed, score, flags, reseeded_from, seconds, verdict, replaced))

    violations = {(v.code, v.term): v for item in kept if item.verdict for v in item.verdict.violations}
    if violations:
        found = safety.describe(violations.values())
        # The brand's setting for text in a design; a protected name keeps its own "reject".
        refused = req.brand.text_in_design_outcome == "reject" or any(
            v.code == "protected_name" and v.outcome == "reject" for v in violations.values()
        )
        if refused:
            logger.warning("request %s: text in the picture (%s): rejected, nothing stored", req.pk, found)
            postprocess.discard_outputs(req)
            lifecycle.generation_reject(
                request_id=req.pk, worker=worker, code="text_in_design", message=text_in_design_message(found)
            )
            return "text_in_design"
        # Held before anything is stored: the customer never sees these images unless staff approve.
        review.generation_hold_for_review(request_id=req.pk, reason=f"Text in the picture: {found}.")
    # Storage errors are tried again (the pictures stay in memory): the GPU work is not thrown away.
    lifecycle.generation_phase(request_ids=[req.pk], worker=worker, phase=Phase.STORING)
    try:
        for item in kept:
            _stored(
                req,
                lambda item=item: postprocess.store_variation(
                    req=req,
                    index=item.index,
                    image=item.image,
                    seed=item.seed,
                    score=item.score,
                    flags=item.flags,
                    reseeded_from=item.reseeded_from,
                    seconds=item.seconds,
                    safety=item.safety_record(),
                ),
            )
        visible = GenerationRequest.objects.filter(review.images_visible_q(), pk=req.pk).exists()
        if visible and kept:  # a held design keeps its blurred preview
            _stored(
                req, lambda: postprocess.store_checked_preview(req, kept[0].image, size=conf.PREVIEW_SIZE)
            )
    except StorageFailed as exc:
        return _fail_storage(req, worker=worker, exc=exc)
    # What this request cost the worker (personalization.eta): its share of the batch's pipeline
    # call, plus its own post-processing and storing (its re-seeds included); the GPU part of it.
    gpu_seconds = sum(item.seconds for item in kept)
    work_seconds = per_image * len(kept) + time.monotonic() - post_started
    if lifecycle.generation_succeed(
        request_id=req.pk, worker=worker, work_seconds=work_seconds, gpu_seconds=gpu_seconds
    ):
        # "Your design is ready" when the customer waited long (queued after the commit, sent by the
        # default cluster: the GPU worker never waits for a mail server). Never fails the design.
        try:
            emails.design_ready_queue(request_id=req.pk)
        except Exception:
            logger.exception("request %s: the design-ready email could not be recorded", req.pk)
        # An owner's regeneration of an ordered design: put the new picture in at once (the sweep
        # settles it later when this fails).
        try:
            approval.line_regeneration_settle(request_id=req.pk)
        except Exception:
            logger.exception("request %s: the regenerated design could not be put in", req.pk)
    return "succeeded"
