"""The oscar host builds from scratch, and the plugin reads oscar's catalogue through the adapter."""

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from oscar.core.loading import get_model

from personalization import interface
from personalization.hosts import host
from tests.hosts.oscar.conftest import make_oscar_product
from tests.hosts.oscar.host import OscarHost, parse_base_colors
from tests.hosts.oscar.integration import DESIGN_OPTION_CODE, personalizable_product_class

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.django_db
def test_migrated_from_scratch_with_nothing_left_to_migrate_or_make():
    """The test database was built by running every migration on an empty database (oscar's and the
    plugin's in one go: the plugin's LineDesign points at oscar's order.Line, its GenerationRequest
    at catalogue.Product). Nothing is left unapplied, no model change lacks a migration, and the
    system checks (the plugin's settings checks among them) pass."""
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    assert executor.migration_plan(leaves) == []
    applied = MigrationRecorder(connection).applied_migrations()
    for app in ("personalization", "brand_guides", "apikit", "catalogue", "order", "basket"):
        assert any(label == app for label, _ in applied), app
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)  # SystemExit(1) if missing
    call_command("check", "--fail-level", "WARNING")


@pytest.mark.django_db
def test_the_plugin_points_at_oscars_models():
    from personalization.models import GenerationRequest, LineDesign

    assert GenerationRequest._meta.get_field("product").related_model is get_model("catalogue", "Product")
    assert LineDesign._meta.get_field("order_line").related_model is get_model("order", "Line")
    assert isinstance(host(), OscarHost)


@pytest.mark.django_db
def test_a_personalizable_product_gets_the_design_option(brand):
    product = make_oscar_product(brand=brand, title="Navy hoodie")
    option = product.options.get(code=DESIGN_OPTION_CODE)
    assert option.required and option.type == "text"
    # Idempotent: setting the class up again adds nothing.
    personalizable_product_class()
    assert get_model("catalogue", "Option").objects.filter(code=DESIGN_OPTION_CODE).count() == 1
    assert list(product.options.filter(code=DESIGN_OPTION_CODE)) == [option]


@pytest.mark.django_db
def test_product_info_reads_oscars_attributes_category_and_stock(brand):
    product = make_oscar_product(brand=brand, title="Navy hoodie", colors="White=#FFFFFF,\nNavy=#1f2a44")
    product.attr.model_preset = "sd21-base"
    product.save()
    product = get_model("catalogue", "Product").objects.get(pk=product.pk)

    info = host().product_info(product)
    assert isinstance(info, interface.ProductInfo)
    assert (info.pk, info.slug, info.name) == (product.pk, product.slug, "Navy hoodie")
    assert (info.category_slug, info.category_name) == ("apparel", "Apparel")
    assert info.product_type == "t-shirt"
    assert info.brand_id == brand.pk
    assert [(c.name, c.hex) for c in info.base_colors] == [("White", "#ffffff"), ("Navy", "#1f2a44")]
    assert info.base_color(" navy ").hex == "#1f2a44"
    assert (info.print_area.width_mm, info.print_area.height_mm, info.print_area.dpi) == (250.0, 300.0, 300)
    assert (info.price, info.currency) == (Decimal("24.00"), "GBP")
    assert info.model_preset == "sd21-base"
    assert info.is_published and info.url == product.get_absolute_url()


@pytest.mark.django_db
def test_only_public_products_of_the_personalizable_class_are_offered(brand):
    Product = get_model("catalogue", "Product")
    ProductClass = get_model("catalogue", "ProductClass")
    offered = make_oscar_product(brand=brand)
    hidden = make_oscar_product(brand=brand)
    hidden.is_public = False
    hidden.save()
    books = ProductClass.objects.create(name="Books", slug="books")
    book = Product.objects.create(product_class=books, title="A book", structure=Product.STANDALONE)

    assert list(host().products()) == [offered]
    assert host().get_product(slug=offered.slug) == offered
    assert host().get_product(pk=hidden.pk) is None
    assert host().get_product(pk=book.pk) is None


def _lint_imports(config: Path) -> subprocess.CompletedProcess:
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(lint), "--config", str(config), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_host_imports_nothing_of_the_plugin_but_its_interface(tmp_path):
    config = ROOT / "tests" / "hosts" / "oscar" / "importlinter.toml"
    kept = _lint_imports(config)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "1 kept, 0 broken" in kept.stdout
    # The contract bites: without its one allowed import (the interface) the host breaks it.
    strict = tmp_path / "strict.toml"
    strict.write_text(
        "\n".join(line for line in config.read_text().splitlines() if "ignore_imports" not in line)
    )
    broken = _lint_imports(strict)
    assert broken.returncode != 0 and "0 kept, 1 broken" in broken.stdout
    assert "tests.hosts.oscar.integration -> personalization.interface" in broken.stdout


def test_base_colours_skip_malformed_entries():
    assert [(c.name, c.hex) for c in parse_base_colors("White=#fff, Red=#FF0000, =#000000, Blue")] == [
        ("Red", "#ff0000")
    ]


@pytest.mark.django_db
def test_the_plugins_admin_lists_designs_of_oscar_products(client, product):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser(username="root", email="root@example.com", password="x")
    generation = interface.submit_design(
        product=product, base_color="White", description="A paper crane", customer=admin
    )
    client.force_login(admin)
    listed = client.get("/admin/personalization/generationrequest/")
    assert listed.status_code == 200 and "A paper crane" in listed.content.decode()
    change = client.get(f"/admin/personalization/generationrequest/{generation.pk}/change/")
    assert change.status_code == 200 and product.get_title() in change.content.decode()
    assert client.get("/admin/personalization/linedesign/").status_code == 200
