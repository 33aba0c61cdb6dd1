import json
import re
import struct

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


LORA_MAX_BYTES = 1024 * 1024 * 1024  # SD LoRAs are a few MB to a few hundred MB
_SAFETENSORS_MAX_HEADER = 100 * 1024 * 1024
_UNREADABLE = "This is not a .safetensors file (its header is unreadable)."


def validate_lora_file(file) -> None:
    """A brand's LoRA: a .safetensors file (read from its header, no torch) holding LoRA tensors.

    Catches at upload what would otherwise fail every design of the brand on the GPU: another file
    type, a truncated upload, or model weights that are not a LoRA. Whether the LoRA fits SD 2.1 shows
    when the worker loads it (a failed design with code `brand_adapter_error`).
    """
    if getattr(file, "_committed", False):
        return  # a stored file (FieldFile) was checked when it was uploaded: no storage read per save
    name = getattr(file, "name", "") or ""
    if not name.lower().endswith(".safetensors"):
        raise ValidationError("Upload the LoRA as a .safetensors file.", code="lora_extension")
    size = getattr(file, "size", None)
    if size is not None and size > LORA_MAX_BYTES:
        raise ValidationError("This file is larger than 1 GB: that is not a LoRA.", code="lora_size")
    position = file.tell() if hasattr(file, "tell") else None
    try:
        file.seek(0)
        prefix = file.read(8)
        if len(prefix) < 8:
            raise ValidationError(
                "This file is empty or truncated: not a .safetensors file.", code="lora_format"
            )
        (header_length,) = struct.unpack("<Q", prefix)
        if not 2 <= header_length <= _SAFETENSORS_MAX_HEADER or (
            size is not None and header_length > size - 8
        ):
            raise ValidationError(_UNREADABLE, code="lora_format")
        try:
            header = json.loads(file.read(header_length))
        except (UnicodeDecodeError, ValueError):
            raise ValidationError(_UNREADABLE, code="lora_format") from None
        if not isinstance(header, dict):
            raise ValidationError(_UNREADABLE, code="lora_format")
        tensors = {key: value for key, value in header.items() if key != "__metadata__"}
        end = 0
        for value in tensors.values():
            offsets = value.get("data_offsets") if isinstance(value, dict) else None
            if not (
                isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)
            ):
                raise ValidationError(
                    "This .safetensors file is damaged (bad tensor entries).", code="lora_format"
                )
            end = max(end, offsets[1])
        if size is not None and 8 + header_length + end > size:
            raise ValidationError(
                "This .safetensors file is truncated: upload it again.", code="lora_truncated"
            )
        if not any("lora" in key.lower() for key in tensors):
            raise ValidationError(
                "This .safetensors file holds no LoRA weights (no tensor named like lora_A, lora_B, "
                "lora_up or lora_down): upload a LoRA, not a model.",
                code="lora_no_adapter",
            )
    finally:
        if position is not None:
            file.seek(position)
