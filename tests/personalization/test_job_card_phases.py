"""What the polled status endpoints say in each phase (the HTMX job card, the API detail), and what
one poll costs in queries, however long the queue."""

import pytest
import yaml
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from personalization import eta
from personalization.models import GenerationRequest
from personalization.services import generation_request_create
from tests.factories import make_product, make_user
from tests.personalization.api.conftest import token_client

pytestmark = pytest.mark.django_db
Status = GenerationRequest.Status
Phase = GenerationRequest.Phase
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def product():
    return make_product()


def generation(product, *, key="visitor-me", user=None, **fields) -> GenerationRequest:
    g = generation_request_create(
        product=product, base_color="White", description="a fox in the snow", session_key=key, customer=user
    )
    GenerationRequest.objects.filter(pk=g.pk).update(**fields)
    g.refresh_from_db()
    return g


def card(client, g) -> str:
    response = client.get(reverse("personalization:job", args=[g.pk]), **HX)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    ("phase", "step", "words"),
    [
        (Phase.GENERATING, 10, "Step 10 of 25"),
        (Phase.RESEEDING, 2, "Re-drawing an off-brand variation: step 2 of 25"),
        (Phase.POSTPROCESSING, 25, "Checking brand colours and content…"),
        (Phase.STORING, 25, "Drawing the mockups and saving your design…"),
    ],
)
def test_the_card_says_what_is_happening_in_each_phase(me, product, phase, step, words):
    g = generation(
        product, status=Status.RUNNING, phase=phase, progress_step=step, steps=25, progress_total=25
    )
    html = card(me, g)
    assert words in html
    assert f'data-phase="{phase}"' in html and 'hx-trigger="every 1s"' in html
    assert "left" in html  # an ETA while it runs
    if phase in (Phase.POSTPROCESSING, Phase.STORING):
        assert "Step 25 of 25" not in html  # never "25 of 25" with no word of what happens


def test_the_queued_card_gives_the_position_and_the_wait(me, product):
    generation(product, key="someone-else", width=768, height=768)  # another size: its own batch
    html = card(me, generation(product))
    assert "Number 2 in the queue." in html and "Estimated wait: about" in html


def test_a_request_that_shares_the_next_batch_is_next(me, product):
    generation(product, key="someone-else")  # the same configuration: one pipeline call for both
    html = card(me, generation(product))
    assert "Number 1 in the queue." in html and "Estimated wait: about" in html


def test_the_api_detail_has_the_phase(product, settings):
    settings.SECURE_SSL_REDIRECT = False
    user = make_user()
    api = token_client(user)
    queued = generation(product, key="", user=user)
    data = api.get(f"/api/v1/generations/{queued.pk}/").json()
    assert (data["status"], data["phase"], data["queue_position"]) == ("queued", "queued", 1)
    assert data["eta_seconds"] > 0
    GenerationRequest.objects.filter(pk=queued.pk).update(status=Status.RUNNING, phase=Phase.RESEEDING)
    data = api.get(f"/api/v1/generations/{queued.pk}/").json()
    assert (data["status"], data["phase"], data["queue_position"]) == ("running", "reseeding", 0)
    assert data["eta_seconds"] > 0


def test_the_schema_documents_the_phase_as_an_enum(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schemas = yaml.safe_load(target.read_text())["components"]["schemas"]
    phase = schemas["Generation"]["properties"]["phase"]
    refs = {ref["$ref"].rsplit("/", 1)[1] for ref in phase["oneOf"]}
    enums = {value for name in refs for value in schemas[name]["enum"]}
    assert enums == {"", "queued", "generating", "reseeding", "postprocessing", "storing"}
    assert phase["readOnly"] is True


def polls(client, url, **extra) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, **extra).status_code == 200
    return len(queries)


# One poll of a queued request (after the first, which fills the caches): the caller's token (the
# card's session comes from the shared cache), the request with its product and brand (one query),
# the queued requests ahead (one grouped query) and the running ones (one query); the API lists the
# images (none yet), the card shows them only once it has succeeded. The card's poll also measures
# the throughput table afresh (two queries: the window, the live workers), the API's reads it from
# the cache. The host's product info (category, colours, materials) comes from the shared cache.
CARD_QUERIES = 5
API_QUERIES = 5


def test_a_poll_costs_a_bounded_number_of_queries_however_long_the_queue(me, product, settings):
    settings.SECURE_SSL_REDIRECT = False
    # The card's poll measures the throughput table afresh, the API's reads it from the cache.
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "ETA_CACHE_SECONDS": 3600}
    user = make_user()
    api = token_client(user)
    mine = generation(product)
    theirs = generation(product, key="", user=user)
    counts = []
    for ahead in (1, 40):
        for index in range(ahead):  # older than both: ahead of them in the queue
            other = generation(product, key=f"other-{ahead}-{index}", steps=10 + index % 4)
            GenerationRequest.objects.filter(pk=other.pk).update(
                created_at=mine.created_at.replace(year=2000)
            )
        for running in range(3):
            generation(product, key=f"run-{ahead}-{running}", status=Status.RUNNING, worker=f"gpu:{running}")
        card_url, api_url = (
            reverse("personalization:job", args=[mine.pk]),
            f"/api/v1/generations/{theirs.pk}/",
        )
        polls(me, card_url, **HX), polls(api, api_url)  # the first poll fills the caches
        cache.delete(eta.CACHE_KEY)
        counts.append((polls(me, card_url, **HX), polls(api, api_url)))
    assert counts[0] == counts[1]  # the same with 1 or 40 requests ahead
    card_queries, api_queries = counts[1]
    assert card_queries <= CARD_QUERIES and api_queries <= API_QUERIES, counts


def test_a_polled_card_and_detail_still_name_the_style_and_the_material(me, product, settings):
    settings.SECURE_SSL_REDIRECT = False
    from tests.factories import make_material, make_style

    style = make_style(name="Linocut", slug="linocut-poll")
    material = make_material(name="Recycled felt", slug="recycled-felt-poll")
    user = make_user()
    mine = generation(product)
    theirs = generation(product, key="", user=user)
    GenerationRequest.objects.filter(pk__in=[mine.pk, theirs.pk]).update(style=style, material=material)
    html = card(me, mine)
    assert "Linocut" in html and "Recycled felt" in html
    data = token_client(user).get(f"/api/v1/generations/{theirs.pk}/").json()
    assert (data["style"], data["material"]) == ("linocut-poll", "recycled-felt-poll")


# --- the pace of polling ------------------------------------------------------------------------


def test_the_poll_pace_follows_the_wait(product, settings):
    """Every second while running, next in line or due soon; about a tenth of the ETA while queued, at most
    POLL_SECONDS_MAX; None once finished."""
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "POLL_SECONDS_MAX": 10}
    g = generation(product)
    assert eta.poll_after_seconds(g, eta.Wait(1, 9.9)) == 1
    assert eta.poll_after_seconds(g, eta.Wait(1, 600.0)) == 1  # next in line: it may start any moment
    assert eta.poll_after_seconds(g, eta.Wait(3, 45.0)) == 4
    assert eta.poll_after_seconds(g, eta.Wait(40, 600.0)) == 10
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "POLL_SECONDS_MAX": 5}
    assert eta.poll_after_seconds(g, eta.Wait(40, 600.0)) == 5
    g.status = Status.RUNNING
    assert eta.poll_after_seconds(g, eta.Wait(0, 600.0)) == 1
    g.status = Status.SUCCEEDED
    assert eta.poll_after_seconds(g, eta.Wait(0, None)) is None


def test_a_customer_deep_in_the_queue_polls_less_often_until_the_run_starts(me, product, settings):
    settings.SECURE_SSL_REDIRECT = False
    # Nothing measured: 0.25 s per 512x512 step; each request ahead costs its own steps.
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "ETA_DEFAULT_SECONDS_PER_STEP": 0.25}
    user = make_user()
    for _ in range(30):
        generation(product, key="someone-else")
    mine = generation(product, user=user, key="")
    wait = eta.wait_for(mine)
    expected = max(1, min(10, int(wait.eta_seconds // 10)))
    assert expected > 1, wait  # the queue ahead is long enough to slow the polls down
    data = token_client(user).get(f"/api/v1/generations/{mine.pk}/").json()
    assert data["poll_after_seconds"] == expected
    GenerationRequest.objects.filter(pk=mine.pk).update(status=Status.RUNNING, phase=Phase.GENERATING)
    data = token_client(user).get(f"/api/v1/generations/{mine.pk}/").json()
    assert data["poll_after_seconds"] == 1
    GenerationRequest.objects.filter(pk=mine.pk).update(status=Status.SUCCEEDED, phase=Phase.STORING)
    assert token_client(user).get(f"/api/v1/generations/{mine.pk}/").json()["poll_after_seconds"] is None


def test_the_card_polls_at_the_pace_it_is_told(me, product, settings):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "ETA_DEFAULT_SECONDS_PER_STEP": 0.25}
    for _ in range(30):
        generation(product, key="someone-else")
    mine = generation(product)
    pace = eta.poll_after_seconds(mine)
    assert pace > 1
    assert f'hx-trigger="every {pace}s"' in card(me, mine)
    GenerationRequest.objects.filter(pk=mine.pk).update(status=Status.RUNNING, phase=Phase.GENERATING)
    mine.refresh_from_db()
    assert 'hx-trigger="every 1s"' in card(me, mine)
