from tests.personalization.api.conftest import (  # noqa: F401
    _api_settings,
    anon,
    api,
    catalogue,
    generation_factory,
    other_api,
    other_user,
    throttle_rates,
    user,
)
