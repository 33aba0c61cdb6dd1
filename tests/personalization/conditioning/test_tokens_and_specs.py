import subprocess
import sys
from pathlib import Path

import pytest

from personalization.specs import (
    BrandSpec,
    LogoSpec,
    MaterialSpec,
    PaletteColorSpec,
    PrintAreaSpec,
    ProductSpec,
    normalize_category_slug,
)
from personalization.tokens import BPETokenCounter, estimate_tokens, token_counter_for

REPO = Path(__file__).resolve().parents[3]


def test_specs_are_frozen_and_normalised():
    product = ProductSpec("Tee", "t-shirt", "Home_Decor", "Home decor", "Black", "#ABC")
    assert product.category_slug == "home-decor"
    assert product.base_color_hex == "#aabbcc"
    with pytest.raises(AttributeError):
        product.name = "other"  # type: ignore[misc]
    brand = BrandSpec("Acme", style_keywords=["bold"], palette=[PaletteColorSpec("red", "f00", "accent")])
    assert brand.style_keywords == ("bold",) and isinstance(brand.palette, tuple)
    assert hash(brand) == hash(
        BrandSpec("Acme", ("bold",), palette=(PaletteColorSpec("red", "#ff0000", "accent"),))
    )
    assert hash(LogoSpec(None, "center", 0.2, 3)) is not None


@pytest.mark.parametrize(
    "build",
    [
        lambda: PaletteColorSpec("x", "#12345", "primary"),
        lambda: PaletteColorSpec("x", "#123456", "highlight"),
        lambda: MaterialSpec("x", finish="shiny"),
        lambda: MaterialSpec("x", reflectance=1.5),
        lambda: PrintAreaSpec(0, 10, 300),
        lambda: PrintAreaSpec(10, 10, 300, safe_margin_mm=5),
        lambda: LogoSpec(None, "middle"),
        lambda: LogoSpec(None, "center", max_share=0),
        lambda: BrandSpec("x", style_keywords="bold"),
    ],
)
def test_specs_reject_bad_values(build):
    with pytest.raises((ValueError, TypeError)):
        build()


def test_category_slug_normalisation():
    assert normalize_category_slug(" Sports_Equipment ") == "sports-equipment"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("cat", 1),
        ("mountains", 3),  # ceil(9 / 4)
        ("Sunset landscape, mountains", 2 + 3 + 1 + 3),
        ("team 23", 1 + 2),  # CLIP splits numbers into digits
        ("a-b", 3),
        ("café", 1 + 2),  # "caf" + the 2 UTF-8 bytes of "é"
    ],
)
def test_estimate_tokens(text, expected):
    assert estimate_tokens(text) == expected


def test_counter_falls_back_to_the_estimate(tmp_path):
    assert token_counter_for(None) is estimate_tokens
    assert token_counter_for(tmp_path) is estimate_tokens
    # the shipped SD 2.1 configs have tokenizer_config.json but no vocabulary
    assert token_counter_for(REPO / "personalization" / "engine" / "sd21_configs") is estimate_tokens


def test_counter_from_tokenizer_json_counts_without_special_tokens_or_truncation(bpe_model_dir):
    counter = token_counter_for(bpe_model_dir)
    assert isinstance(counter, BPETokenCounter)
    assert counter("sunset landscape with mountains") == 4
    assert counter("") == 0
    long_text = " ".join(["mountains"] * 120)
    assert counter(long_text) == 120  # the saved truncation at 77 is switched off
    assert token_counter_for(str(bpe_model_dir / "tokenizer")) is counter  # cached, folder itself accepted


def test_counter_from_vocab_and_merges(small_bpe_dir):
    counter = token_counter_for(small_bpe_dir)
    assert isinstance(counter, BPETokenCounter)
    assert counter.source.name == "vocab.json"
    assert counter("mug") >= 1
    assert counter("Sunset landscape") > 2  # a small vocabulary splits words into pieces


def test_estimate_is_conservative_against_a_word_level_bpe(bpe_model_dir):
    from .conftest import load_requests

    counter = token_counter_for(bpe_model_dir)
    for request in load_requests():
        text = f"{request['description']}, printed on a {request['base_color']} {request['product_type']}"
        assert estimate_tokens(text) >= counter(text), text


def test_conditioning_modules_do_not_import_torch():
    code = (
        "import sys\n"
        "import personalization.prompting, personalization.policy, personalization.quality\n"
        "import personalization.mockups, personalization.printing, personalization.tokens\n"
        "personalization.tokens.token_counter_for(sys.argv[1])\n"
        "import tokenizers\n"
        "bad = sorted(m for m in ('torch', 'diffusers', 'transformers', 'django') if m in sys.modules)\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(REPO)], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
