"""The demo model's tokenizer: CLIP's BPE format (vocab.json + merges.txt, the 77-token window, the
start and end tokens), with a vocabulary learned from the design captions and the shop's own words,
so that a known word is one token, as with real SD 2.1, and an unknown one falls back to pieces.

The merges are learned with the ``tokenizers`` library's BPE trainer on the words (CLIP's end-of-word
suffix ``</w>``); the vocabulary starts, as CLIP's does, with the 256 byte symbols, alone and with the
suffix, so that every text can be encoded.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable

from transformers import CLIPTokenizer
from transformers.convert_slow_tokenizer import bytes_to_unicode

# CLIP's pre-tokenization (transformers' CLIPTokenizer.pat, without the start/end tokens).
_WORD_RE = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|[^\s\w]+", re.IGNORECASE)


def words_of(texts: Iterable[str]) -> Counter:
    """Every word of ``texts`` as CLIP splits them (lowercased), counted."""
    counts: Counter = Counter()
    for text in texts:
        counts.update(_WORD_RE.findall(text.lower()))
    return counts


def _byte_word(word: str) -> str:
    byte_encoder = bytes_to_unicode()
    return "".join(byte_encoder[b] for b in word.encode("utf-8"))


def learn_merges(words: Counter) -> list[tuple[str, str]]:
    """BPE merges that make each of ``words`` one token (the ``tokenizers`` trainer)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(end_of_word_suffix="</w>"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    alphabet = list(bytes_to_unicode().values())
    trainer = trainers.BpeTrainer(
        vocab_size=1_000_000,  # no limit: merge until every word is one token
        min_frequency=1,
        show_progress=False,
        initial_alphabet=alphabet,
        end_of_word_suffix="</w>",
        special_tokens=[],
    )
    corpus = [" ".join([_byte_word(word)] * min(count, 50)) for word, count in sorted(words.items())]
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    model = json.loads(tokenizer.to_str())["model"]
    return [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]


def build_demo_tokenizer(texts: Iterable[str]) -> CLIPTokenizer:
    """A CLIPTokenizer whose vocabulary holds every word of ``texts`` as one token."""
    merges = learn_merges(words_of(texts))
    symbols = list(bytes_to_unicode().values())
    vocab: dict[str, int] = {}
    for symbol in symbols + [f"{s}</w>" for s in symbols]:
        vocab.setdefault(symbol, len(vocab))
    for left, right in merges:
        vocab.setdefault(left + right, len(vocab))
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[tuple(m) for m in merges], model_max_length=77)
