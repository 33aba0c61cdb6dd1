"""The import-linter contracts of pyproject.toml hold on the real tree, and each one fails when a
module breaks it (a probe module added to a copy of one package; the other packages are the real
ones, linked in), so none of them passes vacuously."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("personalization", "brand_guides", "shop", "apikit", "config")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache", "--config", str(ROOT / "pyproject.toml"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_real_tree_keeps_every_contract():
    result = _lint(cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 broken" in result.stdout


# (contract id, package given the probe module, the probe's source, the import the report names)
BREAKS = [
    (
        "host-uses-interface",
        "shop",
        "from personalization.services import generation_request_create  # noqa\n",
        "shop._contract_probe -> personalization.services",
    ),
    (
        "host-uses-interface",
        "shop",
        "from brand_guides.models import Brand  # noqa\n",
        "shop._contract_probe -> brand_guides.models",
    ),
    (
        "host-uses-interface",
        "config",
        "from personalization import views  # noqa\n",
        "config._contract_probe -> personalization.views",
    ),
    ("plugin-knows-no-host", "personalization", "import shop.models  # noqa\n", "shop.models"),
    ("plugin-knows-no-host", "brand_guides", "from config import settings  # noqa\n", "config.settings"),
    ("brand-guides-standalone", "brand_guides", "import personalization.limits  # noqa\n", "personalization"),
    ("apikit-standalone", "apikit", "import brand_guides.models  # noqa\n", "brand_guides.models"),
    ("web-path-torch-free", "apikit", "import torch  # noqa\n", "torch"),
    (
        "web-path-torch-free",
        "shop",
        "def later():\n    from personalization.engine import core  # noqa\n",
        "torch",
    ),
    # Not only torch: nothing that requirements-web.txt leaves out (a web node lacks it).
    ("web-path-torch-free", "brand_guides", "def later():\n    import img2pdf  # noqa\n", "img2pdf"),
]


def _tree_with_probe(tmp_path: Path, package: str, source: str) -> Path:
    """A copy of ``package`` with ``_contract_probe.py`` added; the other packages linked in."""
    for name in PACKAGES:
        if name == package:
            shutil.copytree(
                ROOT / name,
                tmp_path / name,
                ignore=shutil.ignore_patterns("__pycache__", "templates", "static", "*.png", "*.safetensors"),
            )
            (tmp_path / name / "_contract_probe.py").write_text(source)
        else:
            (tmp_path / name).symlink_to(ROOT / name, target_is_directory=True)
    return tmp_path


@pytest.mark.parametrize(
    ("contract", "package", "source", "reported"),
    BREAKS,
    ids=[f"{contract}-{package}-{i}" for i, (contract, package, _, _) in enumerate(BREAKS)],
)
def test_each_contract_fails_when_broken(tmp_path, contract, package, source, reported):
    tree = _tree_with_probe(tmp_path, package, source)
    result = _lint("--contract", contract, cwd=tree)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "1 broken" in output, output
    assert "_contract_probe" in output and reported in output, output


def test_the_probe_tree_itself_passes_without_a_probe(tmp_path):
    """The copy-and-link set-up does not break anything by itself: only the probe does."""
    tree = _tree_with_probe(tmp_path, "shop", "# nothing imported\n")
    result = _lint(cwd=tree)
    assert result.returncode == 0, result.stdout + result.stderr
