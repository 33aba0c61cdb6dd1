"""The demo model: a small pipeline in Stable Diffusion 2.1's layout trained on generated pattern
designs (docs/DEMO_MODEL.md). ``data`` draws the designs and captions, ``tokenizer`` builds its CLIP
BPE tokenizer, ``train`` trains it, ``report`` measures it. This ``__init__`` imports nothing, so the
settings may name ``MODEL_DIR`` without torch."""

from pathlib import Path

# The committed demo model (the "sd21" preset's weights when PERSONALIZATION_MODEL is unset).
MODEL_DIR = Path(__file__).resolve().parent / "model"
