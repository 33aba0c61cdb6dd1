"""Every throttle scope of the project's APIs has a rate in the project's settings (a missing one
would turn each throttled request into a server error): the plugin's, the shop's and the token
view's throttles, all counter-backed on the plugin's bases."""

import inspect

import pytest
from rest_framework.throttling import SimpleRateThrottle

from apikit.views import AuthTokenView
from config import api as project_api
from personalization import interface
from personalization.api import throttles as plugin_throttles
from shop.api import throttles as shop_throttles

MODULES = (plugin_throttles, shop_throttles, project_api)

SCOPED = [
    cls
    for module in MODULES
    for _, cls in inspect.getmembers(module, inspect.isclass)
    if cls.__module__ == module.__name__
    and issubclass(cls, SimpleRateThrottle)
    and getattr(cls, "scope", None)
]


def test_the_throttle_modules_are_what_the_apis_use():
    assert {cls.scope for cls in SCOPED} >= {
        "generation_submit_user",
        "generation_submit_ip",
        "order_create_user",
        "auth_token",
    }
    assert all(issubclass(cls, interface.CounterThrottle) for cls in SCOPED)


@pytest.mark.parametrize("throttle_class", SCOPED, ids=lambda cls: cls.scope)
def test_every_scope_has_a_rate_in_settings(throttle_class):
    num_requests, duration = throttle_class().parse_rate(throttle_class().get_rate())
    assert num_requests > 0 and duration > 0


def test_the_token_view_alone_is_throttled_under_its_scope():
    """apikit's token view, used without the project's wiring, still throttles (DRF's scoped
    throttle) under the ``auth_token`` rate."""
    view = AuthTokenView()
    assert view.throttle_scope == "auth_token"
    assert view.get_throttles(), "an unthrottled token view would let anyone guess passwords at will"
