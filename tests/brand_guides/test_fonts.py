"""Brand font uploads are checked with fontTools: a real font, its licence's embedding bits, its
coverage of the characters text on products needs. Real files: the demo fonts from their PyPI
packages and variants of them made with fontTools."""

import io
import random

import pytest
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse

from brand_guides import fonts
from brand_guides.fonts import FontError, inspect_font, missing_characters, validate_font_file
from brand_guides.models import Brand, Typography
from tests import font_files
from tests.factories import make_brand, make_user
from tests.upload_files import png

NOT_A_FONT = "This file is not a TrueType or OpenType font."


def upload(content: bytes, name: str = "brand.ttf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def refusal(content: bytes, name: str = "brand.ttf") -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        validate_font_file(upload(content, name))
    return caught.value


def test_lato_from_its_package_passes_and_reads_back():
    validate_font_file(upload(font_files.lato(), "Lato-Regular.ttf"))
    facts = inspect_font(font_files.lato())
    assert (facts.family, facts.style, facts.format) == ("Lato", "Regular", "TTF")
    assert facts.glyph_count > 200
    assert (facts.missing, facts.fs_type, facts.embeddable) == ("", 0, True)
    assert facts.label == "Lato Regular (TTF, 275 glyphs)"


def test_an_opentype_cff_font_passes():
    data = font_files.cff_font()
    validate_font_file(upload(data, "blocks.otf"))
    facts = inspect_font(data)
    assert (facts.family, facts.format, facts.missing) == ("Test Blocks", "OTF", "")


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(lambda: png(), id="png-renamed-ttf"),
        pytest.param(lambda: random.Random(7).randbytes(4096), id="random-bytes"),
        pytest.param(
            lambda: b"\x00\x01\x00\x00" + random.Random(8).randbytes(4096), id="sfnt-tag-then-noise"
        ),
        pytest.param(lambda: font_files.lato()[: len(font_files.lato()) // 2], id="truncated-half"),
        pytest.param(lambda: font_files.lato()[:300], id="truncated-directory"),
        pytest.param(lambda: b"", id="empty"),
        pytest.param(lambda: b"%PDF-1.7 not a font", id="pdf"),
    ],
)
def test_files_that_are_not_fonts_are_refused(content):
    error = refusal(content())
    assert error.messages == [NOT_A_FONT]
    assert error.error_list[0].code == "font_format"


def test_a_restricted_licence_font_is_refused():
    error = refusal(font_files.with_fs_type(font_files.lato(), 0x0002))
    assert error.error_list[0].code == "font_embedding"
    assert "licence forbids embedding" in error.messages[0]
    assert inspect_font(font_files.with_fs_type(font_files.lato(), 0x0002)).embeddable is False


@pytest.mark.parametrize("fs_type", [0x0000, 0x0004, 0x0008, 0x0006, 0x000A, 0x0100])
def test_fonts_whose_licence_allows_embedding_pass(fs_type):
    validate_font_file(upload(font_files.with_fs_type(font_files.lato(), fs_type)))


def test_a_bitmap_only_embedding_font_is_refused():
    error = refusal(font_files.with_fs_type(font_files.lato(), 0x0200))
    assert error.error_list[0].code == "font_embedding"
    assert "bitmap" in error.messages[0]


def test_an_otf_with_a_restricted_licence_is_refused():
    error = refusal(font_files.cff_font(fs_type=0x0002), "blocks.otf")
    assert error.error_list[0].code == "font_embedding"


def test_a_subset_font_missing_letters_is_refused_naming_them():
    data = font_files.subset(font_files.lato(), fonts.REQUIRED_CHARACTERS.replace("Q", "").replace("&", ""))
    assert inspect_font(data).missing == "Q&"
    error = refusal(data)
    assert error.error_list[0].code == "font_coverage"
    assert "cannot draw characters that text on products needs: Q, &." in error.messages[0]


def test_an_otf_without_digits_or_space_is_refused_naming_them():
    chars = fonts.REQUIRED_CHARACTERS.translate(str.maketrans("", "", "0123456789 "))
    error = refusal(font_files.cff_font(chars), "blocks.otf")
    assert "0, 1, 2, 3, 4, 5, 6, 7, 8, 9, space." in error.messages[0]


def test_a_collection_and_a_web_font_are_refused_clearly():
    ttc = font_files.collection(font_files.lato(), font_files.fredoka_one())
    assert refusal(ttc).messages == [fonts.COLLECTION]
    assert refusal(ttc, "fonts.ttc").error_list[0].code == "invalid_extension"
    assert refusal(font_files.woff(font_files.lato())).messages == [fonts.WEB_FONT]


@pytest.mark.parametrize("name", ["Lato.woff", "Lato.png", "Lato", "Lato.ttf.exe"])
def test_only_ttf_and_otf_names_pass(name):
    error = refusal(font_files.lato(), name)
    assert error.error_list[0].code == "invalid_extension"
    assert "Upload the font as a .ttf or .otf file" in error.messages[0]


def test_a_file_over_10_mb_is_refused_before_reading():
    error = refusal(font_files.lato() + bytes(fonts.FONT_MAX_BYTES))
    assert error.messages == [fonts.TOO_LARGE]


def test_missing_characters_lists_what_the_font_cannot_draw():
    assert missing_characters(font_files.lato(), "Zoë & Max, 1984!") == ""
    assert missing_characters(font_files.lato(), "Ada ✓ 字字") == "✓字"
    with pytest.raises(FontError):
        missing_characters(png(), "A")


# The model and the admin.


@pytest.mark.django_db
def test_typography_full_clean_refuses_a_bad_file_under_font_file():
    brand = make_brand()
    row = Typography(brand=brand, role="heading", font_family="Fake", font_file=upload(png(), "fake.ttf"))
    with pytest.raises(ValidationError) as caught:
        row.full_clean()
    assert caught.value.message_dict == {"font_file": [NOT_A_FONT]}


@pytest.mark.django_db
def test_typography_fills_its_family_from_the_font_when_blank():
    brand = make_brand()
    row = Typography(brand=brand, role="body", font_file=upload(font_files.lato(), "Lato-Regular.ttf"))
    row.full_clean()
    row.save()
    assert row.font_family == "Lato"
    row.refresh_from_db()
    assert row.font_facts().style == "Regular"
    row.full_clean()  # the stored file is not read again, and still passes


@pytest.mark.django_db
def test_typography_without_a_family_or_a_file_is_refused():
    row = Typography(brand=make_brand(), role="heading")
    with pytest.raises(ValidationError) as caught:
        row.full_clean()
    assert caught.value.message_dict == {"font_family": ["Name the font family, or upload its font file."]}


@pytest.fixture
def superuser_request():
    user = make_user(is_staff=True, is_superuser=True)
    request = RequestFactory().get("/")
    request.user = user
    return request


@pytest.mark.django_db
def test_admin_inline_refuses_a_bad_font_with_its_message(superuser_request):
    brand = make_brand()
    inline = next(
        i
        for i in admin.site._registry[Brand].get_inline_instances(superuser_request, brand)
        if i.model is Typography
    )
    formset_class = inline.get_formset(superuser_request, brand)
    prefix = formset_class.get_default_prefix()
    data = {
        f"{prefix}-TOTAL_FORMS": "2",
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-0-role": "heading",
        f"{prefix}-0-font_family": "",
        f"{prefix}-1-role": "body",
        f"{prefix}-1-font_family": "",
    }
    files = {
        f"{prefix}-0-font_file": upload(font_files.with_fs_type(font_files.lato(), 2), "Lato.ttf"),
        f"{prefix}-1-font_file": upload(font_files.fredoka_one(), "FredokaOne-Regular.ttf"),
    }
    formset = formset_class(data, files, instance=brand, prefix=prefix)
    assert not formset.is_valid()
    assert "licence forbids embedding" in formset.errors[0]["font_file"][0]
    assert formset.errors[1] == {}


@pytest.mark.django_db
def test_admin_change_page_reads_the_font_back(client):
    client.force_login(make_user(is_staff=True, is_superuser=True))
    brand = make_brand()
    row = Typography(brand=brand, role="heading", font_family="")
    row.font_file.save("FredokaOne-Regular.ttf", ContentFile(font_files.fredoka_one()), save=False)
    row.full_clean()
    row.save()
    Typography.objects.create(
        brand=brand, role="body", font_family="Broken", font_file="brands/fonts/missing.ttf"
    )
    response = client.get(reverse("admin:brand_guides_brand_change", args=[brand.pk]))
    assert response.status_code == 200  # a stored file that cannot be read shows "-", not a 500
    page = response.content.decode()
    assert "Fredoka One Regular" in page
    assert "TTF, 235 glyphs; covers the required characters" in page
    assert "Read from the file" in page


@pytest.mark.django_db
def test_the_demo_brands_fonts_come_from_their_packages_and_pass_the_checks():
    call_command("seed_demo", stdout=io.StringIO())
    seeded = {
        brand.slug: {row.role: (row.font_family, row.font_facts()) for row in brand.typography.all()}
        for brand in Brand.objects.prefetch_related("typography")
    }
    families = {slug: {role: family for role, (family, _) in rows.items()} for slug, rows in seeded.items()}
    assert families == {
        "northwind-outfitters": {"heading": "Caladea", "body": "Lato", "accent": "Amatic SC"},
        "sunny-days-co": {"heading": "Fredoka One", "body": "Lato", "accent": "Caladea"},
    }
    for rows in seeded.values():
        for family, facts in rows.values():
            assert facts is not None and facts.family == family
            assert (facts.missing, facts.embeddable) == ("", True)
    for row in Typography.objects.all():
        validate_font_file(upload(fonts.read_bytes(row.font_file), row.font_file.name))
