"""``Product.model_preset`` offers the plugin's model presets through a callable
(``personalization.interface.preset_choices``): a preset added to the plugin is offered at once, and
the shop needs no migration for it."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from personalization import interface, presets
from shop.models import Product
from tests.factories import make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_more_preset(monkeypatch):
    monkeypatch.setattr(presets, "CHOICES", [*presets.CHOICES, ("sd-next", "A preset added later")])


def test_the_choices_are_the_plugins_presets():
    assert interface.preset_choices() == presets.CHOICES
    assert [name for name, _ in interface.preset_choices()] == list(presets.names())
    assert Product._meta.get_field("model_preset").deconstruct()[3]["choices"] is interface.preset_choices


def test_a_preset_added_to_the_plugin_is_offered_without_a_shop_migration(one_more_preset):
    product = make_product()
    product.model_preset = "sd-next"
    product.full_clean()  # a valid choice now
    assert ("sd-next", "A preset added later") in Product._meta.get_field("model_preset").choices
    call_command("makemigrations", "shop", "--check", "--dry-run", verbosity=0)  # SystemExit(1) if stale


def test_an_unknown_preset_is_still_refused():
    product = make_product()
    product.model_preset = "sd-nope"
    with pytest.raises(ValidationError, match="not a valid choice"):
        product.full_clean()
