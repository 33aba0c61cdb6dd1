"""Content policy for customer text: banned terms, third-party trademarks, protected names (real
people, living artists, characters) and input validation.

Matching is done on ``normalize``d text split into words ("tokens"). A term (itself normalised,
separators removed: "coca-cola" -> "cocacola") matches when it equals one token or the
concatenation of consecutive tokens, optionally with a plural "s"/"es". Every run of consecutive
tokens is tried, wherever it starts and ends, so a word spelled letter by letter is found whatever
stands next to it: "n.u.d.e", "a n u d e figure", "I n-u-d-e", "a N.i.k.e logo". Letters are never
glued to a neighbouring one-letter word before matching ("a n u d e" is the tokens a, n, u, d, e,
and the run n..e is "nude"), which is why the one-letter words "a" and "I" need no special case.
Innocent text is safe because a match must still spell a whole term from token edge to token edge:
"a n e w day" holds "new" and "anew" but no term, and a word that merely contains a term ("class"
for "ass") never matches. Also caught: "ｎｕｄｅ", "nu\u200bde", "nud3", "n u d 3", "star-wars",
"StarWars". Numbers of two or more digits stay numbers ("a 55 inch TV" is not "ass").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

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

# Characters that show as nothing: the Unicode "format" characters (category Cf: soft hyphen,
# zero-width space, non-joiner and joiner, left-to-right and right-to-left marks, bidi controls,
# word joiner, invisible operators, byte-order mark, tag characters...), the combining grapheme
# joiner, Mongolian variation selectors and the Hangul fillers. Removed before matching and from
# stored descriptions (a test checks the ranges still cover every Cf character).
_INVISIBLE_RANGES = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD),
    (0x070F, 0x070F), (0x0890, 0x0891), (0x08E2, 0x08E2), (0x115F, 0x1160), (0x180B, 0x180F),
    (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x2064), (0x2066, 0x206F), (0x3164, 0x3164),
    (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD), (0x110CD, 0x110CD),
    (0x13430, 0x1343F), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
)  # fmt: skip
_INVISIBLE = dict.fromkeys(cp for low, high in _INVISIBLE_RANGES for cp in range(low, high + 1))
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


def _step(text: str, leet: dict[int, str], *, join_spaced: bool) -> str:
    text = text.translate(_INVISIBLE)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = unicodedata.normalize("NFKC", text).translate(_CONFUSABLES).casefold()
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    text = _SYMBOL_RUN.sub(lambda m: m.group().translate(leet), text)
    if join_spaced:
        text = _SPACED.sub(lambda m: _SEPARATORS.sub("", m.group()), text)
    # digits inside words that also hold letters: "n00de", "nud3", "5hit"; "2024" stays a number
    return _WORD.sub(
        lambda m: m.group().translate(leet) if re.search(_LETTER, m.group()) else m.group(), text
    )


def _normalize(text: str, leet: dict[int, str], *, join_spaced: bool = True) -> str:
    for _ in range(8):  # each step only removes or maps characters; it settles in a few rounds
        new = _step(text, leet, join_spaced=join_spaced)
        if new == text:
            break
        text = new
    return text


def normalize(text: str) -> str:
    """Text for matching: NFKC, casefold, no zero-width characters or accents, look-alike letters,
    digits/symbols used as letters mapped back (0->o, 1->i, 3->e, 4->a, 5->s, 7->t, @->a, $->s), and
    spaced-out words joined ("n.u.d.e" -> "nude"). Idempotent.

    This is the readable form (for logs and people); matching works on the same text without the
    joining, so that "a n u d e" is found too (see the module's docstring)."""
    return _normalize(text, _LEET_I)


def _term_key(term: str) -> str:
    return "".join(_WORD.findall(normalize(term)))


@dataclass(frozen=True, slots=True)
class Violation:
    code: str  # "banned_term" | "trademark" | "protected_name"
    message: str  # for the customer ("reject"), or the reason staff read ("review")
    term: str
    field: str = "description"  # the text's label: "description", "negative prompt", a text layer
    outcome: str = "reject"  # "reject": the request is refused; "review": held for a person's look


class NamedRule(Protocol):
    """A protected name: ``brand_guides.models.ProtectedName`` rows, or ``ProtectedName`` below."""

    name: str
    kind: str  # "person" | "artist" | "character"
    outcome: str  # "reject" | "review"


@dataclass(frozen=True, slots=True)
class ProtectedName:
    name: str
    kind: str = "person"
    outcome: str = "reject"


_KIND_PHRASES = {
    "person": ("a real person", "whose name or likeness we can't print without their permission"),
    "artist": ("a living artist", "whose name or style we can't copy without their permission"),
    "character": ("a protected character", "which we can't print"),
}


def _protected_violation(rule: NamedRule, field: str) -> Violation:
    what, why = _KIND_PHRASES.get(rule.kind, _KIND_PHRASES["person"])
    if rule.outcome == "review":
        message = f"The {field} names “{rule.name}” ({what}): a person at the shop checks the design."
    else:
        message = (
            f"Your {field} names “{rule.name}”, {what} {why}. "
            "Leave the name out and describe the design in your own words."
        )
    return Violation("protected_name", message, rule.name, field, rule.outcome)


class PolicyError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_REPEATS = re.compile(r"(.)\1+")


def _squeeze(text: str) -> str:
    return _REPEATS.sub(r"\1", text)


# An apostrophe inside a word ("band's", "McDonald’s") belongs to the word: split there, the "s"
# would join the next word ("band's hit" -> ..., "s", "hit" -> "shit").
_INNER_APOSTROPHE = re.compile(rf"(?<={_LETTER})['’ʼ](?={_LETTER})")


def _tokens(text: str, leet: dict[int, str]) -> list[str]:
    """Words of the normalised text, single letters left apart: "a n.u.d.e" -> a, n, u, d, e."""
    return _WORD.findall(_INNER_APOSTROPHE.sub("", _normalize(text, leet, join_spaced=False)))


def _matches(text: str, keys: dict[str, str], *, stretched: bool = False) -> list[str]:
    """Terms whose key equals a run of consecutive tokens joined (plus "s"/"es"), in text order.

    Every run is tried, so a term spelled letter by letter is found inside a longer run of single
    letters ("a n u d e": the run n, u, d, e). A lone digit counts as the letter it looks like
    after letters ("nud 3") or among single characters ("5 e x"), not before a word ("top 5 ex");
    a number of two or more digits stays a number ("a 55 inch TV").
    With ``stretched``, letters repeated for obfuscation ("nuuude", "sexxx") also match, but only
    for keys without a double letter of their own (so "as" never matches "ass")."""
    if not keys:
        return []
    squeezable = {key: term for key, term in keys.items() if _squeeze(key) == key} if stretched else {}
    longest = max(len(k) for k in keys) + 2
    found: list[str] = []
    for variant in (_LEET_I, _LEET_L):
        words = _tokens(text, variant)
        # A lone digit between single characters is spelled as a letter ("p 0 r n", "5 e x").
        spelled = [
            len(w) == 1 and w.isdigit() and any(len(n) == 1 for n in words[max(0, i - 1) : i + 2 : 2])
            for i, w in enumerate(words)
        ]
        for start in range(len(words)):
            joined = ""
            for i in range(start, len(words)):
                word = words[i]
                if len(word) == 1 and (spelled[i] or re.search(_LETTER, joined)):
                    word = word.translate(variant)  # "nud 3"; but "5 ex" stays five, "a 55" a number
                joined += word
                if len(_squeeze(joined)) > longest:
                    break
                for candidate in (joined, joined.removesuffix("s"), joined.removesuffix("es")):
                    term = keys.get(candidate) or squeezable.get(_squeeze(candidate))
                    if term is not None and term not in found:
                        found.append(term)
    return found


def check_texts(
    texts: Mapping[str, str],
    *,
    banned_terms: Iterable[str],
    trademarks: Iterable[str],
    allowlist: Iterable[str],
    protected_names: Iterable[NamedRule] = (),
) -> list[Violation]:
    """Violations in several named texts (label -> text: "description", "negative prompt", a text
    layer, the text read in a picture), in order; an empty list means all clear.

    ``allowlist`` holds the brand's own marks: a trademark on it passes. Banned terms never pass.
    ``protected_names`` (real people, living artists, characters) are matched like banned terms;
    each violation carries the name's outcome ("reject" or "review"), the others "reject"."""
    allowed = {_term_key(t) for t in allowlist} - {""}
    banned = {key: term for term in banned_terms if (key := _term_key(term))}
    marks = {key: term for term in trademarks if (key := _term_key(term)) and key not in allowed}
    rules: dict[str, NamedRule] = {}
    for rule in protected_names:
        key = _term_key(rule.name)
        # The same name listed twice (e.g. "Banksy" and "banksy"): rejecting wins over review.
        if key and (key not in rules or rule.outcome == "reject"):
            rules[key] = rule
    names = {key: rule.name for key, rule in rules.items()}
    by_name = {rule.name: rule for rule in rules.values()}
    violations: list[Violation] = []
    for field, text in texts.items():
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
        for name in _matches(text, names, stretched=True):
            violations.append(_protected_violation(by_name[name], field))
    return violations


def check_text(
    *,
    description: str,
    negative_prompt: str = "",
    banned_terms: Iterable[str],
    trademarks: Iterable[str],
    allowlist: Iterable[str],
    protected_names: Iterable[NamedRule] = (),
) -> list[Violation]:
    """Violations in the customer's description and negative prompt (empty list: all clear)."""
    return check_texts(
        {"description": description, "negative prompt": negative_prompt},
        banned_terms=banned_terms,
        trademarks=trademarks,
        allowlist=allowlist,
        protected_names=protected_names,
    )


def brand_lists(brand) -> dict:
    """The lists that apply to one brand's products: the global banned terms and trademarks
    (settings, else the built-in lists) plus the brand's banned terms, its trademark allow-list and
    its protected names. Keyword arguments for ``check_texts``."""
    from .conf import conf

    return {
        "banned_terms": [*(conf.BANNED_TERMS or DEFAULT_BANNED_TERMS), *brand.banned_term_list],
        "trademarks": list(conf.TRADEMARKS or DEFAULT_TRADEMARKS),
        "allowlist": brand.trademark_allowlist_list,
        "protected_names": list(brand.protected_names.all()),
    }


def check_for_brand(*, brand, texts: Mapping[str, str]) -> list[Violation]:
    """``check_texts`` with ``brand_lists(brand)``. Use it for every customer text: the description
    and any text layer; the worker applies the same lists to text read in a picture."""
    return check_texts(texts, **brand_lists(brand))


# Control (Cc) characters other than tab/newline/carriage return, and bidirectional overrides that
# can make text display differently from what is printed.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def validate_description(text: str, *, max_length: int = 500) -> str:
    """The description as stored and sent to the model: invisible characters (zero-width spaces and
    joiners, the byte-order mark, soft hyphens, direction marks...) removed and whitespace
    normalised; or ``PolicyError`` telling the customer what to fix."""
    if not isinstance(text, str):
        raise PolicyError("empty_description", "Please describe the design you would like in words.")
    if _CONTROL.search(text):
        raise PolicyError(
            "control_characters",
            "Your description contains hidden control characters. Please retype it as plain text.",
        )
    cleaned = " ".join(text.translate(_INVISIBLE).split())
    if not cleaned:
        raise PolicyError("empty_description", "Please describe the design you would like.")
    if len(cleaned) > max_length:
        raise PolicyError(
            "description_too_long",
            f"Your description is {len(cleaned)} characters long; please shorten it to {max_length} "
            "characters or fewer.",
        )
    return cleaned
