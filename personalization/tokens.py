"""Counting CLIP tokens of a prompt, with or without the real tokenizer files.

``estimate_tokens`` is a conservative stand-in for the CLIP BPE tokenizer, used by the web process
(which must start without torch/transformers) and whenever the tokenizer files are absent.
``token_counter_for`` returns an exact counter built with the ``tokenizers`` library (a Rust
extension; importing it does not import torch) when the model directory has the tokenizer files.
Counts never include the start/end tokens: SD 2.1 has 77 positions, 75 usable.
See docs/PROMPTS.md.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)

# CLIP lowercases, then splits into letter runs, single digits and runs of other symbols.
_PIECE_RE = re.compile(r"[^\W\d_]+|\d|[^\w\s]|_")


def estimate_tokens(text: str) -> int:
    """Conservative estimate of the CLIP BPE tokens of ``text`` (without start/end tokens).

    - a run of letters costs ceil(ascii letters / 4), at least 1, plus the UTF-8 byte count of each
      non-ASCII letter (byte-level BPE may need one token per byte for rare characters);
    - every digit costs 1 (CLIP splits numbers into single digits);
    - every punctuation mark or symbol costs 1.
    Whitespace is free. Common English words are one CLIP token each, so this over-counts them.
    """
    total = 0
    for piece in _PIECE_RE.findall(text):
        if piece[0].isalpha():
            ascii_letters = sum(1 for ch in piece if ch.isascii())
            other = sum(len(ch.encode("utf-8")) for ch in piece if not ch.isascii())
            total += max(1, math.ceil(ascii_letters / 4) + other)
        else:
            total += 1
    return total


class BPETokenCounter:
    """Exact counter on a ``tokenizers.Tokenizer``; call it with a text, get the token count."""

    def __init__(self, tokenizer, source: Path) -> None:
        self._tokenizer = tokenizer
        self.source = source

    def __call__(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def __repr__(self) -> str:
        return f"BPETokenCounter({str(self.source)!r})"


def _clip_tokenizer_from_vocab(vocab_path: Path, merges_path: Path):
    """A CLIP tokenizer from vocab.json + merges.txt, as transformers' CLIPConverter builds it."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers.models import BPE

    vocab, merges = BPE.read_file(str(vocab_path), str(merges_path))
    unk = "<|endoftext|>" if "<|endoftext|>" in vocab else None
    tokenizer = Tokenizer(
        BPE(
            vocab=vocab,
            merges=merges,
            continuing_subword_prefix="",
            end_of_word_suffix="</w>",
            fuse_unk=False,
            unk_token=unk,
        )
    )
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
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer


def _tokenizer_dir(model_dir: Path) -> Path | None:
    for candidate in (model_dir / "tokenizer", model_dir):
        if (candidate / "tokenizer.json").is_file() or (
            (candidate / "vocab.json").is_file() and (candidate / "merges.txt").is_file()
        ):
            return candidate
    return None


@functools.lru_cache(maxsize=8)
def _load_counter(tok_dir: Path) -> Callable[[str], int]:
    try:
        from tokenizers import Tokenizer
    except ImportError:
        logger.warning("tokenizers is not installed; estimating CLIP tokens for %s", tok_dir)
        return estimate_tokens
    if (tok_dir / "tokenizer.json").is_file():
        tokenizer = Tokenizer.from_file(str(tok_dir / "tokenizer.json"))
        source = tok_dir / "tokenizer.json"
    else:
        tokenizer = _clip_tokenizer_from_vocab(tok_dir / "vocab.json", tok_dir / "merges.txt")
        source = tok_dir / "vocab.json"
    # A saved tokenizer.json may truncate at 77 or pad; either would hide an over-long prompt.
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return BPETokenCounter(tokenizer, source)


def token_counter_for(model_dir: str | Path | None) -> Callable[[str], int]:
    """The exact CLIP counter of ``model_dir`` (a diffusers pipeline folder or its ``tokenizer/``
    folder) when it holds tokenizer.json or vocab.json + merges.txt; ``estimate_tokens`` otherwise."""
    if model_dir is None:
        return estimate_tokens
    tok_dir = _tokenizer_dir(Path(model_dir).expanduser().resolve())
    if tok_dir is None:
        return estimate_tokens
    return _load_counter(tok_dir)
