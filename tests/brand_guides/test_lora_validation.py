"""A brand's LoRA file is checked at upload (its safetensors header, no torch)."""

import json
import struct

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models.fields.files import FieldFile

from brand_guides.validators import validate_lora_file
from tests.factories import make_brand


def safetensors_bytes(tensors: dict[str, list[int]], *, truncate: int = 0) -> bytes:
    """A real safetensors layout: u64 header length, JSON header, then the F32 data."""
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for key, shape in tensors.items():
        n = 4
        for dim in shape:
            n *= dim
        header[key] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    encoded = json.dumps(header).encode()
    data = struct.pack("<Q", len(encoded)) + encoded + b"\0" * offset
    return data[: len(data) - truncate] if truncate else data


LORA = {"unet.down_blocks.0.attentions.0.to_q.lora_A.weight": [4, 32], "unet.x.to_q.lora_B.weight": [32, 4]}


def upload(content: bytes, name="brand.safetensors"):
    return SimpleUploadedFile(name, content)


def test_a_lora_passes(tiny_model_dir, tmp_path):
    from personalization.engine.tiny import build_tiny_lora

    validate_lora_file(upload(safetensors_bytes(LORA)))
    lora = build_tiny_lora(tiny_model_dir, tmp_path / "brand.safetensors")  # what the engine tests load
    validate_lora_file(upload(lora.read_bytes()))


@pytest.mark.parametrize(
    ("content", "name", "code"),
    [
        (safetensors_bytes(LORA), "brand.ckpt", "lora_extension"),
        (b"", "brand.safetensors", "lora_format"),
        (b"PK\x03\x04 a zip, not tensors" * 4, "brand.safetensors", "lora_format"),
        (struct.pack("<Q", 12) + b"not json at all", "brand.safetensors", "lora_format"),
        (struct.pack("<Q", 2) + b"[]", "brand.safetensors", "lora_format"),
        (safetensors_bytes(LORA, truncate=10), "brand.safetensors", "lora_truncated"),
        (safetensors_bytes({"conv_in.weight": [8, 4]}), "brand.safetensors", "lora_no_adapter"),
    ],
)
def test_what_is_not_a_lora_is_refused_with_a_reason(content, name, code):
    with pytest.raises(ValidationError) as info:
        validate_lora_file(upload(content, name))
    assert info.value.code == code
    assert info.value.messages[0].endswith((".", ":")) or "upload" in info.value.messages[0]


@pytest.mark.django_db
def test_the_brand_refuses_a_bad_upload_and_keeps_a_stored_lora_without_reading_it(tmp_path):
    brand = make_brand()
    brand.lora_weights = upload(safetensors_bytes({"conv_in.weight": [8, 4]}))
    with pytest.raises(ValidationError) as info:
        brand.full_clean()
    assert "lora_weights" in info.value.message_dict

    brand.lora_weights = upload(safetensors_bytes(LORA))
    brand.full_clean()
    brand.save()
    brand.refresh_from_db()
    brand.lora_weights.storage.delete(brand.lora_weights.name)  # even a vanished file: no read, no 500
    brand.full_clean()


@pytest.mark.django_db
def test_the_admin_shows_the_reason_as_a_form_error(admin_client):
    brand = make_brand()
    url = f"/admin/brand_guides/brand/{brand.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is not None and not isinstance(value, FieldFile):
            data[name] = value
    for formset in page.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name in management.fields:
            data[f"{management.prefix}-{name}"] = management.initial.get(name, 0)
    data["lora_weights"] = ContentFile(
        safetensors_bytes({"conv_in.weight": [8, 4]}), name="brand.safetensors"
    )
    response = admin_client.post(url, data)
    assert response.status_code == 200  # the form again, not a redirect
    assert "holds no LoRA weights" in response.content.decode()
