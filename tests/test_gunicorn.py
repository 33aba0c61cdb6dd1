"""gunicorn.conf.py: its values from the environment, and a real gunicorn serving the production
profile on a loopback port: a page, and a hashed static file compressed by whitenoise after
`collectstatic`; then it stops cleanly on SIGTERM."""

import gzip
import json
import os
import re
import runpy
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.http_server_helpers import free_port, request, wait_until_listening

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "gunicorn.conf.py"
KNOBS = (
    "PORT",
    "GUNICORN_BIND",
    "WEB_CONCURRENCY",
    "GUNICORN_THREADS",
    "GUNICORN_TIMEOUT",
    "GUNICORN_KEEPALIVE",
)


def _config(monkeypatch, **values: str) -> dict:
    for name in KNOBS:
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONFIG))


def test_the_defaults_bind_loopback_and_size_the_processes_by_cpu(monkeypatch):
    config = _config(monkeypatch)
    cpus = len(os.sched_getaffinity(0))
    assert config["bind"] == ["127.0.0.1:8000"]
    assert config["workers"] == min(2 * cpus + 1, 8)
    assert config["worker_class"] == "gthread" and config["threads"] == 4
    assert config["timeout"] == config["graceful_timeout"] == 30
    assert config["max_requests"] > 0 and 0 < config["max_requests_jitter"] < config["max_requests"]
    assert config["accesslog"] == "-"
    assert config["wsgi_app"] == "config.wsgi:application"


def test_the_environment_sets_port_bind_and_sizes(monkeypatch):
    assert _config(monkeypatch, PORT="9001")["bind"] == ["127.0.0.1:9001"]
    config = _config(
        monkeypatch,
        PORT="9001",
        GUNICORN_BIND="0.0.0.0:8080",
        WEB_CONCURRENCY="3",
        GUNICORN_THREADS="8",
        GUNICORN_TIMEOUT="45",
        GUNICORN_KEEPALIVE="65",
    )
    assert config["bind"] == ["0.0.0.0:8080"]
    assert (config["workers"], config["threads"], config["timeout"], config["keepalive"]) == (3, 8, 45, 65)
    assert config["graceful_timeout"] == 45


def test_every_variable_the_config_reads_is_documented():
    names = set(re.findall(r"""env(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]*)["']""", CONFIG.read_text()))
    assert set(KNOBS) | {"LOG_LEVEL"} == names
    documented = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), flags=re.MULTILINE)
    )
    assert sorted(names - documented) == []


def _manage(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def production_site(tmp_path):
    """The production profile on SQLite in a temporary folder, migrated, its static files collected."""
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
        MEDIA_ROOT=str(tmp_path / "media"),
        PRIVATE_MEDIA_ROOT=str(tmp_path / "private"),
    )
    _manage(env, "migrate", "--no-input", "-v0")
    _manage(env, "collectstatic", "--no-input", "-v0")
    return env, tmp_path


@pytest.mark.one_setup
@pytest.mark.timeout(240)
def test_gunicorn_serves_the_site_and_compressed_static_files(production_site):
    env, folder = production_site
    port = free_port()
    env = {**env, "PORT": str(port), "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "2"}
    log_out, log_err = open(folder / "gunicorn.out", "w+"), open(folder / "gunicorn.err", "w+")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(CONFIG)],
        cwd=ROOT,
        env=env,
        stdout=log_out,
        stderr=log_err,
    )
    try:
        wait_until_listening(server, port, deadline=time.monotonic() + 90)

        status, headers, body = request(port, "GET", "/")
        assert status == 200, body[:2000]
        assert b"</html>" in body
        assert headers["strict-transport-security"].startswith("max-age=31536000")

        manifest = json.loads((folder / "static" / "staticfiles.json").read_text())
        hashed = manifest["paths"]["css/shop.css"]
        assert hashed != "css/shop.css"  # the hashed name, served forever
        assert f"/static/{hashed}".encode() in body  # the page links the hashed file
        collected = (folder / "static" / hashed).read_bytes()

        status, headers, body = request(port, "GET", f"/static/{hashed}", **{"Accept-Encoding": "gzip, br"})
        assert status == 200
        assert headers["content-encoding"] in {"gzip", "br"}
        assert "immutable" in headers["cache-control"]
        if headers["content-encoding"] == "gzip":
            assert gzip.decompress(body) == collected
        assert len(body) < len(collected)

        status, headers, body = request(
            port, "GET", f"/static/{hashed}"
        )  # a client that takes no compression
        assert status == 200 and "content-encoding" not in headers and body == collected
    finally:
        server.terminate()
        try:
            returncode = server.wait(timeout=45)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
            raise
        log_out.close()
        log_err.close()
    output = (folder / "gunicorn.out").read_text()
    errors = (folder / "gunicorn.err").read_text()
    assert returncode == 0, errors[-3000:]
    assert '"GET / HTTP/1.1" 200' in output  # the access log goes to stdout
    assert "Using worker: gthread" in errors
    assert "Shutting down: Master" in errors
