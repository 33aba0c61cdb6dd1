"""The test settings under pytest-xdist: each worker gets its own Redis database and S3 buckets
(config/settings_test.py), which .ci/run makes (scripts/ci_s3_buckets.py --xdist-workers)."""

import os

from config.settings_test import _per_xdist_worker
from scripts.ci_s3_buckets import bucket_names

SHARED = {
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "AWS_STORAGE_BUCKET_NAME": "ci-media",
    "AWS_PRIVATE_BUCKET_NAME": "ci-private",
}


def test_each_xdist_worker_has_its_own_redis_database_and_buckets():
    worker = {**SHARED, "PYTEST_XDIST_WORKER": "gw1"}
    _per_xdist_worker(worker)
    assert (worker["REDIS_URL"], worker["AWS_STORAGE_BUCKET_NAME"], worker["AWS_PRIVATE_BUCKET_NAME"]) == (
        "redis://127.0.0.1:6379/2",
        "ci-media-gw1",
        "ci-private-gw1",
    )
    again = dict(worker)  # what a process the test starts (a GPU worker) imports the settings with
    _per_xdist_worker(again)
    assert again == worker
    first = {**SHARED, "PYTEST_XDIST_WORKER": "gw0"}
    _per_xdist_worker(first)
    assert first["REDIS_URL"] == "redis://127.0.0.1:6379/1"  # never the shared database 0


def test_a_serial_run_and_unset_services_are_left_alone():
    serial = dict(SHARED)
    _per_xdist_worker(serial)
    assert serial == SHARED
    local = {"PYTEST_XDIST_WORKER": "gw0"}
    _per_xdist_worker(local)
    assert local == {"PYTEST_XDIST_WORKER": "gw0"}


def test_the_ci_makes_each_workers_buckets():
    assert bucket_names(SHARED, xdist_workers=2) == [
        "ci-media",
        "ci-private",
        "ci-media-gw0",
        "ci-media-gw1",
        "ci-private-gw0",
        "ci-private-gw1",
    ]
    assert bucket_names({"AWS_STORAGE_BUCKET_NAME": "m"}) == ["m"]


def test_this_process_uses_its_workers_share():
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker and os.environ.get("REDIS_URL"):
        assert os.environ["REDIS_URL"].endswith(f"/{int(worker.removeprefix('gw')) + 1}")
    if worker and os.environ.get("AWS_STORAGE_BUCKET_NAME"):
        assert os.environ["AWS_STORAGE_BUCKET_NAME"].endswith(f"-{worker}")
