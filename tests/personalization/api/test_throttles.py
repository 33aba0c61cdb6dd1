"""Every throttle scope of the API has a rate in the project's settings (a missing one would turn
each throttled request into a server error)."""

import inspect

import pytest
from rest_framework.throttling import SimpleRateThrottle

from personalization.api import throttles

SCOPED = [
    cls
    for _, cls in inspect.getmembers(throttles, inspect.isclass)
    if cls.__module__ == throttles.__name__ and issubclass(cls, SimpleRateThrottle) and cls.scope
]


def test_the_throttles_module_is_what_the_api_uses():
    assert {cls.scope for cls in SCOPED} >= {
        "generation_submit_user",
        "generation_submit_ip",
        "order_create_user",
        "auth_token",
    }


@pytest.mark.parametrize("throttle_class", SCOPED, ids=lambda cls: cls.scope)
def test_every_scope_has_a_rate_in_settings(throttle_class):
    num_requests, duration = throttle_class().parse_rate(throttle_class().get_rate())
    assert num_requests > 0 and duration > 0
