"""Content policy for customer text: banned terms, third-party trademarks, and input validation.

Matching is done on ``normalize``d text split into words. A term (itself normalised, separators
removed: "coca-cola" -> "cocacola") matches when it equals one word or the concatenation of
consecutive words, optionally with a plural "s"/"es". That catches "Nike", "n.u.d.e", "n u d e",
"n-u-d-e", "ｎｕｄｅ", "nu\u200bde", "nud3", "star-wars" and "StarWars", while a word that merely
contains a term ("class" for "ass") never matches: matches always start and end on word edges.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

DEFAULT_BANNED_TERMS = (
    "nude",
    "naked",
    "nsfw",
    "porn",
    "pornographic",
    "hentai",
    "sex",
    "sexy",
    "gore",
    "beheading",
    "nazi",
    "swastika",
    "hitler",
    "kkk",
    "white power",
    "terrorist",
    "rape",
    "fuck",
    "shit",
    "cunt",
)

DEFAULT_TRADEMARKS = (
    "Nike",
    "Just Do It",
    "Adidas",
    "Reebok",
    "Under Armour",
    "Gucci",
    "Louis Vuitton",
    "Chanel",
    "Disney",
    "Mickey Mouse",
    "Minnie Mouse",
    "Donald Duck",
    "Pixar",
    "Marvel",
    "Spider-Man",
    "Iron Man",
    "Avengers",
    "Batman",
    "Superman",
    "DC Comics",
    "Star Wars",
    "Darth Vader",
    "Baby Yoda",
    "Pokemon",
    "Pikachu",
    "Nintendo",
    "Super Mario",
    "Hello Kitty",
    "Sanrio",
    "Barbie",
    "Lego",
    "Harry Potter",
    "Hogwarts",
    "Coca-Cola",
    "Pepsi",
    "Starbucks",
    "McDonald's",
    "iPhone",
    "Ferrari",
    "Lamborghini",
    "Porsche",
    "NFL",
    "NBA",
    "FIFA",
    "Snoopy",
    "SpongeBob",
    "Simpsons",
)

_INVISIBLE = dict.fromkeys(
    [0x00AD, 0x034F, 0x180E, 0x200B, 0x200C, 0x200D, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xFEFF]
)
# Letters that look Latin in other scripts (Cyrillic, Greek, IPA); NFKC leaves them alone.
_CONFUSABLES = str.maketrans(
    {
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
        "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
        "ԛ": "q", "ԝ": "w", "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
        "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ɡ": "g", "ı": "i",
    }
)  # fmt: skip
_LEET_I = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_LEET_L = str.maketrans({"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_LETTER = r"[^\W\d_]"
# @ and $ become letters when they touch a letter ("@ss", "$hit"), not in "$5" or "me @ home".
_SYMBOL_RUN = re.compile(rf"(?<={_LETTER})[@$]+|[@$]+(?={_LETTER})")
# A run of 3+ single characters split by one separator each: "n.u.d.e", "n u d e", "n-u-d-e".
_SPACED = re.compile(r"(?<![^\W_])[^\W_](?:[\s.\-_*·•/|+~'](?![^\W_]{2})[^\W_]){2,}(?![^\W_])")
_WORD = re.compile(r"[^\W_]+")
_SEPARATORS = re.compile(r"[\s.\-_*·•/|+~']")


def _step(text: str, leet: dict[int, str]) -> str:
    text = text.translate(_INVISIBLE)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = unicodedata.normalize("NFKC", text).translate(_CONFUSABLES).casefold()
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    text = _SYMBOL_RUN.sub(lambda m: m.group().translate(leet), text)
    text = _SPACED.sub(lambda m: _SEPARATORS.sub("", m.group()), text)
    # digits inside words that also hold letters: "n00de", "nud3", "5hit"; "2024" stays a number
    return _WORD.sub(
        lambda m: m.group().translate(leet) if re.search(_LETTER, m.group()) else m.group(), text
    )


def _normalize(text: str, leet: dict[int, str]) -> str:
    for _ in range(8):  # each step only removes or maps characters; it settles in a few rounds
        new = _step(text, leet)
        if new == text:
            break
        text = new
    return text


def normalize(text: str) -> str:
    """Text for matching: NFKC, casefold, no zero-width characters or accents, look-alike letters,
    digits/symbols used as letters mapped back (0->o, 1->i, 3->e, 4->a, 5->s, 7->t, @->a, $->s), and
    spaced-out words joined ("n.u.d.e" -> "nude"). Idempotent."""
    return _normalize(text, _LEET_I)


def _term_key(term: str) -> str:
    return "".join(_WORD.findall(normalize(term)))


@dataclass(frozen=True, slots=True)
class Violation:
    code: str  # "banned_term" | "trademark"
    message: str
    term: str
    field: str = "description"  # "description" | "negative prompt"


class PolicyError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_REPEATS = re.compile(r"(.)\1+")


def _squeeze(text: str) -> str:
    return _REPEATS.sub(r"\1", text)


def _matches(text: str, keys: dict[str, str], *, stretched: bool = False) -> list[str]:
    """Terms whose key equals one word or consecutive words joined (plus "s"/"es"), in text order.

    With ``stretched``, letters repeated for obfuscation ("nuuude", "sexxx") also match, but only
    for keys without a double letter of their own (so "as" never matches "ass")."""
    if not keys:
        return []
    squeezable = {key: term for key, term in keys.items() if _squeeze(key) == key} if stretched else {}
    longest = max(len(k) for k in keys) + 2
    found: list[str] = []
    for variant in (_LEET_I, _LEET_L):
        words = _WORD.findall(_normalize(text, variant))
        for start in range(len(words)):
            joined = ""
            for word in words[start:]:
                joined += word.translate(variant) if re.search(_LETTER, joined + word) else word
                if len(_squeeze(joined)) > longest:
                    break
                for candidate in (joined, joined.removesuffix("s"), joined.removesuffix("es")):
                    term = keys.get(candidate) or squeezable.get(_squeeze(candidate))
                    if term is not None and term not in found:
                        found.append(term)
    return found


def check_text(
    *,
    description: str,
    negative_prompt: str = "",
    banned_terms: Iterable[str],
    trademarks: Iterable[str],
    allowlist: Iterable[str],
) -> list[Violation]:
    """Violations in the customer's description and negative prompt (empty list: all clear).

    ``allowlist`` holds the brand's own marks: a trademark on it passes. Banned terms never pass."""
    allowed = {_term_key(t) for t in allowlist} - {""}
    banned = {key: term for term in banned_terms if (key := _term_key(term))}
    marks = {key: term for term in trademarks if (key := _term_key(term)) and key not in allowed}
    violations: list[Violation] = []
    for field, text in (("description", description), ("negative prompt", negative_prompt)):
        if not text:
            continue
        for term in _matches(text, banned, stretched=True):
            violations.append(
                Violation(
                    "banned_term",
                    f"Your {field} contains “{term}”, which we can't print. "
                    "Please remove it and describe your design differently.",
                    term,
                    field,
                )
            )
        for term in _matches(text, marks):
            violations.append(
                Violation(
                    "trademark",
                    f"Your {field} mentions “{term}”, a trademark we can't print. "
                    "Describe the design without brand names.",
                    term,
                    field,
                )
            )
    return violations


# Control (Cc) characters other than tab/newline/carriage return, and bidirectional overrides that
# can make text display differently from what is printed.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def validate_description(text: str, *, max_length: int = 500) -> str:
    """The description with whitespace normalised, or ``PolicyError`` telling the customer what to fix."""
    if _CONTROL.search(text):
        raise PolicyError(
            "control_characters",
            "Your description contains hidden control characters. Please retype it as plain text.",
        )
    cleaned = " ".join(text.split())
    if not cleaned:
        raise PolicyError("empty_description", "Please describe the design you would like.")
    if len(cleaned) > max_length:
        raise PolicyError(
            "description_too_long",
            f"Your description is {len(cleaned)} characters long; please shorten it to {max_length} "
            "characters or fewer.",
        )
    return cleaned
