import pytest
import torch
from diffusers import DPMSolverMultistepScheduler
from diffusers.models.attention_processor import AttnProcessor2_0

from personalization.engine.loading import load_pipeline, resolve_device, resolve_dtype


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert resolve_device("auto").type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error without CUDA")
@pytest.mark.parametrize("name", ["cuda", "cuda:1"])
def test_resolve_device_refuses_cuda_without_cuda(name):
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device(name)


@pytest.mark.parametrize("name", ["gpu", "", "tpu:0", "cuda:x"])
def test_resolve_device_rejects_unknown_names(name):
    with pytest.raises(ValueError):
        resolve_device(name)


def test_resolve_dtype():
    assert resolve_dtype("auto", torch.device("cpu")) == torch.float32
    assert resolve_dtype("auto", torch.device("cuda")) == torch.float16
    assert resolve_dtype("bfloat16", torch.device("cpu")) == torch.bfloat16
    assert resolve_dtype("float16", torch.device("cpu")) == torch.float16
    with pytest.raises(ValueError):
        resolve_dtype("half", torch.device("cpu"))


def test_load_pipeline_uses_dpm_solver_pp_2m_and_keeps_v_prediction(tiny_model):
    pipe = load_pipeline(str(tiny_model), device="cpu", dtype="float32")
    scheduler = pipe.scheduler
    assert isinstance(scheduler, DPMSolverMultistepScheduler)
    assert scheduler.config.algorithm_type == "dpmsolver++"
    assert scheduler.config.solver_order == 2
    assert scheduler.config.prediction_type == "v_prediction"
    processors = [*pipe.unet.attn_processors.values(), *pipe.vae.attn_processors.values()]
    assert processors and all(isinstance(p, AttnProcessor2_0) for p in processors)
    assert pipe.safety_checker is None
    assert pipe._progress_bar_config == {"disable": True}
    assert pipe.device == torch.device("cpu") and pipe.unet.dtype == torch.float32


def test_load_pipeline_in_bfloat16(tiny_model):
    pipe = load_pipeline(str(tiny_model), device=torch.device("cpu"), dtype=torch.bfloat16)
    assert pipe.unet.dtype == pipe.vae.dtype == pipe.text_encoder.dtype == torch.bfloat16
