"""The plugin claims a visitor's designs at login with its own ``user_logged_in`` receiver: a host
connects nothing for it (here the bundled shop's receiver is disconnected and it still happens)."""

import pytest
from django.contrib.auth.signals import user_logged_in

from personalization.models import GenerationRequest
from shop.signals import merge_visitor_data
from tests.factories import make_product, make_user, visitor
from tests.foundation_helpers import make_generation

pytestmark = pytest.mark.django_db


@pytest.fixture
def without_the_shops_receiver():
    assert user_logged_in.disconnect(merge_visitor_data), "the shop's receiver was not connected"
    yield
    user_logged_in.connect(merge_visitor_data)


def test_logging_in_claims_the_visitors_designs_without_the_shops_receiver(
    client, without_the_shops_receiver
):
    product = make_product()
    mine = make_generation(product, session_key="visitor-k", customer=None)
    someone_elses = make_generation(product, session_key="visitor-other", customer=None)
    user = make_user("claimer")

    assert visitor(client, "visitor-k").login(username="claimer", password="pass-w0rd-long")

    mine.refresh_from_db()
    someone_elses.refresh_from_db()
    assert mine.customer == user
    assert someone_elses.customer is None
    assert list(GenerationRequest.objects.filter(customer=user)) == [mine]


def test_a_design_of_another_account_is_never_claimed(client, without_the_shops_receiver):
    product = make_product()
    owner = make_user("owner")
    owned = make_generation(product, session_key="visitor-k", customer=owner)
    make_user("claimer")

    assert visitor(client, "visitor-k").login(username="claimer", password="pass-w0rd-long")

    owned.refresh_from_db()
    assert owned.customer == owner


def test_logging_in_without_a_visitor_key_claims_nothing(client):
    product = make_product()
    anonymous = make_generation(product, session_key="visitor-k", customer=None)
    make_user("claimer")

    assert client.login(username="claimer", password="pass-w0rd-long")

    anonymous.refresh_from_db()
    assert anonymous.customer is None
