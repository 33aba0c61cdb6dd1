"""A tiny random-weight pipeline in Stable Diffusion 2.x's layout, per model preset, for tests, the
demo and CPU benchmarks.

It has every component of `stabilityai/stable-diffusion-2-1` (scheduler, linear-projection UNet, 8x
VAE, CLIP text encoder and tokenizer) but only a few thousand weights, so a 64 px image takes a
fraction of a second on a CPU. The pictures are noise; the code paths are real. Per preset
(personalization/presets.py) it carries what tells the real models apart, so the loader treats it as
it treats their weights (TINY_LAYOUTS):

    sd21       v_prediction, UNet sample_size 96 (768 px), upcast attention, SD 2.1's DDIM config
    sd21-base  epsilon, sample_size 64 (512 px), the same config with epsilon prediction
    sd-turbo   epsilon, sample_size 64 (512 px), EulerDiscreteScheduler with trailing timesteps
               (SD-Turbo's own scheduler config)
"""

import json
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    DDIMScheduler,
    EulerDiscreteScheduler,
    StableDiffusionPipeline,
    UNet2DConditionModel,
)
from peft import LoraConfig
from peft.utils import get_peft_model_state_dict
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer
from transformers.convert_slow_tokenizer import bytes_to_unicode

SD21_CONFIGS = Path(__file__).parent / "sd21_configs"

TEXT_WIDTH = 32  # the tiny text encoder's hidden size, and so the UNet's cross-attention dim


def sd21_scheduler_config() -> dict:
    """SD 2.1's scheduler config as published (a v-prediction DDIM config)."""
    return json.loads((SD21_CONFIGS / "scheduler" / "scheduler_config.json").read_text())


def sd_turbo_scheduler_config() -> dict:
    """SD-Turbo's scheduler config: SD 2.1's betas, epsilon prediction, Euler with trailing timestep
    spacing (so a single step starts from the last training timestep, as its model card runs it)."""
    config = {k: v for k, v in sd21_scheduler_config().items() if not k.startswith("_")}
    config.update(
        prediction_type="epsilon",
        timestep_spacing="trailing",
        interpolation_type="linear",
        use_karras_sigmas=False,
    )
    return config


# What each preset's tiny model carries of its real model: the scheduler class and config, the
# UNet's sample_size (native size / 8) and whether its attention upcasts to float32.
TINY_LAYOUTS = {
    "sd21": {
        "scheduler": (DDIMScheduler, sd21_scheduler_config),
        "sample_size": 96,
        "upcast_attention": True,
    },
    "sd21-base": {
        "scheduler": (DDIMScheduler, lambda: {**sd21_scheduler_config(), "prediction_type": "epsilon"}),
        "sample_size": 64,
        "upcast_attention": False,
    },
    "sd-turbo": {
        "scheduler": (EulerDiscreteScheduler, sd_turbo_scheduler_config),
        "sample_size": 64,
        "upcast_attention": False,
    },
}


def build_tiny_tokenizer() -> CLIPTokenizer:
    """A CLIP tokenizer over single bytes: no merges, so every character is one token."""
    symbols = list(bytes_to_unicode().values())
    vocab = {symbol: i for i, symbol in enumerate(symbols)}
    vocab.update({f"{symbol}</w>": len(symbols) + i for i, symbol in enumerate(symbols)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def build_tiny_text_encoder(tokenizer: CLIPTokenizer) -> CLIPTextModel:
    """A 2-layer CLIP text tower, TEXT_WIDTH wide (random weights; seed torch first)."""
    return CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=TEXT_WIDTH,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=77,
            hidden_act="gelu",
            projection_dim=TEXT_WIDTH,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    )


def build_tiny_pipeline(out_dir: Path, *, preset: str = "sd21", seed: int = 0) -> Path:
    """Write a tiny pipeline in the layout of model preset `preset` to `out_dir` with
    `save_pretrained` and return `out_dir`.

    The same seed writes the same weights (whatever the preset: only the configs differ). Load it as
    real weights are loaded, with `engine.loading.load_pipeline(out_dir, preset=preset, ...)`.
    """
    if preset not in TINY_LAYOUTS:
        raise ValueError(f"unknown model preset {preset!r}; use one of {', '.join(TINY_LAYOUTS)}")
    layout = TINY_LAYOUTS[preset]
    out_dir = Path(out_dir)
    tokenizer = build_tiny_tokenizer()

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=layout["sample_size"],
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=1,
        # Attention at the lower resolution only (as diffusers' own tiny test UNets): at 512 px the
        # top level has 4096 tokens, and attention there would dominate the CPU time.
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=TEXT_WIDTH,
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        upcast_attention=layout["upcast_attention"],
        norm_num_groups=32,
    )
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        block_out_channels=(8, 16, 32, 32),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=1,
        norm_num_groups=8,
        sample_size=512,
    )
    text_encoder = build_tiny_text_encoder(tokenizer)
    scheduler_class, scheduler_config = layout["scheduler"]
    scheduler = scheduler_class.from_config(scheduler_config())

    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(out_dir)
    return out_dir


def build_tiny_lora(pipeline_dir: Path, out_file: Path, *, seed: int = 0, rank: int = 4) -> Path:
    """Write a random, clearly non-zero LoRA for the tiny UNet in diffusers' LoRA format.

    `out_file` is the `.safetensors` file to write; load it with `pipe.load_lora_weights(out_file)`.
    """
    out_file = Path(out_file)
    unet = UNet2DConditionModel.from_pretrained(Path(pipeline_dir) / "unet", local_files_only=True)
    config = LoraConfig(
        r=rank,
        lora_alpha=rank,
        init_lora_weights=False,  # random A and B: a LoRA that visibly changes the output
        target_modules=["to_q", "to_k", "to_v", "to_out.0"],
    )
    torch.manual_seed(seed)
    unet.add_adapter(config)
    # Random B is small (kaiming on a rank-wide fan-in); scale it up so the effect is not subtle.
    with torch.no_grad():
        for name, param in unet.named_parameters():
            if "lora_B" in name:
                param.mul_(4.0)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    StableDiffusionPipeline.save_lora_weights(
        save_directory=out_file.parent,
        unet_lora_layers=get_peft_model_state_dict(unet),
        weight_name=out_file.name,
        safe_serialization=True,
    )
    return out_file


def build_tiny_upscaler(out_dir: Path, *, seed: int = 0) -> Path:
    """Write a tiny random-weight `StableDiffusionUpscalePipeline` to `out_dir` and return `out_dir`.

    The layout of `stabilityai/stable-diffusion-x4-upscaler` at toy width (as diffusers' own upscaler
    tests build it): a UNet that takes the 4 latent channels plus the 3 channels of the noised low-res
    image (`in_channels=7`) and gets the noise level as a class label (`num_class_embeds`), cross-only
    attention above the lowest level; a 4x VAE (three levels) with `scaling_factor=0.08333`; a DDPM
    `low_res_scheduler` that noises the input and a v-prediction DDIM scheduler; the tiny CLIP text
    encoder and tokenizer of `build_tiny_pipeline`. The same seed writes the same weights. Load it
    with `StableDiffusionUpscalePipeline.from_pretrained(out_dir, local_files_only=True)`.
    """
    from diffusers import DDPMScheduler, StableDiffusionUpscalePipeline

    out_dir = Path(out_dir)
    tokenizer = build_tiny_tokenizer()

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=64,
        in_channels=7,  # 4 latent channels + the 3-channel low-res image
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        only_cross_attention=(True, False),  # x4: cross-only attention but at the lowest level
        num_class_embeds=1000,  # the noise level (0..max_noise_level) is the class label
        cross_attention_dim=TEXT_WIDTH,
        attention_head_dim=8,
        use_linear_projection=True,
        norm_num_groups=32,
    )
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        block_out_channels=(8, 16, 32),  # three levels: latents are 1/4 of the image, as in the x4 VAE
        down_block_types=("DownEncoderBlock2D",) * 3,
        up_block_types=("UpDecoderBlock2D",) * 3,
        layers_per_block=1,
        norm_num_groups=8,
        sample_size=256,
        scaling_factor=0.08333,
    )
    text_encoder = build_tiny_text_encoder(tokenizer)
    # The x4 upscaler's scheduler configs (scaled_linear betas 0.0001..0.02, 1000 steps; v-prediction).
    betas = {
        "num_train_timesteps": 1000,
        "beta_start": 0.0001,
        "beta_end": 0.02,
        "beta_schedule": "scaled_linear",
    }
    low_res_scheduler = DDPMScheduler(**betas, clip_sample=False)
    scheduler = DDIMScheduler(
        **betas, prediction_type="v_prediction", clip_sample=False, set_alpha_to_one=False, steps_offset=1
    )

    pipe = StableDiffusionUpscalePipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        low_res_scheduler=low_res_scheduler,
        scheduler=scheduler,
        max_noise_level=350,
    )
    pipe.save_pretrained(out_dir)
    return out_dir
