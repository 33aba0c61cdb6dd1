"""`make run` (scripts/run.sh) stops cleanly on a double Ctrl-C: each server leads its own process
group, so the terminal's SIGINT reaches the script alone and it signals each server once (a django-q2
cluster signalled twice at once could hang); a second Ctrl-C ends the script, and the servers still
stop. The demo models are the session's tiny ones (nothing is built in the repository's var/)."""

import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.http_server_helpers import children_of, free_port, group_alive
from tests.worker_fixtures import MODEL_ENV, ROOT

pytestmark = [pytest.mark.worker, pytest.mark.one_setup]


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(autouse=True)
def _no_local_env_file():
    if (ROOT / ".env").exists():
        pytest.skip("a local .env sets variables this case controls")


@pytest.mark.timeout(300)
def test_make_run_stops_every_server_on_a_double_ctrl_c(tmp_path, tiny_models):
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV"}
    env = {key: value for key, value in os.environ.items() if key in keep}  # no shared Redis, S3
    env.update(
        {
            "PY": sys.executable,
            "PYTHONUNBUFFERED": "1",  # runserver's banner reaches the log at once
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "MEDIA_ROOT": str(tmp_path / "media"),
            "PRIVATE_MEDIA_ROOT": str(tmp_path / "private"),
            "PORT": str(free_port()),
            "PERSONALIZATION_DEVICE": "cpu",
            "PERSONALIZATION_DTYPE": "float32",
            "PERSONALIZATION_SAFETY_CHECK": "false",  # the worker starts without loading its detectors
            **{MODEL_ENV[name]: str(path) for name, path in tiny_models.items()},
        }
    )
    log_path = tmp_path / "run.log"
    with log_path.open("w") as log:
        script = subprocess.Popen(
            [str(ROOT / "scripts" / "run.sh")],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the script's group stands for the terminal's foreground group
            # As from a terminal: SIGINT at its default. A pytest-xdist worker (execnet) ignores it,
            # a child inherits that, and bash cannot trap a signal that was ignored on entry.
            preexec_fn=_sigint_default,
        )
    servers: list[int] = []
    try:
        deadline = time.monotonic() + 240
        ready = ("Starting development server at", "[web] running.", "[gpu] running.")
        while not all(mark in log_path.read_text() for mark in ready):
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            with pytest.raises(subprocess.TimeoutExpired):  # still running: wait on it, then look again
                script.wait(timeout=0.5)
        servers = children_of(script.pid)
        assert len(servers) == 3, servers  # run_gpu_worker, qcluster, runserver
        assert all(os.getpgid(pid) == pid for pid in servers)  # each leads its own group

        os.killpg(script.pid, signal.SIGINT)  # Ctrl-C ...
        time.sleep(0.5)
        with contextlib.suppress(ProcessLookupError):  # (unless the script is already done)
            os.killpg(script.pid, signal.SIGINT)  # ... and Ctrl-C again while they stop
        try:
            script.wait(timeout=60)
        except subprocess.TimeoutExpired:
            output = log_path.read_text()[-3000:]
            pytest.fail(f"the script still runs 60 s after the second Ctrl-C:\n{output}")
        stop_by = time.monotonic() + 90  # the script's watchdog kills what is left after 45 s
        while any(group_alive(pgid) for pgid in servers) and time.monotonic() < stop_by:
            time.sleep(0.5)
    finally:
        servers = servers or children_of(script.pid)  # a failure before they were counted
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
            script.wait(timeout=10)
        for pgid in servers:
            if group_alive(pgid):
                os.killpg(pgid, signal.SIGKILL)
    output = log_path.read_text()
    assert [pgid for pgid in servers if group_alive(pgid)] == [], output[-3000:]
    assert output.count("has stopped.") == 2, output[-3000:]  # both clusters stopped, not killed
