"""A REAL GPU worker for tests: `python manage.py run_gpu_worker` (django-q2 cluster "gpu" + the
lease sweeper) on the test database, with the tiny random-weight pipeline of each model preset. No
mocks."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def wait_until(condition, *, timeout: float = 60.0, interval: float = 0.1, message: str = "condition"):
    """Poll `condition()` until it returns a truthy value; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def database_url_for_workers() -> str:
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(s['NAME']).resolve()}"
    user = s.get("USER") or ""
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    host = s.get("HOST") or "127.0.0.1"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{user}{password}@{host}{port}/{s['NAME']}"


# Small sizes and few steps for every preset on the tiny models (a CPU makes 64 px in a blink).
PRESET_OVERRIDES = {
    "sd21": {"sizes": (64, 128, 512), "default_size": 128, "default_steps": 4},
    "sd21-base": {"sizes": (64, 128), "default_size": 128, "default_steps": 4},
    "sd-turbo": {"sizes": (64, 128), "default_size": 128},
}
# The global size and step settings from before the presets, while conf.DEFAULTS still has them.
LEGACY_OVERRIDES = {"SIZES": (64, 128, 512), "DEFAULT_SIZE": 128, "DEFAULT_STEPS": 4}
# The environment variable that points the worker process at each preset's weights.
MODEL_ENV = {
    "sd21": "PERSONALIZATION_MODEL",
    "sd21-base": "PERSONALIZATION_MODEL_SD21_BASE",
    "sd-turbo": "PERSONALIZATION_MODEL_SD_TURBO",
}


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """{preset name: its tiny random-weight model}, built once per session (a second or so)."""
    from personalization.engine.tiny import build_tiny_pipeline
    from personalization.presets import BUILT_IN

    base = tmp_path_factory.mktemp("models")
    return {name: build_tiny_pipeline(base / f"tiny-{name}", preset=name) for name in BUILT_IN}


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_models) -> Path:
    """The tiny model of the "sd21" preset."""
    return tiny_models["sd21"]


@pytest.fixture
def tiny_model(settings, tiny_models):
    """Point the plugin at the tiny pipelines (MODELS, one per preset) with small sizes, in this
    process; returns the "sd21" one."""
    from personalization.conf import DEFAULTS

    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "MODELS": {name: str(path) for name, path in tiny_models.items()},
        "MODEL": str(tiny_models["sd21"]),
        "DEMO_MODEL": True,
        "TRAINED_DEMO_PRESETS": (),  # random weights: the banner says so
        "DEVICE": "cpu",
        "DTYPE": "float32",
        "PRESET_OVERRIDES": PRESET_OVERRIDES,
        **{key: value for key, value in LEGACY_OVERRIDES.items() if key in DEFAULTS},
        "PROGRESS_INTERVAL": 0.2,
        "LEASE_SECONDS": 6,
        "MAX_ATTEMPTS": 3,
    }
    return tiny_models["sd21"]


class WorkerHandle:
    def __init__(self, proc: subprocess.Popen, log: Path, media_root: Path):
        self.proc = proc
        self.log = log
        self.media_root = media_root

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def worker_env(*, database_url: str, tiny_models: dict[str, Path], base: Path, **extra: str) -> dict:
    """The environment of a real worker process on the test database and the tiny models, storing
    under ``base`` (media/, private/) unless S3 is configured (the AWS_* variables pass through)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": database_url,
        **{MODEL_ENV[name]: str(path) for name, path in tiny_models.items()},
        "PERSONALIZATION_DEVICE": "cpu",
        "PERSONALIZATION_DTYPE": "float32",
        "PERSONALIZATION_LEASE_SECONDS": "6",
        "PERSONALIZATION_MAX_ATTEMPTS": "3",
        "PERSONALIZATION_SWEEP_INTERVAL": "0.5",
        "PERSONALIZATION_PROGRESS_INTERVAL": "0.2",
        "MEDIA_ROOT": str(base / "media"),
        "PRIVATE_MEDIA_ROOT": str(base / "private"),
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


def start_worker(env: dict, log: Path) -> subprocess.Popen:
    """``manage.py run_gpu_worker`` in a session of its own (``stop_worker`` ends its group)."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "run_gpu_worker", "--sweep-interval", "0.5"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_worker(proc: subprocess.Popen) -> None:
    """SIGTERM to the worker's process group, SIGKILL to what is left after 5 s."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


@pytest.fixture(scope="session")
def _worker_process(django_db_setup, django_db_blocker, tiny_models, tmp_path_factory):
    """One real worker process for the whole session (it polls the test database)."""
    with django_db_blocker.unblock():
        database_url = database_url_for_workers()
    base = tmp_path_factory.mktemp("worker")
    env = worker_env(database_url=database_url, tiny_models=tiny_models, base=base)
    log = base / "worker.log"
    proc = start_worker(env, log)
    handle = WorkerHandle(proc, log, base / "media")
    handle.env = env  # a second worker (tests/personalization/test_multi_worker.py) shares it
    yield handle
    stop_worker(proc)


@pytest.fixture
def gpu_worker(_worker_process, transactional_db, tiny_model, settings):
    """The session's real worker, with this test's storage pointed where the worker writes."""
    assert _worker_process.proc.poll() is None, _worker_process.output()[-3000:]
    settings.MEDIA_ROOT = str(_worker_process.media_root)
    private = settings.STORAGES["personalization_private"]
    if private["BACKEND"].endswith("FileSystemStorage"):  # customer files: where the worker writes them
        root = str(_worker_process.media_root.parent / "private")
        options = {**private.get("OPTIONS", {}), "location": root}
        settings.STORAGES = {**settings.STORAGES, "personalization_private": {**private, "OPTIONS": options}}
        settings.SENDFILE_ROOT = root
    yield _worker_process
