import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from PIL import Image

from personalization.artwork import ArtworkSpec, TextLayer, compose
from personalization.specs import PrintAreaSpec
from tests.factories import png
from tests.text_layer_helpers import LATO, brand_with_fonts, finished_design, mug

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]


def preview(client, image, **fields):
    data = {f"text_{key}" if key != "text" else key: value for key, value in fields.items()}
    return client.post(
        reverse("personalization:image_preview", args=[image.pk]), data, HTTP_HX_REQUEST="true"
    )


def test_tiny_area(me):
    brand = brand_with_fonts()
    product = mug(brand, print_width_mm=10, print_height_mm=8, safe_margin_mm=3.9)
    image = finished_design(product)
    r = preview(me, image, text="A very long text here")
    print(r.status_code, r.content[:3000].decode())
    r = preview(me, image, text="AB", kind="monogram", curve="arc")
    print(r.status_code)


def test_missing_design_file(me):
    brand = brand_with_fonts()
    image = finished_design(mug(brand))
    image.image.storage.delete(image.image.name)
    r = preview(me, image, text="Ada")
    print("missing design", r.status_code)


def test_missing_logo(me):
    brand = brand_with_fonts()
    brand.logo.save("logo.png", ContentFile(png((50, 20))), save=True)
    image = finished_design(mug(brand))
    brand.logo.storage.delete(brand.logo.name)
    r = preview(me, image, text="Ada")
    print("missing logo", r.status_code)


def test_no_fit_text():
    spec = ArtworkSpec(
        print_area=PrintAreaSpec(width_mm=5, height_mm=5, dpi=300, safe_margin_mm=2.4),
        text=TextLayer(text="WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW"),
        font=LATO.read_bytes(),
    )
    art = compose(Image.new("RGB", (64, 64)), spec, px_per_mm=2)
    print(art.boxes)


def test_api_text_layer_types(me):
    pass
