"""Two GPU worker machines on one queue: two REAL `run_gpu_worker` processes (the session's worker
and a second one, each with its own django-q2 cluster "gpu") on the same database, broker and
storage, as two machines would run them. A burst of requests submitted at once runs exactly once
each: one claim (attempts 1), one worker named on the row, one set of images, every file in the
storage (S3 when the AWS_* variables are set, as in stage 2 of .ci/run; local files otherwise).

`SKIP_MULTI_WORKER=1 pytest` skips it (about 30 s on two idle cores)."""

import os

import psutil
import pytest
from django.db import transaction

from personalization.models import GenerationRequest, WorkerHeartbeat
from personalization.services import generation_request_create
from personalization.storage import request_prefix
from tests.factories import make_product
from tests.worker_fixtures import start_worker, stop_worker, wait_until

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        os.environ.get("SKIP_MULTI_WORKER", "") not in ("", "0"), reason="SKIP_MULTI_WORKER is set"
    ),
]
Status = GenerationRequest.Status
BURST = 12


def _worker_names(proc) -> set[str]:
    """The names ("host:pid") of the worker processes below ``proc`` (a run_gpu_worker) that beat and
    have loaded their model (``load_seconds`` is on the row once it has: it beats from before)."""
    try:
        pids = {child.pid for child in psutil.Process(proc.pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()
    rows = WorkerHeartbeat.objects.filter(pid__in=pids, load_seconds__isnull=False)
    rows = rows.exclude(state=WorkerHeartbeat.State.KILLED)
    return set(rows.values_list("worker", flat=True))


def _stored_names(storage, prefix: str) -> set[str]:
    """Every file name under ``prefix`` in ``storage`` (one level of folders: previews/)."""
    folders, files = storage.listdir(prefix)
    names = {f"{prefix}/{name}" for name in files}
    for folder in folders:
        names |= _stored_names(storage, f"{prefix}/{folder}")
    return names


@pytest.fixture
def second_worker(gpu_worker, tmp_path):
    """Another machine's worker: its own run_gpu_worker on the same database, broker and storage."""
    proc = start_worker(gpu_worker.env, tmp_path / "second-worker.log")
    yield proc
    stop_worker(proc)


def test_a_burst_runs_exactly_once_across_two_worker_machines(gpu_worker, second_worker, tmp_path):
    machines = {"first": gpu_worker.proc, "second": second_worker}
    names = {
        machine: wait_until(lambda p=proc: _worker_names(p), timeout=120, message=f"the {machine} worker")
        for machine, proc in machines.items()
    }
    assert not names["first"] & names["second"]
    # The session's worker may still be busy with an earlier test's work (a print file it renders):
    # both machines start the burst idle, so each can take a batch.
    wait_until(
        lambda: (
            not WorkerHeartbeat.objects.filter(
                worker__in=names["first"] | names["second"], state=WorkerHeartbeat.State.BUSY
            ).exists()
        ),
        timeout=120,
        message="both machines to be idle",
    )
    product = make_product()
    product.brand.min_consistency_score = 0
    product.brand.save()
    with transaction.atomic():  # one commit: the whole burst is queued (and woken) at once
        submitted = [
            generation_request_create(
                product=product,
                base_color="White",
                description=f"A lighthouse in a storm, number {n}",
                steps=4,
                size=64,
                seed=1000 + n,
                variations=2 if n % 6 == 0 else 1,  # 14 images: more than one batch (MAX_BATCH_IMAGES 8)
            )
            for n in range(BURST)
        ]
    ids = [req.pk for req in submitted]

    def all_finished():
        rows = list(GenerationRequest.objects.filter(pk__in=ids))
        return all(r.is_terminal for r in rows) and rows

    rows = wait_until(all_finished, timeout=180, interval=0.2, message="the burst to finish")
    log = gpu_worker.output()[-2000:] + (tmp_path / "second-worker.log").read_text(errors="replace")[-2000:]
    ran_by = {}
    for req in rows:
        assert (req.status, req.attempts) == (Status.SUCCEEDED, 1), (req.error_code, req.error_message, log)
        machine = next((m for m, workers in names.items() if req.worker in workers), None)
        assert machine is not None, f"{req.pk} ran on {req.worker!r}, not one of {names}"
        ran_by[req.pk] = machine
        images = list(req.images.order_by("index"))
        assert [(image.index, image.seed) for image in images] == [
            (i, req.seed + i) for i in range(req.variations)
        ]
        # Exactly one set of files in the storage: the rows' files and nothing else under the prefix.
        storage = req.preview.storage
        expected = {req.preview.name} | {f.name for image in images for f in (image.image, image.mockup)}
        assert all(expected), expected
        for name in expected:
            assert storage.exists(name) and storage.size(name) > 0, name
        assert _stored_names(storage, request_prefix(req.pk)) == expected
    assert set(ran_by.values()) == {"first", "second"}, (ran_by, log)  # both machines took part
    assert second_worker.poll() is None and gpu_worker.proc.poll() is None
