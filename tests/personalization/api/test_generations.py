import io
from urllib.parse import urljoin

import pytest
from django.urls import reverse

from apikit.models import IdempotencyKey
from personalization.models import GenerationRequest
from tests.personalization.api.conftest import png_bytes

URL = "/api/v1/generations/"


def body(**overrides):
    data = {
        "product": "harbour-tee",
        "base_color": "White",
        "description": "a lighthouse on a cliff at dawn",
        "style": "watercolour",
        "material": "organic-cotton",
        "steps": 20,
        "guidance_scale": 7.5,
        "seed": 1234,
        "variations": 2,
    }
    data.update(overrides)
    return data


# --- submitting ------------------------------------------------------------------------------------


def test_submit_json_answers_202_with_location(
    api, catalogue, user, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr("personalization.queue.enqueue_generation", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(URL, body(), format="json")
    assert response.status_code == 202, response.data
    data = response.json()
    generation = GenerationRequest.objects.get()
    assert data["id"] == str(generation.pk)
    assert data["status"] == "queued"
    assert data["queue_position"] == 1
    assert data["optimized_prompt"] and data["negative_prompt"]
    assert response["Location"] == f"http://testserver{URL}{generation.pk}/"
    assert generation.customer == user
    assert (generation.seed, generation.steps, generation.variations) == (1234, 20, 2)
    assert generation.style == catalogue["style"] and generation.material == catalogue["material"]
    assert queued == [generation.pk]


def test_submit_minimal_body_uses_defaults(api, catalogue):
    response = api.post(
        URL, {"product": "harbour-tee", "base_color": "black", "description": "a gull"}, format="json"
    )
    assert response.status_code == 202, response.data
    assert response.json()["base_color"] == "Black"
    assert response.json()["variations"] == 1


def test_submit_multipart_with_reference_image(api, catalogue):
    upload = io.BytesIO(png_bytes((64, 64)))
    upload.name = "reference.png"
    response = api.post(URL, {**body(), "strength": "0.5", "reference_image": upload}, format="multipart")
    assert response.status_code == 202, response.data
    generation = GenerationRequest.objects.get()
    assert generation.reference_sha256 and generation.reference_image
    assert generation.strength == 0.5


def test_policy_rejection_answers_422(api, catalogue):
    response = api.post(URL, body(description="a zebra on a surfboard"), format="json")
    assert response.status_code == 422
    data = response.json()
    generation = GenerationRequest.objects.get()
    assert data == {"code": "banned_term", "message": generation.error_message, "id": str(generation.pk)}
    assert generation.status == "rejected"


def test_trademark_rejection_answers_422(api, catalogue):
    response = api.post(URL, body(description="Batman logo on a wave"), format="json")
    assert response.status_code == 422
    assert response.json()["code"] == "trademark"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"steps": "many"}, "steps"),
        ({"steps": 0}, "steps"),
        ({"steps": 10_000}, "steps"),
        ({"steps": 2.5}, "steps"),
        ({"steps": True}, "steps"),
        ({"steps": "NaN"}, "steps"),
        ({"steps": 10**400}, "steps"),
        ({"guidance_scale": -1}, "guidance_scale"),
        ({"guidance_scale": 99}, "guidance_scale"),
        ({"guidance_scale": "NaN"}, "guidance_scale"),
        ({"guidance_scale": "Infinity"}, "guidance_scale"),
        ({"guidance_scale": "-inf"}, "guidance_scale"),
        ({"guidance_scale": [1]}, "guidance_scale"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**32}, "seed"),
        ({"seed": "abc"}, "seed"),
        ({"variations": 0}, "variations"),
        ({"variations": 99}, "variations"),
        ({"strength": 0}, "strength"),
        ({"strength": 1.5}, "strength"),
        ({"size": 123}, "size"),
        ({"product": "no-such-product"}, "product"),
        ({"product": 7}, "product"),
        ({"product": None}, "product"),
        ({"base_color": "Chartreuse"}, "base_color"),
        ({"base_color": ["White"]}, "base_color"),
        ({"style": "no-such-style"}, "style"),
        ({"material": "no-such-material"}, "material"),
        ({"description": ""}, "description"),
        ({"description": "   "}, "description"),
        ({"description": 12}, "description"),
        ({"description": {"text": "a gull"}}, "description"),
        ({"description": "a gull\x07 on a rock"}, "description"),
        ({"description": "a gull\x00 on a rock"}, "description"),
        ({"description": "a gull \u202e kcor a no"}, "description"),
        ({"description": "word " * 400}, "description"),
        ({"reference_image": "not-a-file"}, "reference_image"),
    ],
)
def test_bad_input_answers_400_with_field_errors(api, catalogue, overrides, field):
    response = api.post(URL, body(**overrides), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not GenerationRequest.objects.exists()


def test_material_not_allowed_for_the_product(api, catalogue):
    from tests.factories import make_material

    make_material(slug="steel")
    response = api.post(URL, body(material="steel"), format="json")
    assert response.status_code == 400
    assert "material" in response.json()


def test_missing_fields_answer_400(api, catalogue):
    response = api.post(URL, {}, format="json")
    assert response.status_code == 400
    assert {"product", "base_color", "description"} <= set(response.json())


HEAD = '{"product": "harbour-tee", "base_color": "White", '


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (HEAD + '"description": "a gull", "steps": NaN}', "steps"),
        (
            HEAD + '"description": "a gull", "guidance_scale": Infinity}',
            "guidance_scale",
        ),
        (
            HEAD + '"description": "a gull", "strength": -Infinity}',
            "strength",
        ),
        (HEAD + '"description": NaN}', "description"),
        (HEAD + '"description": "a gull", "seed": 1e999}', "seed"),
    ],
)
def test_non_finite_json_numbers_answer_400_on_the_field(api, catalogue, raw, field):
    response = api.post(URL, raw, content_type="application/json")
    assert response.status_code == 400, response.content
    assert field in response.json()


@pytest.mark.parametrize("raw", ['{"product": ', "[1, 2]", '"text"', "null", "\xff\xfe"])
def test_malformed_json_answers_400(api, catalogue, raw):
    response = api.post(URL, raw.encode("latin-1"), content_type="application/json")
    assert response.status_code == 400


def test_unsupported_media_type_answers_415(api, catalogue):
    response = api.post(URL, "<xml/>", content_type="application/xml")
    assert response.status_code == 415


def test_malformed_image_answers_400(api, catalogue):
    upload = io.BytesIO(b"GIF89a this is not really an image" * 10)
    upload.name = "broken.png"
    response = api.post(URL, {**body(), "reference_image": upload}, format="multipart")
    assert response.status_code == 400
    assert "reference_image" in response.json()


def test_truncated_image_answers_400(api, catalogue):
    upload = io.BytesIO(png_bytes((256, 256))[:120])
    upload.name = "truncated.png"
    response = api.post(URL, {**body(), "reference_image": upload}, format="multipart")
    assert response.status_code == 400
    assert "reference_image" in response.json()


def test_empty_image_answers_400(api, catalogue):
    upload = io.BytesIO(b"")
    upload.name = "empty.png"
    response = api.post(URL, {**body(), "reference_image": upload}, format="multipart")
    assert response.status_code == 400
    assert "reference_image" in response.json()


def test_oversized_image_answers_400(api, catalogue, settings):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "REFERENCE_MAX_BYTES": 2048}
    upload = io.BytesIO(png_bytes((256, 256)) + b"\0" * 4096)
    upload.name = "big.png"
    response = api.post(URL, {**body(), "reference_image": upload}, format="multipart")
    assert response.status_code == 400
    assert "too large" in response.json()["reference_image"][0]


def test_too_many_pixels_answers_400(api, catalogue, settings):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "REFERENCE_MAX_PIXELS": 100 * 100}
    upload = io.BytesIO(png_bytes((200, 200)))
    upload.name = "wide.png"
    response = api.post(URL, {**body(), "reference_image": upload}, format="multipart")
    assert response.status_code == 400
    assert "pixels" in response.json()["reference_image"][0]


def test_multipart_strings_are_parsed(api, catalogue):
    response = api.post(URL, {**body(), "steps": "NaN", "seed": "1e3"}, format="multipart")
    assert response.status_code == 400
    assert {"steps", "seed"} <= set(response.json())


# --- quota and throttles ---------------------------------------------------------------------------


def test_daily_quota_answers_429_with_retry_after(api, catalogue, settings):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "DAILY_QUOTA": 1}
    assert api.post(URL, body(), format="json").status_code == 202
    response = api.post(URL, body(), format="json")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 86_401
    assert "Daily limit" in response.json()["detail"]
    assert GenerationRequest.objects.count() == 1


def test_user_throttle_answers_429_with_retry_after(api, catalogue, throttle_rates):
    throttle_rates(generation_submit_user="2/min", generation_submit_ip="100/min")
    assert [api.post(URL, body(), format="json").status_code for _ in range(2)] == [202, 202]
    response = api.post(URL, body(), format="json")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    # Reading is not throttled.
    assert api.get(URL).status_code == 200


def test_ip_throttle_holds_across_users_and_rotating_forwarded_for(catalogue, throttle_rates):
    """Behind one proxy, only the address the proxy appended counts; what the client puts in front of it
    in X-Forwarded-For is ignored, so rotating it does not reset the limit."""
    from tests.factories import make_user
    from tests.personalization.api.conftest import token_client

    throttle_rates(num_proxies=1, generation_submit_user="100/min", generation_submit_ip="3/min")
    codes = []
    for i in range(5):
        client = token_client(make_user())  # a fresh account each time, too
        response = client.post(
            URL,
            body(),
            format="json",
            HTTP_X_FORWARDED_FOR=f"10.0.{i}.{i}, 203.0.113.7",
            REMOTE_ADDR="127.0.0.1",
        )
        codes.append(response.status_code)
    assert codes == [202, 202, 202, 429, 429]
    # Another client address (as appended by the proxy) has its own budget.
    other = token_client(make_user())
    response = other.post(
        URL, body(), format="json", HTTP_X_FORWARDED_FOR="203.0.113.8", REMOTE_ADDR="127.0.0.1"
    )
    assert response.status_code == 202


def test_ip_throttle_without_proxies_ignores_forwarded_for(catalogue, throttle_rates):
    from tests.factories import make_user
    from tests.personalization.api.conftest import token_client

    throttle_rates(num_proxies=0, generation_submit_user="100/min", generation_submit_ip="2/min")
    codes = [
        token_client(make_user())
        .post(URL, body(), format="json", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
        .status_code
        for i in range(3)
    ]
    assert codes == [202, 202, 429]


@pytest.mark.parametrize("tight", ["generation_submit_user", "generation_submit_ip"])
def test_idempotent_replay_neither_uses_nor_needs_throttle_budget(api, catalogue, throttle_rates, tight):
    """A client retrying after a network error gets its first answer, even at its limit."""
    throttle_rates(**{"generation_submit_user": "100/min", "generation_submit_ip": "100/min", tight: "2/min"})
    first = api.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="retry-me")
    assert first.status_code == 202
    assert api.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="retry-me").status_code == 202
    # The replay used none of the budget: one more new request fits, and that fills it.
    assert api.post(URL, body(seed=2), format="json").status_code == 202
    assert api.post(URL, body(seed=3), format="json").status_code == 429

    replay = api.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="retry-me")
    assert replay.status_code == 202
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json() and replay["Location"] == first["Location"]
    # A new key, or the stored key with another body, is a new request: refused at the limit.
    assert api.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="new-key").status_code == 429
    assert api.post(URL, body(seed=9), format="json", HTTP_IDEMPOTENCY_KEY="retry-me").status_code == 429
    assert GenerationRequest.objects.count() == 2
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["retry-me"]


def test_another_users_key_is_not_a_replay_for_the_throttle(api, other_api, catalogue, throttle_rates):
    throttle_rates(generation_submit_user="100/min", generation_submit_ip="2/min")
    assert api.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="shared").status_code == 202
    assert api.post(URL, body(seed=2), format="json").status_code == 202
    # Same address, same key and body, but another account: a new request, over the address's limit.
    assert other_api.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="shared").status_code == 429
    assert api.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="shared").status_code == 202


# --- idempotency -----------------------------------------------------------------------------------


def test_idempotent_retry_replays_the_first_response(api, catalogue):
    first = api.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="order-42")
    again = api.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="order-42")
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true"
    assert GenerationRequest.objects.count() == 1
    assert IdempotencyKey.objects.get().response_status == 202


def test_idempotent_retry_of_multipart_with_another_boundary_replays(api, catalogue):
    def upload():
        file = io.BytesIO(png_bytes((40, 40)))
        file.name = "ref.png"
        return file

    first = api.post(
        URL, {**body(), "reference_image": upload()}, format="multipart", HTTP_IDEMPOTENCY_KEY="k1"
    )
    again = api.post(
        URL, {**body(), "reference_image": upload()}, format="multipart", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert first.status_code == again.status_code == 202
    assert GenerationRequest.objects.count() == 1


def test_idempotency_key_with_another_body_answers_409(api, catalogue):
    assert api.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 202
    response = api.post(URL, body(seed=7), format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 409
    assert "Idempotency-Key" in response.json()["detail"]
    assert GenerationRequest.objects.count() == 1


def test_idempotency_replays_a_policy_rejection(api, catalogue):
    first = api.post(URL, body(description="a zebra"), format="json", HTTP_IDEMPOTENCY_KEY="z")
    again = api.post(URL, body(description="a zebra"), format="json", HTTP_IDEMPOTENCY_KEY="z")
    assert first.status_code == again.status_code == 422
    assert first.json() == again.json()
    assert GenerationRequest.objects.count() == 1


def test_idempotency_does_not_store_validation_errors(api, catalogue):
    assert api.post(URL, body(steps=0), format="json", HTTP_IDEMPOTENCY_KEY="fix-me").status_code == 400
    assert api.post(URL, body(steps=0), format="json", HTTP_IDEMPOTENCY_KEY="fix-me").status_code == 400
    assert api.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="fix-me").status_code == 202


def test_idempotency_keys_are_per_user(api, other_api, catalogue):
    assert api.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="same").status_code == 202
    assert other_api.post(URL, body(seed=9), format="json", HTTP_IDEMPOTENCY_KEY="same").status_code == 202
    assert GenerationRequest.objects.count() == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "bad\x01key"])
def test_bad_idempotency_key_answers_400(api, catalogue, key):
    response = api.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()


def test_idempotency_race_on_the_unique_key_replays_the_winner(api, catalogue, monkeypatch):
    """Two requests with one key, both past the lookup before either stored: the loser's insert hits the
    unique constraint, its transaction (with its generation) rolls back and it replays the winner."""
    from apikit import idempotency

    first = api.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="race")
    real_stored = idempotency._stored
    calls = []

    def stored_late(**kwargs):
        calls.append(kwargs)
        return None if len(calls) == 1 else real_stored(**kwargs)  # the winner's row not yet visible

    monkeypatch.setattr(idempotency, "_stored", stored_late)
    loser = api.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="race")
    assert loser.status_code == 202
    assert loser.json()["id"] == first.json()["id"]
    assert GenerationRequest.objects.count() == 1
    assert len(calls) == 2


# --- reading ---------------------------------------------------------------------------------------


def test_detail_shows_status_images_timings_and_absolute_urls(api, user, generation_factory):
    generation = generation_factory(user, variations=2, rating=4)
    response = api.get(f"{URL}{generation.pk}/")
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "succeeded"
    assert data["progress"] == 1.0
    assert data["queue_position"] == 0
    assert data["eta_seconds"] is None
    assert data["error"] is None
    assert data["rating"] == 4
    assert data["product"] == "harbour-tee" and data["base_color"] == "White"
    assert [image["index"] for image in data["images"]] == [0, 1]
    image = data["images"][0]
    assert set(image) == {
        "index",
        "seed",
        "url",
        "mockup_url",
        "brand_consistency",
        "preflight",
        "width",
        "height",
    }
    assert (image["width"], image["height"]) == (512, 512)
    stored = generation.images.get(index=0)
    # Absolute URLs, whatever the storage (local media or S3).
    assert image["url"] == urljoin("http://testserver/", stored.image.url)
    assert image["mockup_url"] == urljoin("http://testserver/", stored.mockup.url)
    assert "personalization/" in image["url"]
    assert image["brand_consistency"] == 81.5
    assert set(data["timings"]) == {"created_at", "started_at", "finished_at", "duration_seconds"}


def test_detail_of_a_queued_request_has_queue_position_and_eta(api, user, generation_factory):
    generation_factory(user, status="queued", width=768, height=768)  # another size: its own batch
    generation = generation_factory(user, status="queued")
    data = api.get(f"{URL}{generation.pk}/").json()
    assert data["queue_position"] == 2
    assert data["eta_seconds"] > 0
    assert data["images"] == [] and data["preview_url"] is None


def test_detail_of_a_failed_request_has_the_error(api, user, generation_factory):
    generation = generation_factory(
        user, status="failed", error_code="out_of_memory", error_message="Too big."
    )
    assert api.get(f"{URL}{generation.pk}/").json()["error"] == {
        "code": "out_of_memory",
        "message": "Too big.",
    }


def test_list_shows_only_own_requests_newest_first(api, user, other_user, generation_factory):
    older = generation_factory(user, status="queued")
    newer = generation_factory(user)
    generation_factory(other_user)
    response = api.get(URL)
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 2
    assert [row["id"] for row in data["results"]] == [str(newer.pk), str(older.pk)]


def test_list_is_paginated_with_a_maximum_page_size(api, user, generation_factory):
    for _ in range(3):
        generation_factory(user, status="failed")
    data = api.get(URL, {"page_size": 2}).json()
    assert len(data["results"]) == 2 and data["next"]
    assert api.get(URL, {"page_size": 10_000}).status_code == 200
    assert api.get(URL, {"page": 99}).status_code == 404


def test_another_customers_request_answers_404(api, other_user, generation_factory):
    generation = generation_factory(other_user, status="queued")
    assert api.get(f"{URL}{generation.pk}/").status_code == 404
    assert api.post(f"{URL}{generation.pk}/cancel/").status_code == 404
    assert api.post(f"{URL}{generation.pk}/rating/", {"rating": 5}, format="json").status_code == 404
    generation.refresh_from_db()
    assert generation.status == "queued"


def test_unknown_and_malformed_ids_answer_404(api, db):
    assert api.get(f"{URL}8a7b1f0e-0000-4000-8000-000000000000/").status_code == 404
    assert api.get(f"{URL}not-a-uuid/").status_code == 404


# --- cancel and rating -----------------------------------------------------------------------------


def test_cancel_a_queued_request(api, user, generation_factory):
    generation = generation_factory(user, status="queued")
    response = api.post(f"{URL}{generation.pk}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["error"]["code"] == "cancelled"


def test_cancel_a_running_request_asks_the_worker(api, user, generation_factory):
    generation = generation_factory(user, status="running")
    response = api.post(f"{URL}{generation.pk}/cancel/")
    assert response.status_code == 202
    assert response.json()["status"] == "running"
    generation.refresh_from_db()
    assert generation.cancel_requested


def test_cancel_a_finished_request_answers_409(api, user, generation_factory):
    generation = generation_factory(user)
    response = api.post(f"{URL}{generation.pk}/cancel/")
    assert response.status_code == 409
    assert "can no longer be cancelled" in response.json()["detail"]


def test_rate_a_succeeded_request(api, user, generation_factory):
    generation = generation_factory(user)
    response = api.post(f"{URL}{generation.pk}/rating/", {"rating": 5}, format="json")
    assert response.status_code == 200
    assert response.json()["rating"] == 5
    generation.refresh_from_db()
    assert generation.rating == 5


@pytest.mark.parametrize("rating", [0, 6, -1, "five", 4.5, None, True, "NaN"])
def test_rating_out_of_range_answers_400(api, user, generation_factory, rating):
    generation = generation_factory(user)
    response = api.post(f"{URL}{generation.pk}/rating/", {"rating": rating}, format="json")
    assert response.status_code == 400
    assert "rating" in response.json()


def test_rating_an_unfinished_request_answers_409(api, user, generation_factory):
    generation = generation_factory(user, status="queued")
    response = api.post(f"{URL}{generation.pk}/rating/", {"rating": 3}, format="json")
    assert response.status_code == 409


def test_reverse_names():
    assert reverse("api:generation-list") == URL
    assert reverse("api:auth-token") == "/api/v1/auth/token/"


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_create_one_generation(user, catalogue, monkeypatch):
    """Two real transactions on PostgreSQL: both pass the lookup, one wins the unique constraint, the
    other rolls back (with its generation) and replays the winner's response."""
    import threading

    from django.db import connection, connections

    from apikit import idempotency
    from tests.personalization.api.conftest import token_client

    if connection.vendor != "postgresql":
        pytest.skip("SQLite serializes writing transactions (BEGIN IMMEDIATE): no race to lose")
    real_stored = idempotency._stored
    both_looked = threading.Barrier(2, timeout=10)

    def stored_then_wait(**kwargs):
        found = real_stored(**kwargs)
        if found is None:
            both_looked.wait()
        return found

    monkeypatch.setattr(idempotency, "_stored", stored_then_wait)
    responses = []
    clients = [token_client(user), token_client(user)]  # the token exists before the threads start

    def submit(client):
        try:
            responses.append(client.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="twin"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in responses] == [202, 202]
    assert responses[0].json()["id"] == responses[1].json()["id"]
    assert sorted(r.get("Idempotent-Replayed", "") for r in responses) == ["", "true"]
    assert GenerationRequest.objects.count() == 1
    assert IdempotencyKey.objects.count() == 1


def test_list_queries_do_not_grow_with_finished_rows(
    api, user, generation_factory, django_assert_max_num_queries
):
    for _ in range(5):
        generation_factory(user, variations=2)
    with django_assert_max_num_queries(8):
        response = api.get(URL)
    assert response.json()["count"] == 5
