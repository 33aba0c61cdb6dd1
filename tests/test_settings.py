"""Settings: production values pass `check --deploy`, every variable is documented, DEBUG is off
unless asked for, and the web process starts without torch or diffusers."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_FILE = ROOT / "config" / "settings.py"
ENV_EXAMPLE = ROOT / ".env.example"


def _env(**overrides) -> dict[str, str]:
    """The test process's environment without the knobs that would turn production defaults off."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS"}
    }
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env.update(overrides)
    return env


def _production_env(**overrides) -> dict[str, str]:
    values = {"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(64), "ALLOWED_HOSTS": "shop.example.com"}
    return _env(**{**values, **overrides})


def _run(args: list[str], env: dict[str, str], timeout: int = 180) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def test_tests_run_with_debug_off():
    assert settings.DEBUG is False


def test_env_example_documents_every_variable_settings_reads():
    names = set(re.findall(r"""env(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]*)["']""", SETTINGS_FILE.read_text()))
    assert {"SECRET_KEY", "DEBUG", "DATABASE_URL", "REDIS_URL", "PERSONALIZATION_MODEL"} <= names
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), flags=re.MULTILINE))
    assert sorted(names - documented) == []


def test_debug_defaults_off_and_secret_key_is_required():
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    result = _run([sys.executable, "-c", code], _env(SECRET_KEY=secrets.token_urlsafe(64)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"

    env = _env(DEBUG="0")
    env.pop("SECRET_KEY", None)
    if (ROOT / ".env").exists() and "SECRET_KEY" in (ROOT / ".env").read_text():
        pytest.skip("a local .env provides SECRET_KEY")
    result = _run([sys.executable, "-c", code], env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_check_deploy_is_clean_with_production_values():
    result = _run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], _production_env()
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_does_fail_with_debug_on():
    """The check above is not vacuous: DEBUG=1 trips security.W018."""
    result = _run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        _production_env(DEBUG="1"),
    )
    assert result.returncode != 0
    assert "W018" in result.stdout + result.stderr


WEB_PROCESS = r"""
import importlib, json, pkgutil, sys
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from config.urls import urlpatterns  # noqa: F401
import config.wsgi  # noqa: F401

loaded = []
for app in ("shop", "brand_guides", "personalization"):
    for name in ("urls", "views", "admin", "forms", "selectors", "services", "api"):
        module_name = f"{app}.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # the app has no such module
            raise
        loaded.append(module_name)
        if hasattr(module, "__path__"):  # a package (api/): load all of it
            for info in pkgutil.walk_packages(module.__path__, prefix=module_name + "."):
                importlib.import_module(info.name)
                loaded.append(info.name)

from django.test import Client, override_settings

plain_static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
from django.conf import settings
with override_settings(STORAGES={**settings.STORAGES, "staticfiles": plain_static}):
    client = Client()
    home = client.get("/", secure=True)
    login = client.get("/admin/login/", secure=True)
print(json.dumps({
    "loaded": loaded,
    "home": home.status_code,
    "login": login.status_code,
    "heavy": sorted(m for m in ("torch", "diffusers", "transformers", "accelerate") if m in sys.modules),
}))
"""


def test_web_process_does_not_import_torch_or_diffusers(tmp_path):
    env = _production_env(
        ALLOWED_HOSTS="testserver",
        DATABASE_URL=f"sqlite:///{tmp_path / 'web.sqlite3'}",
        MEDIA_ROOT=str(tmp_path / "media"),
    )
    result = _run([sys.executable, "-c", WEB_PROCESS], env, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert {
        "shop.urls",
        "shop.admin",
        "brand_guides.admin",
        "personalization.admin",
        "personalization.urls",
    } <= set(report["loaded"])
    assert report["login"] == 200
    assert report["home"] in (200, 302)
    assert "torch" not in report["heavy"] and "diffusers" not in report["heavy"], report["heavy"]


def test_the_gpu_worker_supervisor_checks_its_settings_without_torch(tmp_path):
    """run_gpu_worker checks the engine settings before it starts anything; only its worker processes
    import torch (CUDA must not be initialised in a parent that starts workers)."""
    code = (
        "import json, sys, django; django.setup()\n"
        "from personalization.management.commands import run_gpu_worker\n"
        "from personalization.worker import check_settings\n"
        "check_settings()\n"
        "print(json.dumps(sorted(m for m in ('torch', 'diffusers') if m in sys.modules)))"
    )
    env = _env(SECRET_KEY=secrets.token_urlsafe(64), DATABASE_URL=f"sqlite:///{tmp_path / 'w.sqlite3'}")
    result = _run([sys.executable, "-c", code], env)
    assert result.returncode == 0, result.stderr[-4000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


@pytest.mark.parametrize(
    ("model", "default_size"),
    [("", 128), ("stabilityai/stable-diffusion-2-1", 768)],
    ids=["trained demo model: its 128 px", "real weights: native 768 px"],
)
def test_the_demo_model_defaults_to_its_size_and_real_weights_to_their_native_size(model, default_size):
    """The trained demo model works at 128 px (docs/DEMO_MODEL.md); without it, the random-weight
    one defaults to 512 px (tests/personalization/test_demo_presets.py checks which is in use)."""
    code = (
        "import django; django.setup(); from personalization import presets; "
        "print(presets.get('sd21').default_size, presets.get('sd21').sizes)"
    )
    result = _run(
        [sys.executable, "-c", code], _env(SECRET_KEY=secrets.token_urlsafe(64), PERSONALIZATION_MODEL=model)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == str(default_size)
