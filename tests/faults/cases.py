"""The fault suite's cases (``scripts/faults.py``): each injects one fault into the real GPU worker
of a phase (one broker, one database), waits for the rows to settle (bounded) and records what it
saw in a ``Result``: a problem for each expectation that failed, the recovery time and attempts.
Runs inside the phase's process, Django set up with ``tests.faults.settings``."""

import contextlib
import io
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psutil
from django.db import connections, transaction
from django.test import Client
from django.urls import reverse
from PIL import Image

from personalization.conf import conf
from personalization.models import GenerationImage, GenerationRequest, LineDesign, WorkerHeartbeat
from personalization.queue import enqueue_generation
from personalization.reconcile import reconcile
from personalization.services import generation_request_create
from personalization.storage import private_storage
from scripts.faults import ROOT, SWEEP_INTERVAL, TASK_TIMEOUT, stop_group, wait_for
from tests.factories import make_product, visitor
from tests.faults import storage as faulty
from tests.shop_helpers import checkout_data

Status = GenerationRequest.Status
TERMINAL = {Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.REJECTED}
# A request that runs a few seconds on the tiny model (caught mid-generation), and one that runs
# far past the task timeout.
LONG = {"size": 64, "steps": 8}
_seeds = itertools.count(100)
LOAD_MARGIN = 2.0  # the default TASK_TIMEOUT_LOAD_MARGIN, which timeout_below_load checks


class Phase:
    """One broker's world: its worker (``run_gpu_worker``), its Redis, its product."""

    def __init__(self, *, broker: str, base: Path, redis=None):
        self.broker, self.base, self.redis = broker, base, redis
        self.control = Path(os.environ["FAULTS_CONTROL_DIR"])
        self.worker: subprocess.Popen | None = None
        self.starts = 0
        self.log = self.worker_log = self.base / "worker-0.log"
        # A small print area: the mockups and print files stay cheap on the CPU.
        self.product = make_product(print_width_mm=60, print_height_mm=60, print_dpi=100)
        self.product.brand.min_consistency_score = 0
        self.product.brand.save()

    # --- the worker ---

    def spawn(self, extra_env: dict | None = None) -> subprocess.Popen:
        """``run_gpu_worker`` in a process group of its own, its output in ``self.log``."""
        self.starts += 1
        self.log = self.base / f"worker-{self.starts}.log"
        log = self.log.open("wb")
        return subprocess.Popen(
            [sys.executable, "manage.py", "run_gpu_worker", "--sweep-interval", str(SWEEP_INTERVAL)],
            cwd=ROOT,
            env={**os.environ, **(extra_env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start_worker(self) -> float:
        """Start run_gpu_worker and wait for both its worker processes; returns the seconds taken."""
        t0 = time.monotonic()
        self.worker = self.spawn()
        self.worker_log = self.log
        self.wait_ready()
        return time.monotonic() - t0

    def stop_worker(self) -> None:
        stop_group(self.worker, sig=signal.SIGTERM, timeout=30)
        self.worker = None

    def ensure_worker(self) -> None:
        if self.worker is None or self.worker.poll() is not None:
            self.start_worker()

    def worker_pids(self) -> set[int]:
        try:
            return {p.pid for p in psutil.Process(self.worker.pid).children(recursive=True)}
        except (psutil.NoSuchProcess, AttributeError):
            return set()

    def idle_workers(self) -> list:
        """The worker processes of the running worker that are idle with their model loaded (the
        heartbeat beats from the spawn; ``load_seconds`` is written once the model is in)."""
        return list(
            WorkerHeartbeat.objects.filter(
                pid__in=self.worker_pids(), state=WorkerHeartbeat.State.IDLE, load_seconds__isnull=False
            )
        )

    def wait_ready(self, count: int = 1) -> None:
        def ready():
            if self.worker.poll() is not None:
                raise RuntimeError(f"run_gpu_worker exited ({self.worker.returncode}): {self.log_tail()}")
            return len(self.idle_workers()) >= count

        wait_for(ready, timeout=60, what=f"{count} idle GPU worker processes")

    def log_tail(self, chars: int = 1500, *, path: Path | None = None) -> str:
        """The end of the running worker's output (or ``path``'s)."""
        path = path or self.worker_log
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    # --- requests ---

    def submit(self, *, key: str = "faults-visitor", **kw) -> GenerationRequest:
        params = {"base_color": "White", "description": "a geometric fox head", "seed": next(_seeds)}
        params.update(kw)
        return generation_request_create(product=self.product, session_key=key, **params)

    def busy(self, req: GenerationRequest, *, timeout: float = 30) -> int:
        """Wait until ``req`` runs (a step done); the pid of the worker process running it."""

        def running():
            row = (
                GenerationRequest.objects.filter(pk=req.pk).values("status", "progress_step", "worker").get()
            )
            if row["status"] in TERMINAL:
                raise RuntimeError(f"request {req.pk} ended ({row['status']}) before the fault")
            return row["status"] == Status.RUNNING and row["progress_step"] >= 1 and row["worker"]

        return int(
            wait_for(running, timeout=timeout, interval=0.05, what="the request to run").rsplit(":", 1)[1]
        )

    def settle(self, ids, *, timeout: float = 60) -> list[GenerationRequest]:
        """Wait until every request of ``ids`` has finished; the rows."""
        ids = list(ids)

        def done():
            rows = list(GenerationRequest.objects.filter(pk__in=ids))
            return rows if len(rows) == len(ids) and all(r.status in TERMINAL for r in rows) else None

        try:
            return wait_for(done, timeout=timeout, what=f"requests {ids} to finish")
        except TimeoutError:
            states = list(
                GenerationRequest.objects.filter(pk__in=ids).values_list("pk", "status", "attempts")
            )
            raise TimeoutError(f"requests not finished: {states}") from None

    def reconcile(self) -> dict:
        """The reconciliation with nothing tolerated: stuck after 0 s, orphans of any age."""
        return reconcile(stuck_after=0, orphans_older_than=0)


def expect(result, condition: bool, problem: str) -> None:
    if not condition:
        result.problems.append(problem)


def refunded(row: GenerationRequest) -> bool:
    return bool(row.quota_charges) and all(c.get("refunded") for c in row.quota_charges)


def files_exist(row: GenerationRequest) -> bool:
    return all(
        private_storage.exists(name)
        for image in GenerationImage.objects.filter(request=row)
        for name in (image.image.name, image.mockup.name)
        if name
    )


def _succeeded(result, row, *, attempts: set[int], images: int = 1) -> None:
    expect(result, row.status == Status.SUCCEEDED, f"request {row.pk} {row.status} {row.error_code}")
    expect(
        result,
        row.attempts in attempts,
        f"request {row.pk}: attempts {row.attempts}, expected {sorted(attempts)}",
    )
    expect(result, row.images.count() == images, f"request {row.pk}: {row.images.count()} pictures")
    expect(result, files_exist(row), f"request {row.pk}: a picture's file is missing")


def _signal_busy(phase: Phase, result, sig: int, *, attempts: set[int]) -> None:
    phase.wait_ready(2)  # another worker takes over: the recovery is not a model load
    req = phase.submit(**LONG)
    pid = phase.busy(req)
    t0 = time.monotonic()
    os.kill(pid, sig)
    try:
        [row] = phase.settle([req.pk], timeout=60)
        if sig == signal.SIGSTOP:
            wait_for(
                lambda: WorkerHeartbeat.objects.filter(pid=pid, state=WorkerHeartbeat.State.KILLED).exists(),
                timeout=conf.WORKER_STALE_SECONDS + 20,
                what="the watchdog to kill the stopped worker's cluster",
            )
            result.facts["watchdog kill after"] = f"{time.monotonic() - t0:.1f} s"
    finally:
        if sig == signal.SIGSTOP:  # the watchdog has killed it; never leave it stopped
            with_suppress_kill(pid)
    result.recovery_seconds = round(time.monotonic() - t0, 1)
    result.attempts = str(row.attempts)
    _succeeded(result, row, attempts=attempts)


def with_suppress_kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


# --- the cases ---------------------------------------------------------------------------------------


def case_kill_worker(phase: Phase, result) -> None:
    _signal_busy(phase, result, signal.SIGKILL, attempts={2})


def case_hung_worker(phase: Phase, result) -> None:
    _signal_busy(phase, result, signal.SIGSTOP, attempts={2, 3})
    log = phase.log_tail(10**8)
    expect(result, "watchdog: restarted the cluster" in log, "the watchdog did not restart the cluster")
    result.facts["watchdog restarts"] = log.count("watchdog: restarted the cluster")


def case_graceful_stop(phase: Phase, result) -> None:
    _signal_busy(phase, result, signal.SIGTERM, attempts={1})


def case_cluster_restart(phase: Phase, result) -> None:
    phase.wait_ready()
    running = phase.submit(**LONG)
    phase.busy(running)
    phase.stop_worker()
    row = GenerationRequest.objects.get(pk=running.pk)
    result.facts["running request after the stop"] = f"{row.status}, attempts {row.attempts}"
    queued = [phase.submit() for _ in range(3)]
    t0 = time.monotonic()
    result.facts["restart seconds"] = round(phase.start_worker(), 1)
    rows = phase.settle([running.pk, *(q.pk for q in queued)], timeout=60)
    result.recovery_seconds = round(time.monotonic() - t0, 1)
    result.attempts = ",".join(str(r.attempts) for r in rows)
    for row in rows:
        _succeeded(result, row, attempts={1})


def case_redis_restart(phase: Phase, result) -> None:
    phase.stop_worker()
    queued = [phase.submit() for _ in range(3)]
    phase.redis.kill()  # no persistence: the three wake-ups are lost
    key = f"faults-studio-{uuid.uuid4().hex[:8]}"  # its own visitor and seed: the case can run again
    try:
        # A first visit while Redis (the session cache too) is down: its session is made in the database.
        me = visitor(Client(), key)
        response = me.post(reverse("personalization:studio"), _studio_data(phase.product, seed=next(_seeds)))
        expect(result, response.status_code == 302, f"studio POST with Redis down: {response.status_code}")
        result.facts["studio POST, Redis down"] = response.status_code
    finally:
        phase.redis.start()
    posted = list(GenerationRequest.objects.filter(session_key=key).values_list("pk", flat=True))
    expect(result, len(posted) == 1, f"the studio POST made {len(posted)} requests")
    t0 = time.monotonic()
    phase.start_worker()
    rows = phase.settle([*(q.pk for q in queued), *posted], timeout=60)
    result.recovery_seconds = round(time.monotonic() - t0, 1)
    result.attempts = ",".join(str(r.attempts) for r in rows)
    for row in rows:
        _succeeded(result, row, attempts={1})


def _studio_data(product, *, seed: int = 42) -> dict:
    return {
        "product": product.slug,
        "base_color": "White",
        "description": "a lighthouse on a cliff at dawn",
        "style": "",
        "material": "",
        "strength": "0.6",
        "steps": "2",
        "guidance_scale": "7.5",
        "seed": str(seed),
        "variations": "1",
    }


def case_task_timeout(phase: Phase, result) -> None:
    phase.wait_ready()
    faulty.arm(phase.control, "hang_writes", 1)
    try:
        with transaction.atomic():  # its last attempt: one timeout uses them all
            req = phase.submit()
            GenerationRequest.objects.filter(pk=req.pk).update(attempts=conf.MAX_ATTEMPTS - 1)
        t0 = time.monotonic()
        [row] = phase.settle([req.pk], timeout=TASK_TIMEOUT + conf.LEASE_SECONDS + 30)
        hung = 1 - faulty.left(phase.control, "hang_writes")
    finally:
        faulty.arm(phase.control, "hang_writes", 0)
    expect(result, hung == 1, "no write hung")
    result.recovery_seconds = round(time.monotonic() - t0, 1)
    result.attempts = str(row.attempts)
    expect(
        result,
        (row.status, row.error_code) == (Status.FAILED, "worker_lost"),
        f"{row.status} {row.error_code}",
    )
    expect(result, row.attempts == conf.MAX_ATTEMPTS, f"attempts {row.attempts}")
    expect(result, refunded(row), "the quota was not refunded")


def case_timeout_below_load(phase: Phase, result) -> None:
    from personalization import startup

    measured = startup.measured_load_seconds()
    expect(result, measured is not None and measured * LOAD_MARGIN > 1, f"measured load {measured}")
    result.facts["measured load"] = f"{measured or 0:.1f} s"
    proc = phase.spawn(
        {
            "PERSONALIZATION_TASK_TIMEOUT": "1",
            "PERSONALIZATION_MIN_TASK_TIMEOUT": "0",
            "FAULTS_TASK_TIMEOUT_LOAD_MARGIN": str(LOAD_MARGIN),
        }
    )
    try:
        code = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        code = None
    finally:
        stop_group(proc, timeout=10)
    output = phase.log_tail(4000, path=phase.log)
    expect(result, code == 1, f"run_gpu_worker exit status {code}")
    expect(result, "the last load and warm-up took" in output, "the refusal does not name the measured load")
    result.facts["exit status"] = code


def case_storage_retry(phase: Phase, result) -> None:
    faulty.arm(phase.control, "fail_writes", 2)
    try:
        req = phase.submit(variations=2)
        [row] = phase.settle([req.pk], timeout=30)
    finally:
        left = faulty.left(phase.control, "fail_writes")
        faulty.arm(phase.control, "fail_writes", 0)
    result.attempts = str(row.attempts)
    expect(result, left == 0, f"{left} of the 2 failing writes were not tried")
    _succeeded(result, row, attempts={1}, images=2)


def case_storage_down(phase: Phase, result) -> None:
    faulty.arm(phase.control, "fail_writes", 1000)
    try:
        req = phase.submit(variations=2)
        [row] = phase.settle([req.pk], timeout=30)
        failed_writes = 1000 - faulty.left(phase.control, "fail_writes")
    finally:
        faulty.arm(phase.control, "fail_writes", 0)
    result.attempts = str(row.attempts)
    result.facts["writes failed"] = failed_writes
    expect(
        result,
        (row.status, row.error_code) == (Status.FAILED, "storage_error"),
        f"{row.status} {row.error_code}",
    )
    expect(result, row.attempts == 1, f"attempts {row.attempts}")
    expect(result, refunded(row), "the quota was not refunded")
    expect(result, not row.images.exists(), "pictures were kept")


def case_db_dropped(phase: Phase, result) -> None:
    phase.wait_ready()
    faulty.arm(phase.control, "drop_db", 1)
    try:
        req = phase.submit()
        t0 = time.monotonic()
        [row] = phase.settle([req.pk], timeout=60)
        dropped = 1 - faulty.left(phase.control, "drop_db")
    finally:
        faulty.arm(phase.control, "drop_db", 0)
    result.recovery_seconds = round(time.monotonic() - t0, 1)
    result.attempts = str(row.attempts)
    expect(result, dropped == 1, "the connection was not dropped")
    _succeeded(result, row, attempts={1})


def case_reference_missing(phase: Phase, result) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (96, 96), (200, 30, 30)).save(buffer, format="PNG")
    buffer.seek(0)
    buffer.name = "ref.png"
    with transaction.atomic():
        req = phase.submit(reference_image=buffer, strength=0.5)
        private_storage.delete(req.reference_image.name)  # gone before the worker is woken
    [row] = phase.settle([req.pk], timeout=30)
    result.attempts = str(row.attempts)
    expect(
        result,
        (row.status, row.error_code) == (Status.FAILED, "input_missing"),
        f"{row.status} {row.error_code}",
    )
    expect(result, row.attempts == 1, f"attempts {row.attempts}")
    expect(result, refunded(row), "the quota was not refunded")


def case_double_delivery(phase: Phase, result) -> None:
    from django_q.models import Task

    phase.wait_ready(2)
    with transaction.atomic():
        req = phase.submit()
        transaction.on_commit(lambda: enqueue_generation(req.pk))  # a second wake-up, same commit
    [row] = phase.settle([req.pk], timeout=30)
    answers = wait_for(
        lambda: (
            (found := list(Task.objects.filter(name=f"generation-{req.pk}").values_list("result", flat=True)))
            and len(found) >= 2
            and found
        ),
        timeout=30,
        what="both deliveries to be answered",
    )
    result.attempts = str(row.attempts)
    result.facts["answers"] = " / ".join(sorted(str(a) for a in answers))
    ran = [a for a in answers if str(a).startswith("succeeded")]
    expect(result, len(ran) == 1, f"the request ran {len(ran)} times: {answers}")
    _succeeded(result, row, attempts={1})


def case_double_checkout(phase: Phase, result) -> None:
    from shop.models import Order
    from shop.services import cart_add, cart_get_or_create

    key = f"faults-checkout-{uuid.uuid4().hex[:8]}"
    req = phase.submit(key=key)
    [row] = phase.settle([req.pk], timeout=30)
    image = row.images.get()
    cart = cart_get_or_create(session_key=key)
    cart_add(cart=cart, product=phase.product, base_color="White", design=image)
    barrier = threading.Barrier(2)
    answers: list = []

    def checkout():
        try:
            me = visitor(Client(), key)
            data = checkout_data()  # each with its own one-time token
            barrier.wait(timeout=30)
            response = me.post(reverse("shop:checkout"), data)
            answers.append((response.status_code, response.get("Location", "")))
        except Exception as exc:
            answers.append((type(exc).__name__, str(exc)))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=checkout) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    orders = list(Order.objects.filter(cart=cart))
    result.facts["answers"] = " / ".join(f"{code} {where}" for code, where in answers)
    expect(result, len(orders) == 1, f"{len(orders)} orders for one cart")
    expect(result, [code for code, _ in answers] == [302, 302], f"answers {answers}")
    if len(orders) == 1:
        where = {w for _, w in answers}
        expect(result, where == {orders[0].get_absolute_url()}, f"redirected to {where}")
        designs = LineDesign.objects.filter(order_line__order=orders[0])
        expect(result, designs.count() == 1, f"{designs.count()} ordered designs")
        # The print job the checkout woke: wait until the worker has rendered it (no file in flight).
        wait_for(
            lambda: not LineDesign.objects.filter(pk__in=designs, print_job_wake_at__isnull=False).exists(),
            timeout=60,
            what="the ordered design's print job",
        )
