"""`pip install .`: the plugin's three apps build as one wheel with their templates, static files,
migrations and the SD 2.1 configs; the bundled shop, the project settings and the tests stay out."""

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ("personalization", "brand_guides", "apikit")
# Not copied into the build folder: environments, runtime data and the build's own leftovers.
SKIP = {".venv", ".git", "var", "media", "staticfiles", "test-artifacts", "build", "dist", "__pycache__"}

pytestmark = pytest.mark.timeout(120)  # one real build (a few seconds here; more on a cold disk)


def _setuptools_is_recent() -> bool:
    try:
        return int(version("setuptools").split(".")[0]) >= 69
    except (PackageNotFoundError, ValueError):
        return False


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """Built from a copy of the working tree, so the build leaves nothing in the repository."""
    source = tmp_path_factory.mktemp("src") / "repo"
    shutil.copytree(
        ROOT, source, ignore=lambda folder, names: {n for n in names if n in SKIP or n.endswith(".egg-info")}
    )
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-w", str(out), "-q"]
    if _setuptools_is_recent():  # else pip fetches setuptools>=69 into an isolated build env
        command.append("--no-build-isolation")
    done = subprocess.run(command, capture_output=True, text=True, timeout=100)
    assert done.returncode == 0, done.stdout + done.stderr
    (built,) = out.glob("ai_personalization-*.whl")
    with zipfile.ZipFile(built) as archive:
        yield archive


def _source_files(folder: str) -> set[str]:
    return {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def test_the_wheel_holds_the_three_apps_and_nothing_of_the_project(wheel):
    names = wheel.namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {*(app for app in APPS if (ROOT / app).is_dir()), "ai_personalization-0.1.0.dist-info"}
    for outside in ("shop/", "config/", "tests/", "templates/", "static/", "manage.py", "scripts/", "docs/"):
        assert not any(name.startswith(outside) for name in names), outside
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


@pytest.mark.parametrize(
    "folder",
    [
        "personalization/templates",
        "personalization/static",
        "personalization/migrations",
        "personalization/engine/sd21_configs",
        "personalization/management/commands",
        "brand_guides/migrations",
        "apikit/migrations",
    ],
)
def test_every_file_of_the_plugin_folder_is_in_the_wheel(wheel, folder):
    if not (ROOT / folder).is_dir():
        pytest.skip(f"{folder} does not exist in this checkout")
    expected = _source_files(folder)
    assert expected  # the folder is not empty
    assert expected <= set(wheel.namelist()), sorted(expected - set(wheel.namelist()))


def test_the_files_a_host_relies_on_are_in_the_wheel(wheel):
    names = set(wheel.namelist())
    for name in (
        "personalization/templates/personalization/base.html",
        "personalization/templates/personalization/_assets.html",
        "personalization/templates/personalization/studio.html",
        "personalization/static/personalization/htmx.min.js",
        "personalization/static/personalization/studio.js",
        "personalization/static/personalization/studio.css",
        "personalization/migrations/0001_initial.py",
        "personalization/engine/sd21_configs/model_index.json",
        "personalization/engine/sd21_configs/unet/config.json",
        "personalization/apps.py",
        "personalization/interface.py",
        "brand_guides/apps.py",
    ):
        assert name in names, name


def test_the_metadata_names_the_web_dependencies_and_the_worker_extra(wheel):
    metadata = wheel.read("ai_personalization-0.1.0.dist-info/METADATA").decode()
    requires = [
        line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")
    ]
    web = [r for r in requires if "extra ==" not in r]
    worker = [r for r in requires if 'extra == "worker"' in r]
    for name in (
        *("Django", "djangorestframework", "drf-spectacular", "django-htmx", "django-q2", "pillow"),
        *("django-sendfile2", "numpy", "coloraide", "pygal", "fonttools"),
    ):
        assert any(r.startswith(name) for r in web), name
    assert not any(r.startswith(("torch", "diffusers", "transformers")) for r in web)  # never on the web path
    for name in (
        "torch",
        "diffusers",
        "transformers",
        "nudenet",
        "rapidocr",
        "onnxruntime",
        "img2pdf",
        "psutil",
    ):
        assert any(r.startswith(name) for r in worker), name
    assert "Provides-Extra: worker" in metadata


def _name(requirement: str) -> str:
    """A requirement's distribution name, normalised (PEP 503), without version, extras or markers."""
    return re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pinned(path: Path) -> set[str]:
    """The names a requirements file pins, following its `-r` includes."""
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            names |= _pinned(path.parent / line[3:].strip())
        elif line:
            names.add(_name(line))
    return names


def test_the_project_pins_the_plugins_dependencies_on_the_same_side():
    """A web node (requirements-web.txt) has every base dependency of the plugin; a worker machine
    (requirements-worker.txt) every one of the worker extra too; the web file has none of the extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = {_name(r) for r in project["dependencies"]}
    worker = {_name(r) for r in project["optional-dependencies"]["worker"]}
    web_pins, worker_pins = _pinned(ROOT / "requirements-web.txt"), _pinned(ROOT / "requirements-worker.txt")
    assert sorted(base - web_pins) == []
    assert sorted(worker - worker_pins) == []
    assert sorted(worker & web_pins) == []
    assert _pinned(ROOT / "requirements.txt") == worker_pins  # everything, as `make run` installs it
