"""Brand fonts: TTF/OTF uploads read and checked with fontTools, and opened once with Pillow's
FreeType (which sets the text on products). No torch.

A shop owner uploads a font per typography role; customers' text on products is set in it, and
the font file is embedded in what prints. ``validate_font_file`` refuses, each with its own message:
a file that is not a font (another format, random bytes, a truncated or damaged font), a font
collection (.ttc) or a web font (WOFF), a font whose licence forbids embedding it (OS/2 ``fsType``),
and a font that cannot draw the characters customers' text needs (``REQUIRED_CHARACTERS``).

    facts = inspect_font(data)   # FontFacts(family="Lato", style="Regular", format="TTF", ...)
    missing_characters(data, "Zoë & Max")  # "" when the font draws every character
"""

from __future__ import annotations

import io
import string
from dataclasses import dataclass
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator
from fontTools.ttLib import TTFont
from PIL import ImageFont

FONT_EXTENSIONS = ("ttf", "otf")
FONT_MAX_BYTES = 10 * 1024 * 1024  # a single font is tens to hundreds of KB; CJK fonts a few MB
# What customers' text on products needs at the least: names, dates, short messages.
REQUIRED_CHARACTERS = string.ascii_uppercase + string.ascii_lowercase + string.digits + " .,'-&!?:/#"

NOT_A_FONT = "This file is not a TrueType or OpenType font."
COLLECTION = "This is a font collection (.ttc): upload one of its fonts as a .ttf or .otf file."
WEB_FONT = "This is a web font (WOFF): upload the font's .ttf or .otf file."
TOO_LARGE = "This file is larger than 10 MB: that is not a single font."
RESTRICTED = (
    "This font's licence forbids embedding it in documents (OS/2 fsType: restricted licence "
    "embedding), so it cannot be printed on products. Upload a font whose licence allows embedding "
    "(e.g. an SIL Open Font License font)."
)
BITMAP_ONLY = (
    "This font's licence allows embedding its bitmaps only (OS/2 fsType: bitmap embedding only), "
    "so its outlines cannot be printed. Upload a font whose licence allows embedding."
)

# OS/2 fsType bits (OpenType spec): embedding permissions.
FS_RESTRICTED = 0x0002
FS_PREVIEW_PRINT = 0x0004
FS_EDITABLE = 0x0008
FS_BITMAP_ONLY = 0x0200

_SFNT_TAGS = {b"\x00\x01\x00\x00": "TTF", b"true": "TTF", b"OTTO": "OTF"}
_REQUIRED_TABLES = ("cmap", "head", "hhea", "hmtx", "maxp", "name", "OS/2")

font_extension_validator = FileExtensionValidator(
    FONT_EXTENSIONS, message="Upload the font as a .ttf or .otf file (this one ends in “.%(extension)s”)."
)


class FontError(ValueError):
    """A file that cannot be used as a brand font; ``message`` is for the person who uploaded it."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True, slots=True)
class FontFacts:
    """What a font file says about itself.

    ``missing``: the characters of ``REQUIRED_CHARACTERS`` it cannot draw ("" when none);
    ``fs_type``: its OS/2 embedding permission bits; ``embeddable``: whether they allow printing it."""

    family: str
    style: str
    format: str  # "TTF" (TrueType outlines) or "OTF" (CFF outlines)
    glyph_count: int
    missing: str
    fs_type: int
    embeddable: bool

    @property
    def label(self) -> str:
        """One line for people: "Lato Regular (TTF, 275 glyphs)"."""
        return f"{self.family} {self.style} ({self.format}, {self.glyph_count} glyphs)".strip()


def embeddable(fs_type: int) -> bool:
    """Whether OS/2 ``fsType`` allows embedding the font's outlines in a print file: not
    "restricted licence" (unless print & preview or editable embedding is also allowed, as old
    fonts set several bits), not "bitmap embedding only"."""
    restricted = fs_type & FS_RESTRICTED and not fs_type & (FS_PREVIEW_PRINT | FS_EDITABLE)
    return not restricted and not fs_type & FS_BITMAP_ONLY


def _open(data: bytes) -> tuple[TTFont, str]:
    """The font parsed from ``data`` with its format, or ``FontError``."""
    head = data[:4]
    if head == b"ttcf":
        raise FontError(COLLECTION, "font_collection")
    if head in (b"wOFF", b"wOF2"):
        raise FontError(WEB_FONT, "font_web")
    fmt = _SFNT_TAGS.get(head)
    if fmt is None or len(data) < 12:
        raise FontError(NOT_A_FONT, "font_format")
    try:
        font = TTFont(io.BytesIO(data), lazy=True, recalcBBoxes=False, recalcTimestamp=False)
        # A truncated upload: a table directory that points past the end of the file.
        for entry in font.reader.tables.values():
            if entry.offset + entry.length > len(data):
                raise FontError(NOT_A_FONT, "font_format")
        outlines = "CFF " if fmt == "OTF" else "glyf"
        for tag in (*_REQUIRED_TABLES, outlines):
            if tag not in font and not (tag == "CFF " and "CFF2" in font):
                raise FontError(NOT_A_FONT, "font_format")
            font[tag if tag in font else "CFF2"]  # noqa: B018  (decompiles the table: damaged -> error)
    except FontError:
        raise
    except Exception:  # fontTools raises many kinds (struct.error, TTLibError, ...) on damaged data
        raise FontError(NOT_A_FONT, "font_format") from None
    return font, fmt


def _names(font: TTFont) -> tuple[str, str]:
    name = font["name"]
    family = name.getBestFamilyName() or ""
    style = name.getBestSubFamilyName() or ""
    return " ".join(family.split()), " ".join(style.split())


@lru_cache(maxsize=8)
def _codepoints(data: bytes) -> frozenset[int]:
    font, _ = _open(data)
    try:
        return frozenset(font.getBestCmap() or {})
    except Exception:
        raise FontError(NOT_A_FONT, "font_format") from None


def missing_characters(data: bytes, text: str) -> str:
    """The distinct characters of ``text`` that the font cannot draw, in order ("" when none).
    Spaces count: a font without a space glyph cannot set "Ada Lovelace"."""
    covered = _codepoints(data)
    return "".join(dict.fromkeys(ch for ch in text if ord(ch) not in covered))


@lru_cache(maxsize=8)
def inspect_font(data: bytes) -> FontFacts:
    """Facts of a TTF/OTF font, or ``FontError`` for a file that is not one (another format, a
    collection, a web font, truncated or damaged)."""
    font, fmt = _open(data)
    try:
        family, style = _names(font)
        glyph_count = len(font.getGlyphOrder())
        fs_type = int(font["OS/2"].fsType)
    except Exception:
        raise FontError(NOT_A_FONT, "font_format") from None
    if not family or glyph_count < 2:
        raise FontError(NOT_A_FONT, "font_format")
    return FontFacts(
        family=family,
        style=style,
        format=fmt,
        glyph_count=glyph_count,
        missing=missing_characters(data, REQUIRED_CHARACTERS),
        fs_type=fs_type,
        embeddable=embeddable(fs_type),
    )


def describe_missing(missing: str) -> str:
    """``"Q&"`` -> ``"Q, &"``; the space is named."""
    return ", ".join("space" if ch == " " else ch for ch in missing)


def read_bytes(file) -> bytes:
    """The whole content of an upload or of a stored file (a committed ``FieldFile``, opened and
    closed here), leaving an open upload where it was."""
    if getattr(file, "_committed", False) and getattr(file, "name", ""):
        with file.open("rb") as fh:
            return fh.read()
    source = getattr(file, "file", None) or file
    position = source.tell() if hasattr(source, "tell") else None
    try:
        source.seek(0)
        data = source.read()
    finally:
        if position is not None:
            source.seek(position)
    return data if isinstance(data, bytes) else bytes(data)


def font_problem(data: bytes) -> tuple[str, str] | None:
    """``(message, code)`` of why these bytes cannot be a brand font, or None when they can."""
    try:
        facts = inspect_font(data)
    except FontError as exc:
        return exc.message, exc.code
    if not facts.embeddable:
        restricted = facts.fs_type & FS_RESTRICTED and not facts.fs_type & (FS_PREVIEW_PRINT | FS_EDITABLE)
        return (RESTRICTED, "font_embedding") if restricted else (BITMAP_ONLY, "font_embedding")
    try:  # the artwork sets text with Pillow's FreeType: it must open the font too
        ImageFont.truetype(io.BytesIO(data), 24)
    except (OSError, ValueError):
        return NOT_A_FONT, "font_format"
    if facts.missing:
        return (
            "This font cannot draw characters that text on products needs: "
            f"{describe_missing(facts.missing)}. Upload a font that covers A-Z, a-z, 0-9, the space "
            "and . , ' - & ! ? : / #.",
            "font_coverage",
        )
    return None


def validate_font_file(file) -> None:
    """Validator of a brand font upload: a .ttf or .otf file of at most 10 MB that fontTools reads
    as one TrueType or OpenType font, whose licence allows embedding and which covers
    ``REQUIRED_CHARACTERS``. One message at a time, for the first problem found."""
    if getattr(file, "_committed", False):
        return  # a stored file (FieldFile) was checked when it was uploaded: no storage read per save
    font_extension_validator(file)
    size = getattr(file, "size", None)
    if size is not None and size > FONT_MAX_BYTES:
        raise ValidationError(TOO_LARGE, code="font_size")
    data = read_bytes(file)
    if len(data) > FONT_MAX_BYTES:
        raise ValidationError(TOO_LARGE, code="font_size")
    if problem := font_problem(data):
        raise ValidationError(problem[0], code=problem[1])
