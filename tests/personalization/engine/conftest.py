"""Engine tests: plain pytest, no database, no Django settings (run them with `-p no:django`).

One tiny SD 2.1-layout pipeline (random weights, see personalization/engine/tiny.py) and one LoRA are
built per session; one CPU float32 Engine on them is shared by the tests.
"""

import pytest

from personalization.engine.core import Engine
from personalization.engine.tiny import build_tiny_lora, build_tiny_pipeline


@pytest.fixture(autouse=True)
def _media_root():
    """Overrides tests/conftest.py's `_media_root`, which needs Django's `settings`: no media here."""
    yield


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    return build_tiny_pipeline(tmp_path_factory.mktemp("tiny_sd21") / "pipeline")


@pytest.fixture(scope="session")
def tiny_lora(tiny_model, tmp_path_factory):
    return build_tiny_lora(tiny_model, tmp_path_factory.mktemp("lora") / "brand.safetensors")


@pytest.fixture(scope="session")
def engine(tiny_model):
    return Engine(str(tiny_model), device="cpu", dtype="float32")
