import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

HEX_RE = re.compile(r"^#[0-9A-Fa-f]{6}$")

hex_color_validator = RegexValidator(
    HEX_RE, message="Enter a colour as # followed by six hexadecimal digits, e.g. #1A2B3C."
)


def validate_keyword_text(value: str) -> None:
    if any(ord(ch) < 32 and ch not in "\n\r\t" for ch in value):
        raise ValidationError("Remove control characters from this list.")


def split_terms(value: str) -> list[str]:
    """Comma- or newline-separated text -> a clean list, order kept, duplicates dropped."""
    seen: dict[str, None] = {}
    for part in re.split(r"[,\n]", value or ""):
        term = " ".join(part.split())
        if term and term.casefold() not in {s.casefold() for s in seen}:
            seen[term] = None
    return list(seen)
