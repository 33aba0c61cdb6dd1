"""Fixtures of the conditioning tests: plain specs and small real BPE tokenizers (no model files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from personalization import prompting
from personalization.specs import BrandSpec, MaterialSpec, PaletteColorSpec, ProductSpec, StyleSpec

REQUESTS = Path("/work/shared/data/requests.jsonl")

# One representative product per category (the shared request data, with the catalogue's slugs).
CATEGORY_PRODUCTS = {
    "apparel": ("t-shirt", "black", "#111111", "cotton"),
    "accessories": ("mug", "white", "#ffffff", "ceramic"),
    "home-decor": ("cushion", "cream", "#f3ead8", "linen"),
    "electronics-cases": ("phone case", "clear", "#eeeeee", "polycarbonate"),
    "footwear": ("sneakers", "white", "#fafafa", "canvas"),
    "stationery": ("notebook", "kraft", "#c8a878", "recycled paper"),
    "jewelry": ("pendant", "silver", "#c0c0c0", "sterling silver"),
    "sports-equipment": ("water bottle", "matte black", "#222222", "stainless steel"),
    "automotive-accessories": ("car sunshade", "silver", "#bfc4c8", "polyester"),
    "pet-products": ("dog bandana", "red", "#c0392b", "cotton"),
    "kitchen-items": ("apron", "navy", "#1f2a44", "cotton"),
    "garden-accessories": ("garden flag", "white", "#ffffff", "polyester"),
}


def load_requests() -> list[dict]:
    if not REQUESTS.is_file():
        return []
    return [json.loads(line) for line in REQUESTS.read_text().splitlines() if line.strip()]


def product_for(category: str) -> ProductSpec:
    product_type, colour, hex_value, _ = CATEGORY_PRODUCTS[category]
    return ProductSpec(product_type.title(), product_type, category, category.title(), colour, hex_value)


def material_for(category: str, finish: str = "matte") -> MaterialSpec:
    name = CATEGORY_PRODUCTS[category][3]
    return MaterialSpec(name, finish, 0.2, f"{name} texture", (f"fine {name} detail",), ("peeling print",))


@pytest.fixture(autouse=True)
def _media_root():
    """These tests write no media and need no Django settings (they also run with ``-p no:django``)."""
    yield


@pytest.fixture
def brand() -> BrandSpec:
    return BrandSpec(
        name="Acme",
        style_keywords=("clean minimalist", "bold shapes"),
        negative_keywords=("neon colors", "Blurry"),
        palette=(
            PaletteColorSpec("coral", "#ff6f61", "accent"),
            PaletteColorSpec("navy blue", "#1f2a44", "primary"),
            PaletteColorSpec("sand", "#e8d8b0", "background"),
        ),
        banned_terms=("knockoff",),
        trademark_allowlist=("Acme",),
    )


@pytest.fixture
def watercolor() -> StyleSpec:
    return StyleSpec("watercolor", "a soft watercolor painting of {subject}, loose washes", "harsh outlines")


def _corpus() -> list[str]:
    texts = [r["description"] for r in load_requests()]
    texts += [p.noun + " " + p.phrase + " " + p.verb for p in prompting.PRODUCT_PLACEMENTS.values()]
    texts += [p.noun + " " + p.phrase for p in prompting.CATEGORY_DEFAULTS.values()]
    texts += list(prompting.BASE_NEGATIVE) + list(prompting.FINISH_PHRASES.values())
    texts += [prompting.PHOTOGRAPHY_SUFFIX, "color palette coral navy blue sand clean minimalist bold shapes"]
    texts += [
        f"{CATEGORY_PRODUCTS[c][1]} {CATEGORY_PRODUCTS[c][3]} texture fine detail" for c in CATEGORY_PRODUCTS
    ]
    texts += ["neon colors peeling print harsh outlines a soft watercolor painting loose washes style"]
    return texts * 3 + [", ".join(texts[i : i + 4]) + "." for i in range(0, len(texts), 4)]


def train_clip_like_bpe(vocab_size: int):
    """A real byte-level BPE with CLIP's normaliser, pre-tokeniser and ``</w>`` suffix, trained in
    milliseconds on the prompt vocabulary (the real CLIP vocab.json is not shipped here)."""
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers import Regex, normalizers, pre_tokenizers
    from tokenizers.models import BPE
    from tokenizers.trainers import BpeTrainer

    tokenizer = tokenizers.Tokenizer(BPE(end_of_word_suffix="</w>", continuing_subword_prefix=""))
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(
                Regex(r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""),
                behavior="removed",
                invert=True,
            ),
            pre_tokenizers.ByteLevel(add_prefix_space=False),
        ]
    )
    trainer = BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|startoftext|>", "<|endoftext|>"],
        end_of_word_suffix="</w>",
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_corpus(), trainer=trainer)
    return tokenizer


@pytest.fixture(scope="session")
def bpe_model_dir(tmp_path_factory) -> Path:
    """A diffusers-style folder with ``tokenizer/tokenizer.json`` (a well-trained, word-level BPE)."""
    root = tmp_path_factory.mktemp("sd21-bpe")
    (root / "tokenizer").mkdir()
    tokenizer = train_clip_like_bpe(8000)
    tokenizer.enable_truncation(77)  # as a saved pipeline tokenizer may: the counter must undo it
    tokenizer.save(str(root / "tokenizer" / "tokenizer.json"))
    return root


@pytest.fixture(scope="session")
def small_bpe_dir(tmp_path_factory) -> Path:
    """``tokenizer/vocab.json`` + ``merges.txt`` of a small-vocabulary BPE that splits words a lot."""
    root = tmp_path_factory.mktemp("sd21-small-bpe")
    (root / "tokenizer").mkdir()
    train_clip_like_bpe(420).model.save(str(root / "tokenizer"))
    return root
