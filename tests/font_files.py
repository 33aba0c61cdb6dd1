"""Real font files for the tests: the demo fonts installed from PyPI font packages, and variants of
them made with fontTools (another licence bit, a subset, a collection, a web font, an OpenType CFF
font drawn from rectangles). Nothing on disk but the packages' own TTF files."""

import io
from functools import cache
from pathlib import Path

import font_fredoka_one
import font_lato
from fontTools.fontBuilder import FontBuilder
from fontTools.misc.psCharStrings import T2CharString
from fontTools.subset import Options, Subsetter
from fontTools.ttLib import TTFont
from fontTools.ttLib.ttCollection import TTCollection

from brand_guides.fonts import REQUIRED_CHARACTERS

LATO = Path(font_lato.__file__).parent / "files" / "Lato-Regular.ttf"
FREDOKA_ONE = Path(font_fredoka_one.__file__).parent / "files" / "FredokaOne-Regular.ttf"


@cache
def lato() -> bytes:
    return LATO.read_bytes()


@cache
def fredoka_one() -> bytes:
    return FREDOKA_ONE.read_bytes()


def _save(font) -> bytes:
    buffer = io.BytesIO()
    font.save(buffer)
    return buffer.getvalue()


def with_fs_type(data: bytes, fs_type: int) -> bytes:
    """The font with its OS/2 embedding permission bits set to ``fs_type``."""
    font = TTFont(io.BytesIO(data))
    font["OS/2"].fsType = fs_type
    return _save(font)


def subset(data: bytes, text: str) -> bytes:
    """The font cut down (fontTools.subset) to the glyphs of ``text``."""
    font = TTFont(io.BytesIO(data))
    options = Options()
    options.name_IDs = ["*"]  # keep the family name
    subsetter = Subsetter(options=options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    return _save(font)


def collection(*fonts: bytes) -> bytes:
    """A .ttc font collection holding ``fonts``."""
    ttc = TTCollection()
    ttc.fonts = [TTFont(io.BytesIO(data)) for data in fonts]
    return _save(ttc)


def woff(data: bytes) -> bytes:
    font = TTFont(io.BytesIO(data))
    font.flavor = "woff"
    return _save(font)


def cff_font(chars: str = REQUIRED_CHARACTERS, *, family: str = "Test Blocks", fs_type: int = 0) -> bytes:
    """An OpenType font with CFF outlines (.otf), built with fontBuilder: each character a box."""
    names = [".notdef", *(f"uni{ord(ch):04X}" for ch in chars)]
    builder = FontBuilder(1000, isTTF=False)
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({ord(ch): f"uni{ord(ch):04X}" for ch in chars})
    box = [100, 0, "rmoveto", 400, 0, "rlineto", 0, 700, "rlineto", -400, 0, "rlineto", "endchar"]
    blank = [500, "endchar"]
    charstrings = {name: T2CharString(program=[500, *box] if name != ".notdef" else blank) for name in names}
    builder.setupCFF(family.replace(" ", ""), {"FullName": family}, charstrings, {})
    builder.setupHorizontalMetrics(dict.fromkeys(names, (600, 100)))
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": family, "styleName": "Regular"})
    builder.setupOS2(fsType=fs_type, sTypoAscender=800, usWinAscent=800, usWinDescent=200)
    builder.setupPost()
    return _save(builder.font)
