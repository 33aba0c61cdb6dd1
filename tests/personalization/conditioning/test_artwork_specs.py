"""``conditioning.artwork_spec_for`` (the brand as it is now) and ``artwork_spec_frozen`` (the
brand as it was when ordered, from ``LineDesign.composition`` and its copied logo and font)."""

import io
import shutil

import pytest
from django.conf import settings as django_settings

if not django_settings.configured:  # this folder's other tests also run with `-p no:django`
    pytest.skip("needs Django settings and a database", allow_module_level=True)

from django.core.files.base import ContentFile  # noqa: E402
from PIL import Image

from brand_guides.models import Typography
from personalization.artwork import ArtworkSpec, TextLayer
from personalization.conditioning import artwork_spec_for, artwork_spec_frozen, brand_fonts
from personalization.hosts import host
from personalization.models import LineDesign
from personalization.specs import LogoSpec, PrintAreaSpec
from tests import font_files
from tests.factories import make_brand, make_product
from tests.foundation_helpers import make_generation, make_order, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """These tests store files (the folder's conftest writes none): media in the test's own folder."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    private = settings.STORAGES["personalization_private"]
    if private["BACKEND"].endswith("FileSystemStorage"):
        options = {**private.get("OPTIONS", {}), "location": str(tmp_path / "private")}
        settings.STORAGES = {**settings.STORAGES, "personalization_private": {**private, "OPTIONS": options}}
    yield
    shutil.rmtree(tmp_path / "media", ignore_errors=True)
    shutil.rmtree(tmp_path / "private", ignore_errors=True)


def add_font(brand, role: str, data: bytes, name: str) -> Typography:
    row = Typography(brand=brand, role=role, font_family="")
    row.font_file.save(name, ContentFile(data), save=False)
    row.full_clean()
    row.save()
    return row


@pytest.fixture
def brand():
    brand = make_brand(logo_anchor="top-left", logo_max_share=0.3, logo_clear_space_mm=4)
    brand.logo.save("logo.png", ContentFile(png_bytes("#123456", (40, 20))))
    add_font(brand, "heading", font_files.fredoka_one(), "FredokaOne-Regular.ttf")
    add_font(brand, "body", font_files.lato(), "Lato-Regular.ttf")
    return brand


@pytest.fixture
def req(brand):
    product = make_product(
        brand=brand, product_type="mug", print_width_mm=200, print_height_mm=90, print_dpi=300
    )
    return make_generation(product, transparent_background=True)


def pixels(image: Image.Image) -> bytes:
    return image.convert("RGBA").tobytes()


def test_brand_fonts_heading_first_with_family_style_and_bytes(brand):
    fonts = brand_fonts(brand)
    assert list(fonts) == ["heading", "body"]
    assert (fonts["heading"].family, fonts["heading"].style, fonts["heading"].label) == (
        "Fredoka One",
        "Regular",
        "Headings",
    )
    assert fonts["body"].load() == font_files.lato()


def test_brand_fonts_leave_out_rows_without_a_readable_file(brand):
    Typography.objects.create(
        brand=brand, role="accent", font_family="Gone", font_file="brands/fonts/gone.ttf"
    )
    brand.typography.filter(role="heading").update(font_file="")
    assert list(brand_fonts(brand)) == ["body"]


def test_artwork_spec_for_a_request_without_text(req, brand):
    spec = artwork_spec_for(req)
    area = host().product_info(req.product).print_area
    assert spec.print_area == PrintAreaSpec(
        width_mm=area.width_mm,
        height_mm=area.height_mm,
        dpi=area.dpi,
        safe_margin_mm=area.safe_margin_mm,
        min_dpi=area.min_dpi,
    )
    assert (spec.fit, spec.transparent_background, spec.text, spec.font) == ("cover", True, None, None)
    assert (spec.logo.anchor, spec.logo.max_share, spec.logo.clear_space_mm) == ("top-left", 0.3, 4)
    assert spec.logo.image.size == (40, 20)


def test_artwork_spec_for_a_request_with_text_carries_its_font_bytes(req):
    text = TextLayer(text="Ada", font="body", color_hex="#1D4E89")
    spec = artwork_spec_for(req, text=text)
    assert spec.text == text
    assert spec.font == font_files.lato()


def test_artwork_spec_for_a_font_the_brand_no_longer_has(req):
    with pytest.raises(ValueError, match="no font 'accent'"):
        artwork_spec_for(req, text=TextLayer(text="Ada", font="accent"))


def frozen_design(req, spec: ArtworkSpec | None, *, logo: bytes = b"", font: bytes = b"") -> LineDesign:
    """A design frozen the way the order service does: the composition JSON and copies of files."""
    line = make_order(req.product).lines.first()
    design = LineDesign(
        order_line=line,
        composition=spec.as_dict() if spec else {},
        print_area={"width_mm": 120, "height_mm": 80, "dpi": 200, "min_dpi": 100, "safe_margin_mm": 2},
    )
    if logo:
        design.logo.save("logo.png", ContentFile(logo), save=False)
    if font:
        design.text_font.save("font.ttf", ContentFile(font), save=False)
    return design


def test_artwork_spec_frozen_is_unaffected_by_later_brand_edits(req, brand):
    text = TextLayer(text="Ada", kind="line", font="heading", color_hex="#1D4E89", curve="arc")
    spec = artwork_spec_for(req, text=text)
    with brand.logo.open("rb") as fh:
        logo_bytes = fh.read()
    design = frozen_design(req, spec, logo=logo_bytes, font=spec.font)

    brand.typography.all().delete()  # the brand changes its guide after the order
    brand.logo.save("other.png", ContentFile(png_bytes("#FF0000", (10, 10))))
    brand.logo_anchor = "center"
    brand.save()

    frozen = artwork_spec_frozen(design)
    assert frozen == spec  # print area, fit, background, logo placement, text (bytes compared below)
    assert frozen.as_dict() == spec.as_dict()
    assert frozen.font == font_files.fredoka_one()
    assert pixels(frozen.logo.image) == pixels(spec.logo.image)


def test_artwork_spec_frozen_of_a_line_ordered_before_compositions(req):
    logo = png_bytes("#00AA00", (16, 16))
    old = artwork_spec_frozen(frozen_design(req, None, logo=logo))
    assert old.print_area == PrintAreaSpec(width_mm=120, height_mm=80, dpi=200, safe_margin_mm=2, min_dpi=100)
    assert (old.fit, old.transparent_background, old.text, old.font) == ("cover", False, None, None)
    default = LogoSpec()
    assert (old.logo.anchor, old.logo.max_share, old.logo.clear_space_mm) == (
        default.anchor,
        default.max_share,
        default.clear_space_mm,
    )
    assert pixels(old.logo.image) == pixels(Image.open(io.BytesIO(logo)))
    assert artwork_spec_frozen(frozen_design(req, None)).logo is None


def test_artwork_spec_frozen_without_a_logo_in_the_composition_draws_none(req):
    spec = ArtworkSpec(print_area=PrintAreaSpec(100, 100, 300), fit="contain")
    frozen = artwork_spec_frozen(frozen_design(req, spec, logo=png_bytes()))
    assert (frozen.logo, frozen.fit) == (None, "contain")


def test_artwork_spec_frozen_with_text_but_no_font_file_is_an_error(req):
    spec = ArtworkSpec(
        print_area=PrintAreaSpec(100, 100, 300), text=TextLayer(text="Ada", font="body"), font=b"font"
    )
    with pytest.raises(ValueError, match="no frozen font"):
        artwork_spec_frozen(frozen_design(req, spec))
