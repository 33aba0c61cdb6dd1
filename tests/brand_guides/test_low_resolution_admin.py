"""The shop owner's choice below the minimum print resolution, in the brand's admin form."""

import pytest
from django.urls import reverse

from tests.factories import make_brand


@pytest.mark.django_db
def test_the_brand_form_offers_the_low_resolution_choice(admin_client):
    brand = make_brand(low_resolution="block")
    response = admin_client.get(reverse("admin:brand_guides_brand_change", args=[brand.pk]))
    form = response.context["adminform"].form
    assert form.initial["low_resolution"] == "block"
    html = response.content.decode()
    assert 'name="low_resolution"' in html
    assert "Upscale with the print upscaler" in html and "Block the order" in html
