"""The API's submit with django-q2's broker down (issue 14): 202, the row committed and woken later
by the sweeper, once."""

import pytest

from personalization.conf import conf
from personalization.models import GenerationRequest
from personalization.tasks import sweep
from tests.broker_helpers import Broker, broken_broker, sweeps
from tests.personalization.api.test_generations import URL, body


@pytest.fixture
def broker(monkeypatch) -> Broker:
    return broken_broker(monkeypatch)


@pytest.mark.django_db(transaction=True)
def test_submit_with_the_broker_down_answers_202_and_the_sweep_wakes_it_once(api, catalogue, broker):
    response = api.post(URL, body(), format="json")
    assert response.status_code == 202, response.content
    generation = GenerationRequest.objects.get()
    assert response.json()["id"] == str(generation.pk) and generation.status == "queued"
    assert broker.refused == 1 and broker.sent == []
    broker.up = True
    for at in sweeps(generation.created_at, every=10, count=conf.LEASE_SECONDS * 4 // 10):
        sweep(now=at)
    assert broker.sent == [f"generation-{generation.pk}"]
