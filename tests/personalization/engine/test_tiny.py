import hashlib

import torch
from diffusers import DDIMScheduler, StableDiffusionPipeline
from safetensors.torch import load_file
from tokenizers import Tokenizer

from personalization.engine.tiny import build_tiny_pipeline


def test_tiny_pipeline_loads_with_from_pretrained_in_sd21_layout(tiny_model):
    pipe = StableDiffusionPipeline.from_pretrained(tiny_model, local_files_only=True)
    assert isinstance(pipe.scheduler, DDIMScheduler)
    assert pipe.scheduler.config.prediction_type == "v_prediction"
    assert pipe.vae_scale_factor == 8
    assert pipe.unet.config.use_linear_projection and pipe.unet.config.upcast_attention
    assert pipe.unet.config.cross_attention_dim == pipe.text_encoder.config.hidden_size
    assert pipe.safety_checker is None
    assert pipe.tokenizer.model_max_length == 77


def test_tokenizer_json_counts_tokens_without_torch_code(tiny_model):
    tokenizer = Tokenizer.from_file(str(tiny_model / "tokenizer" / "tokenizer.json"))
    ids = tokenizer.encode("a red mug").ids
    assert len(ids) == len("a red mug") - 2 + 2  # one token per non-space byte, plus start and end


def test_same_seed_writes_the_same_weights(tiny_model, tmp_path):
    def digest(directory):
        return hashlib.sha256(
            (directory / "unet" / "diffusion_pytorch_model.safetensors").read_bytes()
        ).digest()

    assert digest(build_tiny_pipeline(tmp_path / "again", seed=0)) == digest(tiny_model)
    assert digest(build_tiny_pipeline(tmp_path / "other", seed=1)) != digest(tiny_model)


def test_tiny_lora_is_in_diffusers_format_and_non_zero(tiny_lora):
    weights = load_file(tiny_lora)
    assert weights and all(key.startswith("unet.") for key in weights)
    up = [tensor for key, tensor in weights.items() if "lora_B" in key or "lora.up" in key]
    assert up and all(torch.count_nonzero(tensor) > 0 for tensor in up)
