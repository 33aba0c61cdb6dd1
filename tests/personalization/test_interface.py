"""``personalization.interface``, the plugin's public face: light to import (a host's models.py
imports it), and every name it promises resolves to the plugin's own object."""

import inspect
import os
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import pytest

from personalization import interface

ROOT = Path(__file__).resolve().parents[2]
HEAVY = (
    "personalization.models",
    "personalization.services",
    "personalization.views",
    "personalization.api",
    "brand_guides.models",
    "brand_guides.admin",
    "PIL",
    "torch",
    "diffusers",
)


def test_importing_the_interface_loads_nothing_heavy():
    code = (
        "import sys\n"
        "import personalization.interface\n"
        f"print(sorted(m for m in sys.modules if m.startswith({HEAVY!r})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_web_process_with_every_interface_name_loads_no_torch():
    """What lint-imports cannot see (the lazy names are imported by name at run time): a web process
    that loads the URLs, the admin and every name of the interface has no torch, diffusers or
    transformers in memory."""
    code = (
        "import sys, django\n"
        "django.setup()\n"
        "import config.urls\n"
        "from personalization import interface\n"
        "[getattr(interface, name) for name in interface.__all__]\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'diffusers', 'transformers')))\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_every_public_name_resolves():
    for name in interface.__all__:
        assert getattr(interface, name) is not None, name


@pytest.mark.parametrize("name", sorted(interface._LAZY))
def test_a_lazy_name_is_the_defining_modules_object(name):
    """Not a copy: a model field class or validator re-exported here keeps its own module path, so
    the host's migrations never change."""
    assert getattr(interface, name) is getattr(import_module(interface._LAZY[name]), name)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'line_design_create'"):
        interface.line_design_create  # noqa: B018


def test_the_wrapper_functions_are_documented():
    names = [n for n in interface.__all__ if n not in interface._LAZY]
    wrappers = [f for f in map(interface.__dict__.get, names) if inspect.isfunction(f)]
    assert wrappers
    undocumented = [f.__name__ for f in wrappers if not f.__doc__]
    assert undocumented == []
