"""A web node's install: requirements-web.txt alone, in a fresh virtualenv, serves the shop.

The venv gets no torch, diffusers or safety detectors. From it, in the production profile on a
temporary SQLite database and temporary media and static folders: `check --deploy`, `migrate`,
`collectstatic`, `seed_demo`, then gunicorn (gunicorn.conf.py) on a free loopback port answers the
catalogue, a product page, the product API, the studio for a product, the admin login and the API's
generation submit (queued for the GPU cluster: an OrmQ row, since REDIS_URL is unset).

It takes about a minute (the install some 25 s, with pip's cache). `make test` and .ci/run run it;
`SKIP_WEB_INSTALL=1 make test` (or `pytest`) skips it for a quick local run.
"""

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.http_server_helpers import free_port, request, wait_until_listening

ROOT = Path(__file__).resolve().parent.parent
# What the GPU worker machine installs on top (requirements-worker.txt); none may reach a web node.
WORKER_ONLY = (
    "torch",
    "diffusers",
    "transformers",
    "safetensors",
    "accelerate",
    "peft",
    "nudenet",
    "rapidocr",
    "onnxruntime",
    "cv2",
)
# From this process's environment, only what finds programs and reaches the package registry:
# nothing of the test settings (DJANGO_SETTINGS_MODULE), the outer venv (PYTHONPATH, VIRTUAL_ENV) or
# the CI's services (DATABASE_URL, REDIS_URL, AWS_*).
KEEP = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE"}
KEEP_PREFIXES = ("PIP_", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")
CREATE_CUSTOMER = (
    "from django.contrib.auth import get_user_model; "
    "get_user_model().objects.create_user('ada', password='pw-ada-1')"
)
PRODUCT = "classic-t-shirt"  # seed_demo's; colours White, Black, Navy, Heather grey

pytestmark = [
    pytest.mark.timeout(600),  # the install, five manage.py commands and gunicorn: ~1 min here
    # Under pytest-xdist (--dist loadgroup, pyproject.toml) both tests run in one worker: the venv
    # (a module fixture) is installed once, not once per worker.
    pytest.mark.xdist_group("web_install"),
    pytest.mark.skipif(
        os.environ.get("SKIP_WEB_INSTALL", "") not in ("", "0"), reason="SKIP_WEB_INSTALL is set"
    ),
]


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k in KEEP or k.startswith(KEEP_PREFIXES)}


def _run(command: list[str], *, env: dict[str, str], timeout: float, what: str) -> str:
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{what} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def web_python():
    """A fresh venv with requirements-web.txt installed; its python. Removed afterwards (~300 MB)."""
    with tempfile.TemporaryDirectory(prefix="web-venv-") as folder:
        venv = Path(folder)
        env = _base_env()
        _run([sys.executable, "-m", "venv", str(venv)], env=env, timeout=120, what="python -m venv")
        python = venv / "bin" / "python"
        _run(
            [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
            + ["-r", str(ROOT / "requirements-web.txt")],
            env=env,
            timeout=450,
            what="pip install -r requirements-web.txt",
        )
        yield python


@pytest.fixture(scope="module")
def site(web_python, tmp_path_factory) -> tuple[Path, dict[str, str], Path]:
    """The production profile from the web venv, migrated, its static files collected, seeded."""
    folder = tmp_path_factory.mktemp("web-site")
    env = {
        **_base_env(),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "STATIC_ROOT": str(folder / "static"),
        "MEDIA_ROOT": str(folder / "media"),
        "PRIVATE_MEDIA_ROOT": str(folder / "private"),
        # Set empty, so that a developer's .env cannot bring in a broker, a cache or S3.
        "REDIS_URL": "",
        "CACHE_URL": "",
        "AWS_STORAGE_BUCKET_NAME": "",
    }
    for args in (
        ("check", "--deploy", "--fail-level", "WARNING"),
        ("migrate", "--no-input", "-v0"),
        ("collectstatic", "--no-input", "-v0"),
        ("seed_demo",),
        ("shell", "-v0", "-c", CREATE_CUSTOMER),
    ):
        _run([str(web_python), "manage.py", *args], env=env, timeout=240, what=f"manage.py {args[0]}")
    return web_python, env, folder


def test_the_web_set_installs_none_of_the_worker_packages(web_python):
    probe = (
        "import importlib.util, json; "
        f"print(json.dumps(sorted(m for m in {WORKER_ONLY!r} if importlib.util.find_spec(m))))"
    )
    found = json.loads(_run([str(web_python), "-c", probe], env=_base_env(), timeout=60, what="the probe"))
    installed = _run([str(web_python), "-m", "pip", "list"], env=_base_env(), timeout=60, what="pip list")
    assert found == [], installed
    shown = subprocess.run(
        [str(web_python), "-m", "pip", "show", "torch"],
        env=_base_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode != 0, shown.stdout


def _check_pages(port: int) -> None:
    status, _, body = request(port, "GET", "/")
    assert status == 200, body[:2000]
    assert b"Classic T-shirt" in body and b"</html>" in body

    status, _, body = request(port, "GET", "/api/v1/products/?page_size=50")
    assert status == 200, body[:2000]
    assert PRODUCT in {product["slug"] for product in json.loads(body)["results"]}

    status, _, body = request(port, "GET", f"/products/{PRODUCT}/")
    assert status == 200, body[:2000]
    assert f"/personalize/?product={PRODUCT}".encode() in body

    # The studio for that product: its colours, drawn without torch.
    status, _, body = request(port, "GET", f"/personalize/?product={PRODUCT}")
    assert status == 200, body[:2000]
    assert b"Heather grey" in body and b'name="description"' in body

    status, _, body = request(port, "GET", "/admin/login/")
    assert status == 200, body[:2000]
    assert b'name="username"' in body and b'name="password"' in body


def _submit_generation(port: int) -> dict:
    status, _, body = request(
        port, "POST", "/api/v1/auth/token/", body={"username": "ada", "password": "pw-ada-1"}
    )
    assert status == 200, body[:2000]
    auth = {"Authorization": f"Token {json.loads(body)['token']}"}
    status, headers, body = request(
        port,
        "POST",
        "/api/v1/generations/",
        body={"product": PRODUCT, "base_color": "White", "description": "a lighthouse at dawn"},
        **auth,
    )
    assert status == 202, body[:2000]
    status, _, body = request(port, "GET", urlsplit(headers["location"]).path, **auth)
    assert status == 200, body[:2000]
    return json.loads(body)


def test_gunicorn_from_the_web_venv_serves_the_shop_and_queues_a_generation(site):
    python, env, folder = site
    port = free_port()
    env = {**env, "PORT": str(port), "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "2"}
    log_out, log_err = open(folder / "gunicorn.out", "w+"), open(folder / "gunicorn.err", "w+")  # noqa: SIM115
    server = subprocess.Popen(
        [str(python), "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")],
        cwd=ROOT,
        env=env,
        stdout=log_out,
        stderr=log_err,
    )
    try:
        wait_until_listening(server, port, deadline=time.monotonic() + 90)
        _check_pages(port)
        generation = _submit_generation(port)
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
    errors = (folder / "gunicorn.err").read_text()
    assert returncode == 0, errors[-3000:]
    assert "Traceback" not in errors, errors[-3000:]
    assert generation["status"] == "queued", generation

    # The wake-up for the GPU cluster is in the queue (the ORM broker's table) for a worker to take.
    count = "from django_q.models import OrmQ; print(OrmQ.objects.filter(key='gpu').count())"
    queued = _run(
        [str(python), "manage.py", "shell", "-v0", "-c", count], env=env, timeout=120, what="OrmQ count"
    )
    assert queued.strip() == "1", queued
