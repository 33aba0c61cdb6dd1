"""The host adapter: the plugin learns what it needs about a product only from
``PERSONALIZATION["HOST_ADAPTER"]`` (personalization.hosts), and ``manage.py check`` says what a host
has not configured (personalization/checks.py)."""

import dataclasses
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.files.base import ContentFile
from django.test import override_settings
from django.urls import reverse

from personalization import checks, hosts, presets
from personalization.hosts import BaseColor, HostAdapter, PrintArea, ProductInfo, host
from personalization.models import GenerationImage, GenerationRequest
from personalization.selectors import category_report
from personalization.services import generation_request_create, line_design_create
from shop.models import Order, OrderLine, Product
from shop.personalization_host import ShopHost
from tests.factories import make_brand, make_category, make_material, make_product, png

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]

FAKE_COLORS = (BaseColor(name="Plum", hex="#8E4585"), BaseColor(name="Mint", hex="#98FF98"))
FAKE_AREA = PrintArea(width_mm=120, height_mm=60, dpi=200, min_dpi=100, safe_margin_mm=2)


class FakeHost(HostAdapter):
    """Describes the shop's products unlike their own fields (other colours, type, category, print
    area): whatever the plugin does must follow this description, not the database columns."""

    material_ids: tuple = ()
    style_ids: tuple = ()

    def products(self):
        return Product.objects.all()

    def product_info(self, product) -> ProductInfo:
        return ProductInfo(
            pk=product.pk,
            slug=product.slug,
            name=f"Fake {product.name}",
            category_slug="fake-things",
            category_name="Fake things",
            product_type="mug",
            brand_id=product.brand_id,
            base_colors=FAKE_COLORS,
            print_area=FAKE_AREA,
            material_ids=self.material_ids,
            style_ids=self.style_ids,
        )


class BrandlessHost(FakeHost):
    def product_info(self, product) -> ProductInfo:
        return dataclasses.replace(super().product_info(product), brand_id=None)


class UnpublishedHost(FakeHost):
    def product_info(self, product) -> ProductInfo:
        return dataclasses.replace(super().product_info(product), is_published=False)


class NotAnAdapter:
    pass


class HalfAnAdapter(HostAdapter):
    """Describes no product: product_info is missing."""

    def products(self):
        return None


def adapter(path: str):
    """override_settings naming this host adapter (the cached adapter is forgotten on change)."""
    return override_settings(PERSONALIZATION={**settings.PERSONALIZATION, "HOST_ADAPTER": path})


FAKE = "tests.personalization.test_host_adapter.FakeHost"


def submit(product, **fields):
    values = {"base_color": "Plum", "description": "A lighthouse at dusk", "steps": 4, "seed": 7}
    return generation_request_create(product=product, **{**values, **fields}, session_key="host-test")


# --- the bundled shop's adapter -------------------------------------------------------------------


def test_the_shop_is_the_configured_host():
    assert type(host()) is ShopHost


def test_shop_host_product_info_maps_every_field():
    cotton, linen = make_material(), make_material()
    brand = make_brand()
    product = make_product(
        brand=brand,
        category=make_category(name="Kitchen items", slug="kitchen-items"),
        name="Harbour mug",
        slug="harbour-mug",
        product_type="mug",
        price=Decimal("12.50"),
        print_width_mm=200,
        print_height_mm=90,
        print_dpi=250,
        min_dpi=120,
        safe_margin_mm=4,
        mockup_box_left=0.1,
        mockup_box_top=0.2,
        mockup_box_width=0.5,
        mockup_box_height=0.6,
        model_preset="sd-turbo",
        colors=(("White", "#FFFFFF"), ("Navy", "#1D2951")),
        materials=(cotton, linen),
    )
    product.mockup_template.save("mug.png", ContentFile(png()), save=True)

    info = ShopHost().product_info(Product.objects.get(pk=product.pk))

    assert info.pk == product.pk and info.slug == "harbour-mug" and info.name == "Harbour mug"
    assert (info.category_slug, info.category_name) == ("kitchen-items", "Kitchen items")
    assert info.product_type == "mug" and info.brand_id == brand.pk
    assert info.base_colors == (BaseColor("White", "#FFFFFF"), BaseColor("Navy", "#1D2951"))
    assert info.base_color(" navy ") == BaseColor("Navy", "#1D2951")
    assert info.print_area == PrintArea(width_mm=200, height_mm=90, dpi=250, min_dpi=120, safe_margin_mm=4)
    assert info.price == Decimal("12.50") and info.currency == "" and info.is_published is True
    assert set(info.material_ids) == {cotton.pk, linen.pk} and info.style_ids == ()
    assert info.mockup_template.name == product.mockup_template.name
    assert info.mockup_box == (0.1, 0.2, 0.5, 0.6)
    assert info.model_preset == "sd-turbo" and info.model_preset in presets.names()
    assert info.url == reverse("shop:product", kwargs={"slug": "harbour-mug"})


def test_shop_host_without_mockup_or_preset():
    info = ShopHost().product_info(make_product())
    assert info.mockup_template is None and info.model_preset == "" and info.material_ids == ()


def test_shop_host_products_are_the_published_ones():
    shown, hidden = make_product(), make_product(is_published=False)
    products = ShopHost().products()
    assert shown in products and hidden not in products
    assert ShopHost().get_product(slug=shown.slug) == shown
    assert ShopHost().get_product(slug=hidden.slug) is None
    infos = ShopHost().product_infos([shown])
    assert [i.slug for i in infos] == [shown.slug]


# --- a host that describes its products otherwise ----------------------------------------------


def test_submit_follows_the_adapter_not_the_database():
    product = make_product(colors=(("White", "#FFFFFF"),))
    with adapter(FAKE):
        assert isinstance(host(), FakeHost)
        with pytest.raises(ValidationError) as refused:
            submit(product, base_color="White")  # a colour of the database row, not of the adapter
        assert "Plum, Mint" in refused.value.message_dict["base_color"][0]

        req = submit(product, base_color="mint")
    assert req.base_color_name == "Mint" and req.base_color_hex == "#98FF98"
    assert req.product == product and req.brand == product.brand
    assert "mug" in req.optimized_prompt and "t-shirt" not in req.optimized_prompt
    assert type(host()) is ShopHost  # the setting restored: the cached adapter was forgotten


def test_materials_and_styles_follow_the_adapter():
    offered, other = make_material(), make_material()
    product = make_product()
    FakeHost.material_ids = (offered.pk,)
    try:
        with adapter(FAKE):
            with pytest.raises(ValidationError) as refused:
                submit(product, material=other)
            assert refused.value.message_dict["material"] == [
                f"Fake {product.name} is not made in {other.name}."
            ]
            assert submit(product, material=offered).material == offered
    finally:
        FakeHost.material_ids = ()


def test_a_product_without_a_brand_cannot_be_personalized():
    product = make_product()
    host_path = "tests.personalization.test_host_adapter.BrandlessHost"
    with adapter(host_path), pytest.raises(ValidationError) as refused:
        submit(product)
    assert "belongs to no brand" in refused.value.message_dict["product"][0]
    assert not GenerationRequest.objects.exists()


def test_an_unpublished_product_cannot_be_personalized():
    product = make_product()
    host_path = "tests.personalization.test_host_adapter.UnpublishedHost"
    with adapter(host_path), pytest.raises(ValidationError) as refused:
        submit(product)
    assert refused.value.message_dict["product"] == ["Choose a product from the catalogue."]


def test_the_studio_offers_the_adapters_colours(client):
    product = make_product(colors=(("White", "#FFFFFF"),))
    with adapter(FAKE):
        page = client.get(reverse("personalization:product_fields"), {"product": product.slug})
        studio = client.get(reverse("personalization:studio")).content.decode()
    body = page.content.decode()
    assert page.status_code == 200
    assert 'value="Plum"' in body and 'value="Mint"' in body and 'value="White"' not in body
    assert f"Fake {product.name} · Fake things" in studio


def test_the_report_groups_by_the_adapters_category():
    product = make_product(category=make_category(name="Apparel", slug="apparel"))
    GenerationRequest.objects.create(
        product=product,
        brand=product.brand,
        base_color_name="Plum",
        base_color_hex="#8E4585",
        description="x",
        seed=1,
    )
    with adapter(FAKE):
        rows = category_report()
    assert [(r["category"], r["requests"]) for r in rows] == [("Fake things", 1)]


def test_a_frozen_design_keeps_the_adapters_print_area():
    product = make_product()
    req = GenerationRequest.objects.create(
        product=product,
        brand=product.brand,
        base_color_name="Plum",
        base_color_hex="#8E4585",
        description="x",
        seed=1,
        optimized_prompt="x, mug print",
        model_name="tiny-sd21",
        scheduler_name="DPM++ 2M",
        status=GenerationRequest.Status.SUCCEEDED,
    )
    image = GenerationImage(request=req, index=0, seed=1, width=64, height=64)
    image.image.save("design.png", ContentFile(png()), save=False)
    image.save()
    order = Order.objects.create(
        number="HOST0001",
        full_name="A",
        email="a@example.com",
        address_line1="1",
        city="C",
        postcode="P",
        country="GB",
    )
    line = OrderLine.objects.create(
        order=order,
        product=product,
        product_name="x",
        product_slug="x",
        product_type="mug",
        base_color_name="Plum",
        base_color_hex="#8E4585",
        quantity=1,
        unit_price=Decimal("1"),
    )
    with adapter(FAKE):
        design = line_design_create(order_line=line, image=image)
    assert design.print_area == FAKE_AREA.as_dict()


# --- system checks ----------------------------------------------------------------------------


def host_settings(**changes):
    values = {**settings.PERSONALIZATION, **changes}
    return override_settings(PERSONALIZATION={k: v for k, v in values.items() if v is not None})


def error_ids(errors) -> list[str]:
    return [e.id for e in errors]


def test_the_bundled_shop_passes_the_checks():
    assert checks.check_host() == [] and checks.check_presets() == []


def test_missing_host_settings_are_errors():
    with host_settings(PRODUCT_MODEL=None, ORDER_LINE_MODEL=None, HOST_ADAPTER=None):
        errors = checks.check_host()
    assert error_ids(errors) == ["personalization.E001", "personalization.E002", "personalization.E003"]
    assert all("docs/PLUGIN.md" in e.hint for e in errors)
    assert 'PERSONALIZATION["PRODUCT_MODEL"]' in errors[0].hint


def test_models_that_are_not_installed_are_errors():
    with host_settings(PRODUCT_MODEL="shop.Nothing", ORDER_LINE_MODEL="no_such_app.Line"):
        errors = checks.check_host()
    assert error_ids(errors) == ["personalization.E001", "personalization.E002"]
    assert "'shop.Nothing' is not an installed model" in errors[0].msg


@pytest.mark.parametrize(
    "path",
    [
        "tests.personalization.test_host_adapter.Missing",
        "no_such_module.Host",
        "tests.personalization.test_host_adapter.NotAnAdapter",
        "tests.personalization.test_host_adapter.HalfAnAdapter",
    ],
)
def test_a_bad_host_adapter_is_an_error(path):
    with host_settings(HOST_ADAPTER=path):
        errors = checks.check_host()
    assert error_ids(errors) == ["personalization.E003"] and path in errors[0].msg


def test_preset_override_problems_are_errors():
    with host_settings(PRESET_OVERRIDES={"nope": {}, "sd21": {"steps": 3}}, DEFAULT_PRESET="sd99"):
        problems = presets.override_problems()
        errors = checks.check_presets()
    assert len(problems) == 3
    assert error_ids(errors) == ["personalization.E004"] * 3
    assert [e.msg for e in errors] == problems


def test_manage_py_check_names_the_missing_settings():
    """A project without the host's settings still loads its models; `check` says what to set."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--settings", "tests.settings_no_host"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    for error_id in ("personalization.E001", "personalization.E002", "personalization.E003"):
        assert error_id in output, output
    assert "Traceback" not in output, output


def test_an_adapter_missing_a_required_method_is_named():
    with host_settings(HOST_ADAPTER="tests.personalization.test_host_adapter.HalfAnAdapter"):
        [error] = checks.check_host()
        assert "does not implement product_info" in error.msg
        hosts.host.cache_clear()
        with pytest.raises(ImproperlyConfigured, match="does not implement product_info"):
            hosts.host()
