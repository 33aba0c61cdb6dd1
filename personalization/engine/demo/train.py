"""Training the demo model: a small pipeline in Stable Diffusion 2.1's layout, trained on the pattern
designs of ``demo.data`` (docs/DEMO_MODEL.md).

Three phases, one resumable checkpoint (``checkpoint.pt`` in the output folder, written every
``checkpoint_seconds`` and at the end of each phase):

1. The VAE (8x, 4 latent channels), on random crops of designs: L1 + MSE reconstruction of the
   posterior's mean and a small KL term. Its group norms hold 8 or more channels each: with fewer, a
   flat colour, constant over the image, is normalised away and the decoder cannot give it back.
2. The UNet (v-prediction, linear projections, upcast attention) and the CLIP text encoder together,
   on VAE latents of a fixed set of designs (encoded once) with a fresh caption at every step,
   the caption dropped 10 % of the time (classifier-free guidance). The noise schedule is SD 2.1's,
   rescaled to zero terminal SNR (Lin et al. 2024, "Common Diffusion Noise Schedules and Sample
   Steps are Flawed"), and sampling starts from the last timestep (trailing spacing): with SD 2.1's
   own schedule a model never sees pure noise in training, and the mean colour of a design, which
   is what flat designs are made of, would come from the starting noise instead of the caption.
3. The decoder alone (``decoder_minutes``), on whole designs from the frozen encoder's latents: the
   latents the UNet learned do not change, and the colours come out closer.

The run's time budget (``minutes``) covers all three; a resumed run spends a new budget on the UNet
and the decoder. The result is written with ``save_pretrained`` and loads through ``engine.loading``
as real weights do.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import (
    AutoencoderKL,
    DDIMScheduler,
    DDPMScheduler,
    StableDiffusionPipeline,
    UNet2DConditionModel,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from ..tiny import sd21_scheduler_config
from . import MODEL_DIR, data
from .tokenizer import build_demo_tokenizer

logger = logging.getLogger(__name__)

DEMO_MODEL_DIR = MODEL_DIR


@dataclass
class TrainConfig:
    size: int = 128  # design size in pixels (latents size / 8)
    minutes: float = 58.0  # the whole run's time budget, all three phases
    # The VAE: more, smaller steps learn faster per second than fewer, larger ones (32 px crops of 16
    # designs against 64 px crops: 4x the steps, lower loss at the same time), and a learning rate
    # of 2e-3 or 1e-3 leaves flat colours noisier than 5e-4 (docs/DEMO_MODEL.md, "Training").
    # 30 % of the budget is enough for the VAE (16,725 steps in 17 minutes for the committed model;
    # 45 % gave the model before 7,485 on a machine half as fast, and its reconstructions kept 92.5 %
    # of the named colours); the rest goes to the UNet, whose loss still falls when it stops.
    vae_share: float = 0.30  # of the budget for the VAE
    vae_batch: int = 16
    vae_crop: int = 32
    vae_lr: float = 5e-4
    decoder_minutes: float = 4.0  # at the end: the decoder alone, on whole designs
    decoder_batch: int = 8
    designs: int = 8000  # the training set, drawn once (both phases)
    batch: int = 32
    lr: float = 6e-4
    warmup_steps: int = 200
    decay_share: float = 0.25  # the last quarter of the UNet's time: its learning rate falls to a tenth
    ema_decay: float = 0.998
    caption_dropout: float = 0.1
    seed: int = 0
    threads: int = 0  # torch threads (0: torch's default)
    device: str = "auto"  # "auto": a CUDA GPU when one is present, else the CPU
    checkpoint_seconds: float = 300.0
    extra_words: list[str] = field(default_factory=list)  # the shop's words, for the tokenizer
    # The studio's frames (data.studio_caption): what the prompt builder adds after the customer's
    # words for each product, base colour, material and style of the catalogue. Half the captions
    # are then whole studio prompts; none: the generic product phrases only.
    frames: list[list[str]] = field(default_factory=list)
    # A trained demo pipeline to go on from (its saved weights, not a checkpoint): the VAE is kept,
    # and the budget goes to more UNet and decoder steps.
    init_from: str = ""


def scheduler_config() -> dict:
    """SD 2.1's scheduler config, rescaled to zero terminal SNR with trailing timesteps."""
    config = {k: v for k, v in sd21_scheduler_config().items() if not k.startswith("_")}
    config.update(rescale_betas_zero_snr=True, timestep_spacing="trailing")
    return config


def build_vae(size: int) -> AutoencoderKL:
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        block_out_channels=(32, 32, 64, 64),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=1,
        norm_num_groups=4,  # 8 to 16 channels per group (see the module docstring)
        sample_size=size,
    )


def build_text_encoder(tokenizer) -> CLIPTextModel:
    return CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=64,
            intermediate_size=256,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=77,
            hidden_act="gelu",
            projection_dim=64,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    )


def build_unet(size: int) -> UNet2DConditionModel:
    return UNet2DConditionModel(
        sample_size=size // 8,
        in_channels=4,
        out_channels=4,
        block_out_channels=(64, 128),
        layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=64,
        attention_head_dim=(4, 8),
        use_linear_projection=True,
        upcast_attention=True,  # as SD 2.1 (768-v)
        norm_num_groups=32,
    )


def _to_tensor(images) -> torch.Tensor:
    array = np.stack([np.asarray(image, dtype=np.float32) for image in images]) / 127.5 - 1.0
    return torch.from_numpy(array).permute(0, 3, 1, 2).contiguous()


class _Clock:
    def __init__(self, seconds: float):
        self.started, self.seconds = time.monotonic(), seconds

    def left(self) -> float:
        return self.seconds - (time.monotonic() - self.started)


def unet_lr(
    base: float, *, steps_done: int, warmup_steps: int, left: float, seconds: float, decay_share: float
) -> float:
    """Warm-up, stable, decay: linear warm-up over ``warmup_steps``, ``base`` after it, then over the
    last ``decay_share`` of the phase's time (``left`` of ``seconds``) a linear fall to a tenth. A
    time budget has no known step count, so the decay follows the clock."""
    warm = min(1.0, (steps_done + 1) / max(1, warmup_steps))
    decay_time = decay_share * seconds
    decay = 1.0 if decay_time <= 0 else max(0.1, min(1.0, left / decay_time))
    return base * min(warm, decay)


def _ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    with torch.no_grad():
        for e, p in zip(ema.parameters(), model.parameters(), strict=True):
            e.mul_(decay).add_(p.detach(), alpha=1 - decay)


class Trainer:
    """One training run into ``out_dir`` (resumed from its checkpoint when there is one)."""

    def __init__(self, out_dir: Path, config: TrainConfig, *, progress: Callable[[str], None] = print):
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.config = config
        self.progress = progress
        self.checkpoint = self.out_dir / "checkpoint.pt"
        self.state: dict = {"phase": "vae", "vae_step": 0, "unet_step": 0, "seconds": 0.0, "log": []}
        if config.threads:
            torch.set_num_threads(config.threads)
        auto = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(auto if config.device == "auto" else config.device)
        torch.manual_seed(config.seed)
        self.tokenizer = self._tokenizer()
        self.vae = build_vae(config.size).to(self.device)
        self.unet = build_unet(config.size).to(self.device)
        self.text_encoder = build_text_encoder(self.tokenizer).to(self.device)
        self.vae_opt = torch.optim.AdamW(self.vae.parameters(), lr=config.vae_lr, weight_decay=0.0)
        params = list(self.unet.parameters()) + list(self.text_encoder.parameters())
        self.opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=1e-4)
        self.ema_unet = copy.deepcopy(self.unet).requires_grad_(False)
        self.ema_text = copy.deepcopy(self.text_encoder).requires_grad_(False)
        self.noise = DDPMScheduler.from_config(scheduler_config())
        if self.checkpoint.exists():
            self._load()
        elif config.init_from:
            self._init_from(Path(config.init_from))

    def _tokenizer(self):
        """The tokenizer the weights were (or will be) trained with. The BPE trainer breaks ties
        between equally frequent pairs in no fixed order, so two processes can number a few word
        pieces differently: a resumed run takes the tokenizer its checkpoint was made with
        (``tokenizer/`` beside it), a run going on from a saved pipeline takes that pipeline's."""
        words = data.vocabulary_words() + list(self.config.extra_words)
        # As __init__ chooses: the checkpoint first, else the pipeline to go on from.
        if self.checkpoint.exists():
            folder = self.out_dir
        else:
            folder = Path(self.config.init_from) if self.config.init_from else None
        if folder is not None and (folder / "tokenizer").is_dir():
            saved = CLIPTokenizer.from_pretrained(folder / "tokenizer")
            fresh = len(build_demo_tokenizer(words))
            if len(saved) != fresh:  # the words changed: the embeddings would not fit
                raise ValueError(f"{folder}'s tokenizer has {len(saved)} tokens, this one {fresh}")
            return saved
        tokenizer = build_demo_tokenizer(words)
        tokenizer.save_pretrained(self.out_dir / "tokenizer")  # beside the checkpoint, for a resume
        return tokenizer

    # --- checkpoint ---------------------------------------------------------------------------
    def _modules(self) -> dict:
        return {
            "vae": self.vae,
            "unet": self.unet,
            "text_encoder": self.text_encoder,
            "vae_opt": self.vae_opt,
            "opt": self.opt,
            "ema_unet": self.ema_unet,
            "ema_text": self.ema_text,
        }

    def _save(self) -> None:
        payload = {name: module.state_dict() for name, module in self._modules().items()}
        payload.update(state=self.state, config=asdict(self.config))
        tmp = self.checkpoint.with_suffix(".tmp")
        torch.save(payload, tmp)
        tmp.replace(self.checkpoint)

    def _load(self) -> None:
        payload = torch.load(self.checkpoint, map_location=self.device, weights_only=False)
        if payload["config"].get("size") != self.config.size:
            raise ValueError(f"{self.checkpoint} was made at {payload['config'].get('size')} px")
        for name, module in self._modules().items():
            module.load_state_dict(payload[name])
        self.state = payload["state"]
        self.progress(
            f"resumed: phase {self.state['phase']}, VAE step {self.state['vae_step']}, "
            f"UNet step {self.state['unet_step']}, {self.state['seconds'] / 60:.1f} min done"
        )

    def _init_from(self, folder: Path) -> None:
        """Start from a saved pipeline: its VAE, UNet and text encoder (the EMA weights it was saved
        with), the training and EMA copies alike, with fresh optimisers and a new warm-up."""
        summary = json.loads((folder / "training.json").read_text())
        if summary.get("size") != self.config.size:
            raise ValueError(f"{folder} was made at {summary.get('size')} px")
        saved = StableDiffusionPipeline.from_pretrained(folder, safety_checker=None)
        for mine, theirs in (
            (self.vae, saved.vae),
            (self.unet, saved.unet),
            (self.ema_unet, saved.unet),
            (self.text_encoder, saved.text_encoder),
            (self.ema_text, saved.text_encoder),
        ):
            mine.load_state_dict(theirs.state_dict())
        steps = summary.get("unet_steps", 0)
        self.state.update(
            phase="unet",
            vae_step=summary.get("vae_steps", 0),
            unet_step=steps,
            warm_from=steps,
            decoder_step=summary.get("decoder_steps", 0),
            log=[tuple(entry) for entry in summary.get("loss_log", [])],
            earlier_minutes=summary.get("minutes", 0.0),
        )
        self.progress(f"going on from {folder}: {steps} UNet steps, {summary.get('minutes')} min before")

    # --- phases -------------------------------------------------------------------------------
    def run(self) -> Path:
        c = self.config
        budget = c.minutes * 60 - self.state["seconds"]
        started = time.monotonic()
        done_before = self.state["seconds"]
        last_save = time.monotonic()

        def tick():
            nonlocal last_save
            self.state["seconds"] = done_before + time.monotonic() - started
            if time.monotonic() - last_save > c.checkpoint_seconds:
                self._save()
                last_save = time.monotonic()

        if self.state["phase"] == "vae":
            vae_seconds = c.minutes * 60 * c.vae_share - self.state["seconds"]
            self._train_vae(_Clock(max(0.0, vae_seconds)), tick)
            self.state["phase"] = "unet"
            self._save()
        latents = self._encode_designs()
        decoder_seconds = min(c.decoder_minutes * 60, max(0.0, budget - (time.monotonic() - started)) / 2)
        left = budget - (time.monotonic() - started) - decoder_seconds
        self._train_unet(latents, _Clock(max(0.0, left)), tick)
        self.state["phase"] = "decoder"
        self._save()
        self._train_decoder(_Clock(max(0.0, budget - (time.monotonic() - started))), tick)
        self.state["phase"] = "done"
        self._save()
        return self.save_pipeline(self.out_dir)

    @property
    def designs(self) -> list:
        """The training designs (the same every run: the same seeds)."""
        if not hasattr(self, "_designs"):
            self._designs = list(data.training_designs(0, self.config.designs, size=self.config.size))
            self.progress(f"drew {len(self._designs)} training designs")
        return self._designs

    def _train_vae(self, clock: _Clock, tick) -> None:
        c = self.config
        rng = random.Random(c.seed * 1_000_003 + self.state["vae_step"])
        pixels = _to_tensor([d.image for d in self.designs]).to(self.device)
        self.vae.train()
        while True:  # at least one step (a resumed run whose phase budget is spent still finishes it)
            crops = []
            for _ in range(c.vae_batch):
                i = rng.randrange(len(pixels))
                x, y = (rng.randrange(0, c.size - c.vae_crop + 1) for _ in range(2))
                crop = pixels[i, :, y : y + c.vae_crop, x : x + c.vae_crop]
                crops.append(crop.flip(-1) if rng.random() < 0.5 else crop)
            batch = torch.stack(crops)
            # The learning rate falls with the phase's time left (to a tenth): fine colours come last.
            for group in self.vae_opt.param_groups:
                group["lr"] = c.vae_lr * max(0.1, clock.left() / max(clock.seconds, 1e-9))
            posterior = self.vae.encode(batch).latent_dist
            # The posterior's mean, not a sample: with a KL term this small the sampling noise only
            # blurs colours early on, and the diffusion model trains on the mean latents anyway.
            recon = self.vae.decode(posterior.mode()).sample
            kl = posterior.kl().mean() / batch[0].numel()
            loss = F.l1_loss(recon, batch) + F.mse_loss(recon, batch) + 1e-4 * kl
            self.vae_opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.vae.parameters(), 1.0)
            self.vae_opt.step()
            self.state["vae_step"] += 1
            step = self.state["vae_step"]
            if step % 25 == 0:
                self.progress(f"VAE step {step}: loss {loss.item():.4f}, {clock.left() / 60:.1f} min left")
                self.state["log"].append(("vae", step, round(loss.item(), 5)))
            tick()
            if clock.left() <= 0:
                break

    def _train_decoder(self, clock: _Clock, tick) -> None:
        """The decoder alone, on whole designs from the frozen encoder's latents (what the UNet was
        trained on): its group norms see a whole design, as when it decodes one."""
        c = self.config
        rng = random.Random(c.seed * 31 + self.state.get("decoder_step", 0))
        params = list(self.vae.decoder.parameters()) + list(self.vae.post_quant_conv.parameters())
        opt = torch.optim.AdamW(params, lr=c.vae_lr / 4, weight_decay=0.0)
        self.vae.train()
        while True:
            chosen = [self.designs[rng.randrange(len(self.designs))] for _ in range(c.decoder_batch)]
            batch = _to_tensor([d.image for d in chosen]).to(self.device)
            with torch.no_grad():
                latents = self.vae.encode(batch).latent_dist.mode()
            recon = self.vae.decode(latents).sample
            loss = F.l1_loss(recon, batch) + F.mse_loss(recon, batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            step = self.state["decoder_step"] = self.state.get("decoder_step", 0) + 1
            if step % 10 == 0:
                self.progress(
                    f"decoder step {step}: loss {loss.item():.4f}, {clock.left() / 60:.1f} min left"
                )
                self.state["log"].append(("decoder", step, round(loss.item(), 5)))
            tick()
            if clock.left() <= 0:
                break
        self.vae.eval()

    @torch.no_grad()
    def _encode_designs(self):
        self.vae.eval()
        layouts, means = [], []
        designs = self.designs
        for start in range(0, len(designs), 64):
            chunk = designs[start : start + 64]
            pixels = _to_tensor([d.image for d in chunk]).to(self.device)
            means.append(self.vae.encode(pixels).latent_dist.mean)
            layouts.extend(d.layout for d in chunk)
        latents = torch.cat(means)
        # The latents' scale (SD's scaling_factor): unit variance for the diffusion model.
        self.state["scaling_factor"] = float(1.0 / latents.std())
        self.vae.register_to_config(scaling_factor=self.state["scaling_factor"])
        self.progress(f"encoded {len(layouts)} designs; scaling factor {self.state['scaling_factor']:.4f}")
        return layouts, latents * self.state["scaling_factor"]

    def _encode_text(self, captions: list[str], encoder) -> torch.Tensor:
        ids = self.tokenizer(
            captions, padding="max_length", max_length=77, truncation=True, return_tensors="pt"
        ).input_ids
        return encoder(ids.to(self.device))[0]

    def _train_unet(self, latents, clock: _Clock, tick) -> None:
        c = self.config
        layouts, z = latents
        rng = random.Random(c.seed * 7 + self.state["unet_step"])
        gen = torch.Generator().manual_seed(c.seed * 13 + self.state["unet_step"])
        frames = [tuple(frame) for frame in c.frames]

        @functools.cache
        def count_tokens(text: str) -> int:  # a phrase's tokens, without the start and end tokens
            return len(self.tokenizer(text).input_ids) - 2

        def caption(i: int) -> str:
            return data.training_caption(layouts[i], rng, frames, count_tokens)

        self.unet.train()
        self.text_encoder.train()
        while True:  # at least one step
            step = self.state["unet_step"]
            lr = unet_lr(
                c.lr,
                steps_done=step - self.state.get("warm_from", 0),
                warmup_steps=c.warmup_steps,
                left=clock.left(),
                seconds=clock.seconds,
                decay_share=c.decay_share,
            )
            for group in self.opt.param_groups:
                group["lr"] = lr
            index = torch.randint(0, len(layouts), (c.batch,), generator=gen)
            x0 = z[index.to(z.device)]
            flip = torch.rand(c.batch, generator=gen) < 0.5  # a mirrored design has the same caption
            x0 = torch.where(flip[:, None, None, None].to(x0.device), x0.flip(-1), x0)
            captions = ["" if rng.random() < c.caption_dropout else caption(i) for i in index.tolist()]
            noise = torch.randn(x0.shape, generator=gen).to(self.device)
            t = torch.randint(0, self.noise.config.num_train_timesteps, (c.batch,), generator=gen).to(
                self.device
            )
            noisy = self.noise.add_noise(x0, noise, t)
            target = self.noise.get_velocity(x0, noise, t)
            hidden = self._encode_text(captions, self.text_encoder)
            pred = self.unet(noisy, t, encoder_hidden_states=hidden).sample
            loss = F.mse_loss(pred, target)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(
                list(self.unet.parameters()) + list(self.text_encoder.parameters()), 1.0
            )
            self.opt.step()
            decay = min(c.ema_decay, (1 + step) / (10 + step))
            _ema_update(self.ema_unet, self.unet, decay)
            _ema_update(self.ema_text, self.text_encoder, decay)
            self.state["unet_step"] = step + 1
            if (step + 1) % 25 == 0:
                self.progress(
                    f"UNet step {step + 1}: loss {loss.item():.4f}, lr {lr:.2e}, "
                    f"{clock.left() / 60:.1f} min left"
                )
                self.state["log"].append(("unet", step + 1, round(loss.item(), 5)))
            tick()
            if clock.left() <= 0:
                break

    def save_pipeline(self, out_dir: Path) -> Path:
        """The EMA weights as a StableDiffusionPipeline (safetensors) in ``out_dir``."""
        if "scaling_factor" not in self.state:
            self._encode_designs()
        self.vae.register_to_config(scaling_factor=self.state["scaling_factor"])
        pipe = StableDiffusionPipeline(
            vae=self.vae.eval(),
            text_encoder=self.ema_text.eval(),
            tokenizer=self.tokenizer,
            unet=self.ema_unet.eval(),
            scheduler=DDIMScheduler.from_config(scheduler_config()),
            safety_checker=None,
            feature_extractor=None,
            requires_safety_checker=False,
        )
        pipe.to("cpu").save_pretrained(out_dir, safe_serialization=True)
        summary = {
            "vae_steps": self.state["vae_step"],
            "decoder_steps": self.state.get("decoder_step", 0),
            "unet_steps": self.state["unet_step"],
            "minutes": round(self.state["seconds"] / 60 + self.state.get("earlier_minutes", 0.0), 1),
            "continued_from_minutes": self.state.get("earlier_minutes", 0.0),
            "size": self.config.size,
            "designs": self.config.designs,
            "batch": self.config.batch,
            "parameters": {
                "unet": sum(p.numel() for p in self.unet.parameters()),
                "vae": sum(p.numel() for p in self.vae.parameters()),
                "text_encoder": sum(p.numel() for p in self.text_encoder.parameters()),
            },
            "vocabulary": len(self.tokenizer),
            "studio_frames": len(self.config.frames),
            "loss_log": self.state["log"][-400:],
        }
        (Path(out_dir) / "training.json").write_text(json.dumps(summary, indent=1))
        return Path(out_dir)


def train(out_dir: Path, config: TrainConfig, *, progress: Callable[[str], None] = print) -> Path:
    return Trainer(out_dir, config, progress=progress).run()
