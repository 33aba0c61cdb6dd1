"""Real files of every format an upload might be, built with Pillow or by hand (no fixtures on disk).

``REFUSED`` maps a name to (bytes builder, the words the refusal message must contain)."""

import io
import struct

from PIL import Image


def pillow(fmt: str, *, size=(16, 12), color=(200, 30, 30), mode="RGB", **params) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, format=fmt, **params)
    return buffer.getvalue()


def png(**kw) -> bytes:
    return pillow("PNG", **kw)


def jpeg(**kw) -> bytes:
    return pillow("JPEG", **kw)


def webp(**kw) -> bytes:
    return pillow("WEBP", **kw)


def psd(width=4, height=3) -> bytes:
    """A minimal Photoshop file: header, empty colour-mode/resources/layers sections, raw RGB."""
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, height, width, 8, 3)
    sections = struct.pack(">III", 0, 0, 0)
    return header + sections + struct.pack(">H", 0) + bytes(3 * width * height)


def fits(width=4, height=4) -> bytes:
    """A FITS primary HDU: 80-character cards in a 2880-byte header, then 8-bit pixels."""
    cards = [
        "SIMPLE  =                    T",
        "BITPIX  =                    8",
        "NAXIS   =                    2",
        f"NAXIS1  = {width:20d}",
        f"NAXIS2  = {height:20d}",
        "END",
    ]
    header = "".join(card.ljust(80) for card in cards).ljust(2880).encode("ascii")
    data = bytes(range(width * height)).ljust(2880, b"\0")
    return header + data


def eps() -> bytes:
    """An Encapsulated PostScript picture, written by Pillow's own EPS encoder (no Ghostscript)."""
    return pillow("EPS")


SVG = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b'<script>alert(document.cookie)</script><rect width="10" height="10" fill="red"/></svg>\n'
)
HTML = (
    b"<!DOCTYPE html>\n<html><head><title>hi</title></head>"
    b"<body><script>fetch('/api/v1/generations/')</script></body></html>\n"
)
PDF_BY_HAND = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)

REFUSED = {
    "tiff": (lambda: pillow("TIFF"), "TIFF"),
    "bmp": (lambda: pillow("BMP"), "BMP"),
    "ico": (lambda: pillow("ICO", size=(16, 16)), "ICO"),
    "tga": (lambda: pillow("TGA"), "TGA"),
    "pcx": (lambda: pillow("PCX"), "PCX"),
    "psd": (psd, "PSD"),
    "fits": (fits, "FITS"),
    "eps": (eps, "EPS"),
    "svg": (lambda: SVG, "SVG"),
    "pdf": (lambda: pillow("PDF"), "PDF"),
    "pdf-by-hand": (lambda: PDF_BY_HAND, "PDF"),
    "html": (lambda: HTML, "HTML"),
    "gif": (lambda: pillow("GIF"), "GIF"),
    "jpeg2000": (lambda: pillow("JPEG2000"), "JPEG 2000"),
}


def exif_jpeg(orientation: int, *, size=(40, 20)) -> bytes:
    """A JPEG whose left half is red and right half blue, with an EXIF Orientation tag (and a
    camera model and GPS position that must not survive)."""
    image = Image.new("RGB", size, (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation
    exif[0x0110] = "Secret Camera 9000"  # Model
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}  # GPSInfo
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif, quality=95)
    return buffer.getvalue()
