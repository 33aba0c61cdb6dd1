"""The production profile (DJANGO_ENV=production, config/production.py): the settings refuse to load
with DEBUG on, a weak SECRET_KEY or an open ALLOWED_HOSTS, each named with its fix; good values pass
`check --deploy`; development is unchanged; `make prod` (scripts/prod.sh) refuses before it starts
anything. Each case imports the settings in a fresh process with its own environment."""

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.http_server_helpers import children_of, free_port, group_alive

ROOT = Path(__file__).resolve().parent.parent
REFUSED = "DJANGO_ENV=production refuses to start:"
# What the settings module holds once imported, as JSON (a refusal raises before it prints).
READ_SETTINGS = (
    "import json; from django.conf import settings as s; print(json.dumps({'debug': s.DEBUG, "
    "'key': s.SECRET_KEY, 'hosts': s.ALLOWED_HOSTS, 'proxy': s.SECURE_PROXY_SSL_HEADER, "
    "'session_secure': s.SESSION_COOKIE_SECURE, 'csrf_secure': s.CSRF_COOKIE_SECURE, "
    "'redirect': s.SECURE_SSL_REDIRECT, 'hsts': s.SECURE_HSTS_SECONDS}))"
)


def _env(**values: str | None) -> dict[str, str]:
    """A clean environment: only what the case sets (None: unset), plus what Python needs to run."""
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env.update({k: v for k, v in values.items() if v is not None})
    return env


def _production(**overrides: str | None) -> dict[str, str]:
    values = {
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "shop.example.com",
        **overrides,
    }
    return _env(**values)


def _settings(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", READ_SETTINGS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture(autouse=True)
def _no_local_env_file():
    if (ROOT / ".env").exists():
        pytest.skip("a local .env sets variables these cases control")


def _refusals(stderr: str) -> list[str]:
    assert REFUSED in stderr, stderr[-3000:]
    assert "ImproperlyConfigured" in stderr
    return [line.strip()[2:] for line in stderr.split(REFUSED, 1)[1].splitlines() if line.startswith("  - ")]


@pytest.mark.parametrize(
    ("overrides", "refusal"),
    [
        ({"DEBUG": "1"}, "DEBUG is on: unset DEBUG or set DEBUG=0."),
        ({"DEBUG": "true"}, "DEBUG is on: unset DEBUG or set DEBUG=0."),
        ({"SECRET_KEY": None}, "SECRET_KEY is not set: set it to 50 or more random characters"),
        ({"SECRET_KEY": ""}, "SECRET_KEY is not set"),
        (
            {"SECRET_KEY": "django-insecure-" + secrets.token_urlsafe(60)},
            "SECRET_KEY starts with 'django-insecure'",
        ),
        ({"SECRET_KEY": secrets.token_hex(24)}, "SECRET_KEY is 48 characters long: use 50 or more"),
        ({"SECRET_KEY": "abcd" * 20}, "SECRET_KEY has 4 distinct characters"),
        ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS is empty: list the site's host names"),
        ({"ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS contains '*' (any host)"),
        ({"ALLOWED_HOSTS": "shop.example.com,*"}, "ALLOWED_HOSTS contains '*' (any host)"),
    ],
    ids=[
        "DEBUG=1",
        "DEBUG=true",
        "no SECRET_KEY",
        "empty SECRET_KEY",
        "django-insecure key",
        "short key",
        "4 distinct characters",
        "no ALLOWED_HOSTS",
        "ALLOWED_HOSTS=*",
        "* among the hosts",
    ],
)
def test_production_refuses_an_unsafe_value_and_names_the_fix(overrides, refusal):
    result = _settings(_production(**overrides))
    assert result.returncode != 0
    assert result.stdout == ""
    refusals = _refusals(result.stderr)
    assert len(refusals) == 1, refusals  # that value alone, nothing the case did not break
    assert refusals[0].startswith(refusal), refusals


def test_production_names_every_unsafe_value_at_once():
    """With DEBUG on, the development fallbacks (a dev key, localhost hosts) are not used either."""
    result = _settings(_production(DEBUG="1", SECRET_KEY=None, ALLOWED_HOSTS=None))
    assert result.returncode != 0
    refusals = _refusals(result.stderr)
    assert [r.split(" ", 1)[0] for r in refusals] == ["DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"]


def test_an_unknown_profile_is_refused():
    result = _settings(_production(DJANGO_ENV="staging"))
    assert result.returncode != 0
    assert "DJANGO_ENV must be 'development' or 'production', not 'staging'" in result.stderr


def test_production_with_safe_values_loads_with_https_on():
    key = secrets.token_urlsafe(64)
    result = _settings(_production(SECRET_KEY=key))
    assert result.returncode == 0, result.stderr[-3000:]
    values = json.loads(result.stdout)
    assert values["debug"] is False and values["key"] == key
    assert values["hosts"] == ["shop.example.com"]
    assert values["session_secure"] and values["csrf_secure"] and values["redirect"]
    assert values["hsts"] == 31536000
    assert values["proxy"] == ["HTTP_X_FORWARDED_PROTO", "https"]


@pytest.mark.parametrize(
    ("value", "proxy"),
    [("HTTP_X_FORWARDED_SSL,on", ["HTTP_X_FORWARDED_SSL", "on"]), ("", None)],
    ids=["another header", "no proxy"],
)
def test_the_proxy_ssl_header_is_configurable(value, proxy):
    result = _settings(_production(SECURE_PROXY_SSL_HEADER=value))
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout)["proxy"] == proxy


def test_a_proxy_ssl_header_without_its_value_is_refused():
    result = _settings(_production(SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO"))
    assert result.returncode != 0
    assert "SECURE_PROXY_SSL_HEADER must be a header and its value" in result.stderr


def test_development_defaults_are_unchanged():
    """No DJANGO_ENV: DEBUG=1 still runs with the dev key and localhost, as `make run` does."""
    result = _settings(_env(DEBUG="1"))
    assert result.returncode == 0, result.stderr[-3000:]
    values = json.loads(result.stdout)
    assert values["debug"] is True
    assert values["key"] == "insecure-dev-key-change-me"
    assert values["hosts"] == ["127.0.0.1", "localhost"]
    assert not values["session_secure"] and not values["redirect"] and values["hsts"] == 0
    assert values["proxy"] == ["HTTP_X_FORWARDED_PROTO", "https"]


@pytest.mark.one_setup  # its own SQLite file: the same in .ci/run's stage 2
def test_check_deploy_is_clean_in_production(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.one_setup  # its own SQLite file: the same in .ci/run's stage 2
def test_make_prod_refuses_with_debug_on_before_starting_anything(tmp_path):
    env = _production(
        DEBUG="1",
        PY=sys.executable,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db' / 'db.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
    )
    started = time.monotonic()
    result = subprocess.run(
        [str(ROOT / "scripts" / "prod.sh")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert time.monotonic() - started < 30  # the settings refuse at import, before anything runs
    assert f"{REFUSED}\n  - DEBUG is on: unset DEBUG or set DEBUG=0." in result.stderr
    assert "make prod: refusing to start (nothing was started)" in result.stderr
    assert "Traceback" not in result.stderr  # the message, not the traceback above it
    # Nothing ran: no database (migrate), no static files (collectstatic), no server.
    assert not (tmp_path / "db").exists()
    assert not (tmp_path / "static").exists()
    assert "gunicorn" not in result.stdout + result.stderr


@pytest.mark.one_setup  # its own SQLite file: the same in .ci/run's stage 2
def test_make_prod_refuses_a_deploy_check_warning(tmp_path):
    """Settings that load but fail `check --deploy` (here HSTS off) stop it too."""
    env = _production(
        SECURE_HSTS_SECONDS="0",
        PY=sys.executable,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db' / 'db.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
    )
    result = subprocess.run(
        [str(ROOT / "scripts" / "prod.sh")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "security.W004" in result.stderr
    assert "make prod: refusing to start (nothing was started)" in result.stderr
    assert not (tmp_path / "static").exists()


@pytest.mark.one_setup  # its own SQLite file: the same in .ci/run's stage 2
@pytest.mark.timeout(300)
def test_make_prod_starts_the_three_servers_and_one_sigterm_stops_them_all(tmp_path):
    """The whole group signalled at once (Ctrl-C, `timeout`, a supervisor): each server is stopped
    once by the script, and all are gone. (Signalled twice, a django-q2 cluster could hang.)"""
    port = free_port()
    env = _production(
        PY=sys.executable,
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
        MEDIA_ROOT=str(tmp_path / "media"),
        PRIVATE_MEDIA_ROOT=str(tmp_path / "private"),
        PORT=str(port),
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="1",
        PERSONALIZATION_SAFETY_CHECK="false",  # the worker starts without loading its detectors
    )
    log = open(tmp_path / "prod.log", "w+")  # noqa: SIM115
    script = subprocess.Popen(
        [str(ROOT / "scripts" / "prod.sh")],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    servers: list[int] = []
    try:
        deadline = time.monotonic() + 180
        ready = ("Listening at: http://127.0.0.1:", "[web] running.", "[gpu] running.")
        while not all(mark in (tmp_path / "prod.log").read_text() for mark in ready):
            assert time.monotonic() < deadline, (tmp_path / "prod.log").read_text()[-3000:]
            with pytest.raises(subprocess.TimeoutExpired):  # still running: wait on it, then look again
                script.wait(timeout=0.5)
        assert (tmp_path / "static" / "staticfiles.json").exists()  # collectstatic ran
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        servers = children_of(script.pid)
        assert len(servers) == 3, servers  # gunicorn, run_gpu_worker, qcluster

        os.killpg(script.pid, signal.SIGTERM)
        returncode = script.wait(timeout=90)
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
            script.wait(timeout=10)
        for pgid in servers:  # each server leads its own group (set -m in the script)
            if group_alive(pgid):
                os.killpg(pgid, signal.SIGKILL)
        log.close()
    output = (tmp_path / "prod.log").read_text()
    assert returncode == 0, output[-3000:]  # a requested stop is a clean one
    assert "Stopped the web server, the GPU worker and the web cluster's worker." in output
    assert "Shutting down: Master" in output  # gunicorn stopped gracefully
    assert output.count("has stopped.") == 2  # both django-q2 clusters (web, gpu)
    assert [pgid for pgid in servers if group_alive(pgid)] == []
