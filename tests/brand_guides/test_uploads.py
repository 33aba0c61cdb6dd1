"""The image upload allow-list (brand_guides.uploads): PNG, JPEG and WebP by content; every other
format gets a field error naming it; no other Pillow plugin (and never Ghostscript) runs on an
upload; staff uploads (brand logo, style thumbnail, product mockup template) use it in model
validation, model forms and the admin."""

import io

import pytest
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms import modelform_factory
from django.test import RequestFactory
from PIL import EpsImagePlugin, Image

from brand_guides import uploads
from brand_guides.models import Brand, StylePreset
from shop.models import Product
from tests.factories import make_brand, make_product, make_style, make_user
from tests.upload_files import REFUSED, eps, jpeg, png, webp

HINT = "Upload a PNG, JPEG or WebP picture."
ALLOWED = {"PNG": png, "JPEG": jpeg, "WEBP": webp}


@pytest.fixture
def plugin_trap(monkeypatch):
    """Every Pillow plugin but PNG, JPEG and WebP records a call instead of reading the file, and
    EPS's open and Ghostscript fail loudly: a test that ends with an empty list proved that none
    of them ran."""
    calls: list[str] = []
    Image.init()
    for fmt in list(Image.OPEN):
        if fmt in uploads.ALLOWED_FORMATS:
            continue

        def trapped_accept(prefix, fmt=fmt):
            calls.append(f"{fmt}.accept")
            return False

        def trapped_factory(fp, filename=None, fmt=fmt):
            calls.append(f"{fmt}.open")
            raise AssertionError(f"the {fmt} plugin ran on an upload")

        monkeypatch.setitem(Image.OPEN, fmt, (trapped_factory, trapped_accept))

    def eps_open(self):
        calls.append("EpsImageFile._open")
        raise AssertionError("Pillow's EPS plugin ran on an upload")

    def ghostscript(*args, **kwargs):
        calls.append("Ghostscript")
        raise AssertionError("Ghostscript ran on an upload")

    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", eps_open)
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", ghostscript)
    return calls


def test_the_trap_catches_a_plain_image_open(plugin_trap):
    """Sanity check of the fixture: Pillow's unrestricted open consults the other plugins."""
    with pytest.raises((AssertionError, Image.UnidentifiedImageError)):
        Image.open(io.BytesIO(eps()))
    assert plugin_trap


@pytest.mark.parametrize("fmt", ALLOWED)
def test_allowed_formats_are_recognised_by_content_whatever_the_name(fmt, plugin_trap):
    upload = SimpleUploadedFile("holiday.tiff", ALLOWED[fmt]())
    assert uploads.check_format(upload) == fmt
    uploads.validate_image_upload(upload)
    with uploads.open_image(upload) as image:
        image.load()
        assert image.size == (16, 12)
    assert plugin_trap == []


@pytest.mark.parametrize("kind", REFUSED)
def test_every_other_format_is_refused_by_name(kind, plugin_trap):
    build, word = REFUSED[kind]
    upload = SimpleUploadedFile("picture.png", build())  # the name does not matter, the bytes do
    with pytest.raises(ValidationError) as info:
        uploads.open_image(upload)
    message = info.value.messages[0]
    assert word in message and message.startswith("This is ") and message.endswith(HINT)
    with pytest.raises(ValidationError):
        uploads.validate_image_upload(upload)
    assert plugin_trap == []


@pytest.mark.parametrize(
    "data", [b"", b"not an image at all", b"\x00" * 64, b"GIF8", bytes(range(256))], ids=repr
)
def test_unknown_bytes_are_unreadable(data):
    with pytest.raises(ValidationError) as info:
        uploads.check_format(SimpleUploadedFile("x.png", data))
    assert info.value.messages == [uploads.UNREADABLE]


def test_a_damaged_file_of_an_allowed_format_is_a_field_error(plugin_trap):
    broken = png()[:40]
    with pytest.raises(ValidationError) as info:
        uploads.validate_image_upload(SimpleUploadedFile("logo.png", broken))
    assert "damaged" in info.value.messages[0]
    assert plugin_trap == []


def test_a_polyglot_that_starts_as_html_is_refused():
    with pytest.raises(ValidationError) as info:
        uploads.check_format(SimpleUploadedFile("x.png", b"<html><script>1</script></html>" + png()))
    assert "HTML" in info.value.messages[0]


def test_the_upload_is_rewound_after_the_check():
    upload = SimpleUploadedFile("logo.png", png())
    upload.read(5)
    uploads.validate_image_upload(upload)
    assert upload.tell() == 5
    assert uploads.read_head(upload, 8) == b"\x89PNG\r\n\x1a\n" and upload.tell() == 0


# --- staff uploads: model validation, model forms, the admin ---------------------------------------

STAFF_FIELDS = [(Brand, "logo"), (StylePreset, "thumbnail"), (Product, "mockup_template")]


@pytest.fixture
def instances(db):
    brand = make_brand()
    return {Brand: brand, StylePreset: make_style(), Product: make_product(brand=brand)}


@pytest.mark.parametrize(("model", "field"), STAFF_FIELDS, ids=lambda v: getattr(v, "__name__", v))
def test_staff_image_fields_use_the_allow_list(model, field):
    model_field = model._meta.get_field(field)
    assert isinstance(model_field, uploads.AllowedImageField)
    form_field = model_field.formfield()
    assert isinstance(form_field, uploads.AllowedImageFormField)
    assert form_field.widget.attrs["accept"] == uploads.ACCEPT


@pytest.mark.parametrize(("model", "field"), STAFF_FIELDS, ids=lambda v: getattr(v, "__name__", v))
@pytest.mark.parametrize("kind", ["tiff", "psd", "eps", "svg", "html", "pdf"])
def test_staff_model_form_refuses_other_formats_without_running_their_plugin(
    model, field, kind, instances, plugin_trap
):
    build, word = REFUSED[kind]
    form_class = modelform_factory(model, fields=[field])
    upload = SimpleUploadedFile(f"{field}.png", build())
    form = form_class(data={}, files={field: upload}, instance=instances[model])
    assert not form.is_valid()
    assert form.errors[field] == [f"This is {uploads.describe(build()[:4096])}. {HINT}"]
    assert word in form.errors[field][0]
    assert plugin_trap == []


@pytest.mark.parametrize(("model", "field"), STAFF_FIELDS, ids=lambda v: getattr(v, "__name__", v))
def test_staff_model_form_stores_an_allowed_picture_under_its_real_extension(model, field, instances):
    form_class = modelform_factory(model, fields=[field])
    instance = instances[model]
    form = form_class(data={}, files={field: SimpleUploadedFile("evil.html", webp())}, instance=instance)
    assert form.is_valid(), form.errors
    form.save()
    instance.refresh_from_db()
    stored = getattr(instance, field)
    assert stored.name.endswith("/evil.webp")
    with stored.open("rb") as fh:
        assert fh.read() == webp()


@pytest.mark.parametrize(("model", "field"), STAFF_FIELDS, ids=lambda v: getattr(v, "__name__", v))
def test_full_clean_refuses_an_uncommitted_tiff(model, field, instances):
    instance = instances[model]
    setattr(instance, field, SimpleUploadedFile("scan.tif", REFUSED["tiff"][0]()))
    with pytest.raises(ValidationError) as info:
        instance.full_clean()
    assert "TIFF" in info.value.message_dict[field][0]


def test_full_clean_does_not_reread_a_stored_file(instances, monkeypatch):
    brand = instances[Brand]
    brand.logo.save("logo.png", SimpleUploadedFile("logo.png", png()), save=True)
    brand.refresh_from_db()
    monkeypatch.setattr(uploads, "open_image", lambda file: pytest.fail("a stored file was re-read"))
    brand.full_clean()


@pytest.mark.parametrize(("model", "field"), STAFF_FIELDS, ids=lambda v: getattr(v, "__name__", v))
def test_the_admin_forms_use_the_allow_list(model, field, db, plugin_trap):
    request = RequestFactory().get("/admin/")
    request.user = make_user(is_staff=True, is_superuser=True)
    form_class = admin.site._registry[model].get_form(request)
    assert isinstance(form_class.base_fields[field], uploads.AllowedImageFormField)
    bad = form_class.base_fields[field]
    with pytest.raises(ValidationError) as info:
        bad.clean(SimpleUploadedFile("logo.eps", eps()))
    assert "EPS" in info.value.messages[0]
    assert plugin_trap == []


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims a size (IHDR with a correct CRC) and holds no pixels."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def test_a_decompression_bomb_is_too_many_pixels():
    with pytest.raises(ValidationError) as info:
        uploads.validate_image_upload(SimpleUploadedFile("bomb.png", png_header(100_000, 100_000)))
    assert info.value.messages == ["This picture has too many pixels."]
