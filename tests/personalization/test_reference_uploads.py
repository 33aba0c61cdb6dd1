"""Customers' reference pictures: only PNG, JPEG and WebP (by content) through the service, the
studio form and the API; every other format is a field error naming it, nothing is stored, no other
Pillow plugin (never Pillow's EPS plugin, never Ghostscript) runs; a sideways photo is stored
upright and without its metadata."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from personalization.models import GenerationRequest
from personalization.services import generation_request_create
from tests.brand_guides.test_uploads import plugin_trap  # noqa: F401 - the fixture
from tests.factories import make_product, make_user
from tests.personalization.api.conftest import token_client
from tests.upload_files import REFUSED, eps, exif_jpeg, jpeg, png, webp

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]
HINT = "Upload a PNG, JPEG or WebP picture."
HX = {"HTTP_HX_REQUEST": "true"}
API_URL = "/api/v1/generations/"


@pytest.fixture
def product():
    return make_product(name="Classic tee", slug="classic-tee")


@pytest.fixture
def private_dir(tmp_path):
    return tmp_path / "private"


def stored_files(private_dir) -> list:
    return [p for p in private_dir.rglob("*") if p.is_file()] if private_dir.exists() else []


def submit(product, upload, **extra):
    return generation_request_create(
        product=product,
        base_color="White",
        description="a fox in the snow",
        reference_image=upload,
        session_key="visitor-ref",
        **extra,
    )


def studio_data(product, upload):
    return {
        "product": product.slug,
        "base_color": "White",
        "description": "a fox in the snow",
        "strength": "0.6",
        "steps": "20",
        "guidance_scale": "7.5",
        "variations": "1",
        "reference_image": upload,
    }


def api_body(product, upload):
    return {
        "product": product.slug,
        "base_color": "White",
        "description": "a fox in the snow",
        "steps": 20,
        "reference_image": upload,
    }


def stored_reference(generation) -> Image.Image:
    with generation.reference_image.open("rb") as fh:
        data = fh.read()
    image = Image.open(io.BytesIO(data), formats=["PNG"])
    image.load()
    return image, data


# --- the three ways in refuse every other format ---------------------------------------------------


@pytest.mark.parametrize("kind", REFUSED)
def test_service_refuses_other_formats_by_name(product, kind, plugin_trap, private_dir):  # noqa: F811
    build, word = REFUSED[kind]
    with pytest.raises(ValidationError) as info:
        submit(product, SimpleUploadedFile("photo.jpg", build()))
    message = info.value.message_dict["reference_image"][0]
    assert word in message and message.endswith(HINT), message
    assert not GenerationRequest.objects.exists()
    assert stored_files(private_dir) == []
    assert plugin_trap == []


@pytest.mark.parametrize("kind", REFUSED)
def test_studio_refuses_other_formats_under_the_field(me, product, kind, plugin_trap, private_dir):  # noqa: F811
    build, word = REFUSED[kind]
    upload = SimpleUploadedFile("photo.png", build())
    response = me.post(reverse("personalization:studio"), studio_data(product, upload), **HX)
    assert response.status_code == 422
    errors = response.context["form"].errors["reference_image"]
    assert word in errors[0] and errors[0].endswith(HINT), errors
    assert errors[0] in response.content.decode().replace("&#x27;", "'")
    assert not GenerationRequest.objects.exists()
    assert stored_files(private_dir) == []
    assert plugin_trap == []


@pytest.mark.parametrize("kind", REFUSED)
def test_api_refuses_other_formats_with_a_field_error(product, kind, plugin_trap, private_dir):  # noqa: F811
    build, word = REFUSED[kind]
    upload = io.BytesIO(build())
    upload.name = "photo.webp"
    response = token_client(make_user()).post(API_URL, api_body(product, upload), format="multipart")
    assert response.status_code == 400, response.content
    message = response.json()["reference_image"][0]
    assert word in message and message.endswith(HINT)
    assert not GenerationRequest.objects.exists()
    assert stored_files(private_dir) == []
    assert plugin_trap == []


def test_eps_never_reaches_pillows_eps_plugin_or_ghostscript(me, product, plugin_trap):  # noqa: F811
    """One real EPS through all three ways in; the trap fails loudly if the EPS plugin or
    Ghostscript is even asked."""
    with pytest.raises(ValidationError):
        submit(product, SimpleUploadedFile("art.eps", eps()))
    response = me.post(
        reverse("personalization:studio"), studio_data(product, SimpleUploadedFile("art.png", eps())), **HX
    )
    assert response.status_code == 422 and "EPS" in response.context["form"].errors["reference_image"][0]
    upload = io.BytesIO(eps())
    upload.name = "art.jpg"
    response = token_client(make_user()).post(API_URL, api_body(product, upload), format="multipart")
    assert response.status_code == 400 and "EPS" in response.json()["reference_image"][0]
    assert plugin_trap == []


@pytest.mark.parametrize("build", [png, jpeg, webp], ids=["png", "jpeg", "webp"])
def test_allowed_formats_pass_everywhere_and_only_their_own_plugin_runs(me, product, build, plugin_trap):  # noqa: F811
    generation = submit(product, SimpleUploadedFile("photo.bin", build(size=(48, 32))))
    image, _ = stored_reference(generation)
    assert image.size == (48, 32) and image.mode == "RGB"
    response = me.post(
        reverse("personalization:studio"),
        studio_data(product, SimpleUploadedFile("photo.png", build(size=(48, 32)))),
        **HX,
    )
    assert response.status_code == 201
    upload = io.BytesIO(build(size=(48, 32)))
    upload.name = "photo"
    response = token_client(make_user()).post(API_URL, api_body(product, upload), format="multipart")
    assert response.status_code == 202, response.content
    assert GenerationRequest.objects.filter(reference_sha256=generation.reference_sha256).count() == 3
    assert plugin_trap == []


def test_a_damaged_png_is_unreadable(product):
    with pytest.raises(ValidationError) as info:
        submit(product, SimpleUploadedFile("photo.png", png(size=(64, 64))[:60]))
    assert info.value.message_dict["reference_image"] == [
        "That file is not an image we can read. Upload a PNG, JPEG or WebP picture."
    ]


# --- EXIF orientation is applied, then every piece of metadata is dropped ---------------------------

RED, BLUE = (255, 0, 0), (0, 0, 255)


def close(pixel, expected) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(pixel, expected, strict=True))


@pytest.mark.parametrize(
    ("orientation", "size", "probes"),
    [
        # 6: the camera was turned right; shown rotated 90 degrees clockwise: left half -> top.
        (6, (20, 40), {(10, 5): RED, (10, 35): BLUE}),
        # 8: turned left; rotated 90 degrees counter-clockwise: left half -> bottom.
        (8, (20, 40), {(10, 5): BLUE, (10, 35): RED}),
        # 3: upside down; rotated 180 degrees: left half -> right.
        (3, (40, 20), {(5, 10): BLUE, (35, 10): RED}),
        # 1: upright already.
        (1, (40, 20), {(5, 10): RED, (35, 10): BLUE}),
    ],
)
def test_sideways_photo_is_stored_upright_without_metadata(product, orientation, size, probes):
    source = exif_jpeg(orientation)
    assert Image.open(io.BytesIO(source)).getexif()[0x0112] == orientation  # the tag is really there
    generation = submit(product, SimpleUploadedFile("IMG_0001.JPG", source))
    image, data = stored_reference(generation)
    assert image.size == size
    for xy, color in probes.items():
        assert close(image.getpixel(xy), color), (xy, image.getpixel(xy))
    assert not image.getexif()
    assert b"Secret Camera" not in data and b"Exif" not in data and b"eXIf" not in data


def test_sideways_photo_through_the_studio_and_the_api(me, product):
    response = me.post(
        reverse("personalization:studio"),
        studio_data(product, SimpleUploadedFile("IMG.jpg", exif_jpeg(6))),
        **HX,
    )
    assert response.status_code == 201
    upload = io.BytesIO(exif_jpeg(8))
    upload.name = "IMG.jpg"
    response = token_client(make_user()).post(API_URL, api_body(product, upload), format="multipart")
    assert response.status_code == 202
    studio, api = GenerationRequest.objects.order_by("created_at")
    assert stored_reference(studio)[0].size == stored_reference(api)[0].size == (20, 40)
    assert close(stored_reference(studio)[0].getpixel((10, 5)), RED)
    assert close(stored_reference(api)[0].getpixel((10, 5)), BLUE)


def test_a_decompression_bomb_is_too_many_pixels(product):
    from tests.brand_guides.test_uploads import png_header

    with pytest.raises(ValidationError) as info:
        submit(product, SimpleUploadedFile("bomb.png", png_header(100_000, 100_000)))
    assert info.value.message_dict["reference_image"] == ["The reference image has too many pixels."]
