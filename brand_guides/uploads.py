"""Image uploads: PNG, JPEG and WebP only, recognised by their content.

Pillow's ``Image.open`` without ``formats`` asks each of its ~40 format plugins in turn whether it
can read a file; some parse complex formats (PSD, TIFF, FITS) and one hands the file to an external
program (EPS -> Ghostscript). An upload therefore never reaches ``Image.open`` that way: its first
bytes name the format, only PNG, JPEG and WebP pass, and only that format's plugin opens it. Anything
else gets a field error naming what was sent ("This is a TIFF file. Upload a PNG, JPEG or WebP
picture.").

Used for customers' reference pictures (``personalization.services``) and for staff uploads
(brand logos, style thumbnails, product mockup templates) through ``AllowedImageField``, a model
``ImageField`` whose form field is a plain ``FileField`` with this check: Django's
``forms.ImageField`` would open the upload with every plugin before any validator runs.
"""

from __future__ import annotations

import os
import struct

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from PIL import Image, UnidentifiedImageError

ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP")
ACCEPT = "image/png,image/jpeg,image/webp"
EXTENSIONS = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}
HINT = "Upload a PNG, JPEG or WebP picture."
UNREADABLE = f"That file is not an image we can read. {HINT}"
HEAD_BYTES = 4096
# Errors Pillow raises on damaged or hostile files (header, EXIF or pixel data).
IMAGE_ERRORS = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    struct.error,
    Image.DecompressionBombError,
)

# Formats refused by name: (label for the message, test on the first bytes).
_REFUSED_MAGIC = (
    ("a TIFF file", (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")),
    ("a Photoshop (PSD) file", (b"8BPS",)),
    ("a GIF file", (b"GIF87a", b"GIF89a")),
    ("a FITS file", (b"SIMPLE  =",)),
    ("an EPS (PostScript) file", (b"%!PS", b"\xc5\xd0\xd3\xc6")),
    ("a PDF file", (b"%PDF-",)),
    ("a JPEG 2000 file", (b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51")),
    ("a DDS file", (b"DDS ",)),
    ("an ICNS (Apple icon) file", (b"icns",)),
    ("a ZIP archive", (b"PK\x03\x04",)),
    ("a program", (b"MZ", b"\x7fELF")),
)
_ISO_BRANDS = {
    b"heic": "a HEIC file",
    b"heix": "a HEIC file",
    b"mif1": "a HEIF file",
    b"avif": "an AVIF file",
}
_ICON_TYPES = {b"\x00\x00\x01\x00": "an ICO (icon) file", b"\x00\x00\x02\x00": "a CUR (cursor) file"}
_BMP_HEADERS = (12, 16, 40, 52, 56, 64, 108, 124)  # sizes of the DIB header after "BM"
_HTML_TAGS = ("<!doctype html", "<html", "<head", "<body", "<script", "<iframe", "<meta", "<a ", "<div")


def sniff(head: bytes) -> str | None:
    """The allowed format that these first bytes start ("PNG", "JPEG", "WEBP"), else None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def _looks_like_tga(head: bytes) -> bool:
    """TGA has no signature: a plausible header (colour map type, image type, size, depth)."""
    if len(head) < 18:
        return False
    cmap_type, image_type = head[1], head[2]
    width, height = struct.unpack("<HH", head[12:16])
    return (
        image_type in (1, 2, 3, 9, 10, 11)
        and (cmap_type == 1) == (image_type in (1, 9))
        and cmap_type in (0, 1)
        and width > 0
        and height > 0
        and head[16] in (1, 8, 15, 16, 24, 32)
    )


def describe(head: bytes) -> str | None:
    """What a refused file is, for the message ("a TIFF file"), when its first bytes tell."""
    for label, magics in _REFUSED_MAGIC:
        if head.startswith(magics):
            return label
    if head[:4] in _ICON_TYPES and len(head) >= 6 and struct.unpack("<H", head[4:6])[0] > 0:
        return _ICON_TYPES[head[:4]]  # (a TGA file can start with the same 4 bytes, but no count)
    if head[:2] == b"BM" and len(head) >= 18 and struct.unpack("<I", head[14:18])[0] in _BMP_HEADERS:
        return "a BMP file"
    if head[4:8] == b"ftyp" and head[8:12] in _ISO_BRANDS:
        return _ISO_BRANDS[head[8:12]]
    pcx = len(head) >= 4 and head[0] == 0x0A and head[1] in (0, 2, 3, 4, 5) and head[2] in (0, 1)
    if pcx and head[3] in (1, 2, 4, 8):
        return "a PCX file"
    if b"%PDF-" in head[:1024]:
        return "a PDF file"
    text = head.lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n").decode("latin-1").replace("\x00", "").casefold()
    if "<svg" in text:
        return "an SVG file"
    if any(tag in text for tag in _HTML_TAGS):
        return "an HTML file"
    if text.startswith("<?xml"):
        return "an XML file"
    if _looks_like_tga(head):
        return "a TGA file"
    return None


def refusal_message(head: bytes) -> str:
    label = describe(head)
    return f"This is {label}. {HINT}" if label else UNREADABLE


def read_head(file, size: int = HEAD_BYTES) -> bytes:
    """The first bytes of an upload, leaving it at the start."""
    file.seek(0)
    head = file.read(size)
    file.seek(0)
    return head if isinstance(head, bytes) else bytes(head)


def check_format(file) -> str:
    """The upload's format ("PNG", "JPEG" or "WEBP"), or ``ValidationError`` naming what it is."""
    head = read_head(file)
    fmt = sniff(head)
    if fmt is None:
        raise ValidationError(refusal_message(head), code="image_format")
    return fmt


def open_image(file) -> Image.Image:
    """The upload opened lazily (header read, pixels not yet) by its own format's plugin only.

    Raises ``ValidationError`` for another format; Pillow's errors (``IMAGE_ERRORS``) for a damaged
    file of an allowed format."""
    fmt = check_format(file)
    file.seek(0)
    return Image.open(file, formats=[fmt])


def validate_image_upload(file) -> None:
    """Validator for staff image uploads: PNG, JPEG or WebP by content, and readable."""
    if getattr(file, "_committed", False):
        return  # a stored file (FieldFile) was checked when it was uploaded: no storage read per save
    source = getattr(file, "file", None) or file
    position = source.tell() if hasattr(source, "tell") else None
    try:
        with open_image(source) as image:
            image.verify()
    except ValidationError:
        raise
    except Image.DecompressionBombError:
        raise ValidationError("This picture has too many pixels.", code="image_pixels") from None
    except IMAGE_ERRORS:
        raise ValidationError(
            f"This picture is damaged or cannot be read. {HINT}", code="image_unreadable"
        ) from None
    finally:
        if position is not None:
            source.seek(position)


class AllowedImageFormField(forms.FileField):
    """A file field for pictures that never opens the upload with all of Pillow's plugins."""

    default_validators = [validate_image_upload]
    widget = forms.ClearableFileInput

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        if isinstance(widget, forms.FileInput) and "accept" not in widget.attrs:
            attrs.setdefault("accept", ACCEPT)
        return attrs


class AllowedImageField(models.ImageField):
    """An ``ImageField`` for uploads: only PNG, JPEG and WebP (by content), checked in model
    validation and in its form field (also the admin's); the stored name ends in the extension of
    the actual format, so a PNG named ``logo.html`` is stored as ``logo.png``."""

    default_validators = [validate_image_upload]

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": AllowedImageFormField, **kwargs})

    def pre_save(self, model_instance, add):
        file = getattr(model_instance, self.attname)
        if file and not file._committed:
            source = getattr(file, "file", None)
            fmt = sniff(read_head(source)) if source is not None else None
            if fmt is not None:
                stem = os.path.splitext(os.path.basename(file.name))[0] or "image"
                file.name = stem + EXTENSIONS[fmt]
        return super().pre_save(model_instance, add)
