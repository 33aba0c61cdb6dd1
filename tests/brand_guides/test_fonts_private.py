"""A shop's fonts are licensed to it, not to its visitors: Typography.font_file is written to the
private storage, never to public media; the brand's staff can download it through /private-media/,
a customer, another brand's staff and an anonymous visitor get the same 404 as for a missing file."""

import pytest
from django.core.files.storage import default_storage
from django.test import Client

from personalization.storage import private_storage
from tests.factories import make_user
from tests.private_media import GRANTED, is_file_url, private_path
from tests.text_layer_helpers import brand_with_fonts

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]


def test_font_files_are_private_and_served_to_the_brands_staff_only():
    brand = brand_with_fonts()
    other = brand_with_fonts()
    font = brand.typography.get(role="heading").font_file
    assert private_storage.exists(font.name)
    assert not default_storage.exists(font.name)
    assert is_file_url(font.url, font)
    # The same file name uploaded by two brands: two files (the private storage never overwrites one)
    assert font.name != other.typography.get(role="heading").font_file.name

    owner = make_user("font-owner", is_staff=True)
    brand.owners.add(owner)
    other_staff = make_user("other-staff", is_staff=True)
    other.owners.add(other_staff)
    customer = make_user("font-customer")

    def status(user):
        client = Client()
        if user is not None:
            client.force_login(user)
        return client.get(private_path(font)).status_code

    assert status(owner) == GRANTED
    assert status(make_user("font-root", is_staff=True, is_superuser=True)) == GRANTED
    assert [status(other_staff), status(customer), status(None)] == [404, 404, 404]
