"""Idempotency-Key with uploads: a retried multipart request (a new boundary, as every client draws
one per request) with the same fields and the same file replays the first answer; another file or
another value with the same key is a 409. Real multipart bodies, built with explicit boundaries."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import encode_multipart

from apikit.models import IdempotencyKey
from personalization.models import GenerationRequest
from tests.personalization.api.conftest import png_bytes

URL = "/api/v1/generations/"
FIELDS = {
    "product": "harbour-tee",
    "base_color": "White",
    "description": "a lighthouse on a cliff at dawn",
    "steps": "20",
    "strength": "0.5",
    "seed": "1234",
}


def upload(name="reference.png", color=(200, 40, 40)):
    return SimpleUploadedFile(name, png_bytes((64, 64), color), content_type="image/png")


def post_multipart(client, *, boundary: str, fields: dict, key: str = "retry-me", **headers):
    """POST a multipart body built with this boundary (the fields in the order given)."""
    body = encode_multipart(boundary, fields)
    return client.post(
        URL,
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        HTTP_IDEMPOTENCY_KEY=key,
        **headers,
    )


def test_a_retried_upload_with_a_new_boundary_replays_the_first_answer(api, catalogue):
    first = post_multipart(api, boundary="BoundaryOne", fields={**FIELDS, "reference_image": upload()})
    assert first.status_code == 202, first.content
    # The same fields in another order, the same picture under another file name, a new boundary.
    reordered = {"reference_image": upload("IMG_0001.png"), **dict(reversed(list(FIELDS.items())))}
    second = post_multipart(api, boundary="----WebKitFormBoundary7MA4YWxkTrZu0gW", fields=reordered)
    assert second.status_code == 202, second.content
    assert second["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert second.json() == first.json() and second["Location"] == first["Location"]
    generation = GenerationRequest.objects.get()
    assert str(generation.pk) == first.json()["id"] and generation.reference_sha256
    assert IdempotencyKey.objects.count() == 1


def test_a_replayed_rejection_keeps_its_status(api, catalogue):
    rejected = {**FIELDS, "description": "a zebra on a surfboard", "reference_image": upload()}
    first = post_multipart(api, boundary="AaB03x", fields=rejected)
    assert first.status_code == 422
    second = post_multipart(api, boundary="XyZ987", fields={**rejected, "reference_image": upload()})
    assert second.status_code == 422 and second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json() and GenerationRequest.objects.count() == 1


@pytest.mark.parametrize(
    "change",
    [
        {"reference_image": lambda: upload(color=(10, 200, 10))},  # another picture
        {"strength": lambda: "0.6"},  # another value
        {"reference_image": None},  # the picture left out
        {"material": lambda: "organic-cotton"},  # a field added
    ],
    ids=["other-file", "other-value", "no-file", "extra-field"],
)
def test_the_same_key_with_another_file_or_value_is_a_conflict(api, catalogue, change):
    first = post_multipart(api, boundary="BoundaryOne", fields={**FIELDS, "reference_image": upload()})
    assert first.status_code == 202
    fields = {**FIELDS, "reference_image": upload()}
    for name, make in change.items():
        if make is None:
            fields.pop(name)
        else:
            fields[name] = make()
    second = post_multipart(api, boundary="BoundaryTwo", fields=fields)
    assert second.status_code == 409
    assert second.json()["detail"] == "This Idempotency-Key was already used with a different request body."
    assert GenerationRequest.objects.count() == 1


def test_a_file_and_a_text_field_holding_its_digest_differ(api, catalogue):
    import hashlib

    picture = png_bytes((64, 64), (200, 40, 40))
    first = post_multipart(api, boundary="B1", fields={**FIELDS, "reference_image": upload()})
    assert first.status_code == 202
    as_text = {**FIELDS, "reference_image": hashlib.sha256(picture).hexdigest()}
    assert post_multipart(api, boundary="B2", fields=as_text).status_code == 409


def test_a_retried_upload_is_not_throttled(api, catalogue, throttle_rates):
    """A replay creates nothing and is let past the throttles: with the limit used up by the first
    request, the retry (new boundary) still gets the first answer, and a new request gets 429."""
    throttle_rates(generation_submit_user="1/min")
    first = post_multipart(api, boundary="One", fields={**FIELDS, "reference_image": upload()})
    assert first.status_code == 202
    retry = post_multipart(api, boundary="Two", fields={**FIELDS, "reference_image": upload()})
    assert retry.status_code == 202 and retry["Idempotent-Replayed"] == "true"
    other = post_multipart(
        api, boundary="Three", key="another", fields={**FIELDS, "reference_image": upload()}
    )
    assert other.status_code == 429
    assert GenerationRequest.objects.count() == 1


def test_form_encoded_retries_ignore_field_order(api, catalogue):
    from urllib.parse import urlencode

    def post(pairs):
        return api.post(
            URL,
            data=urlencode(pairs),
            content_type="application/x-www-form-urlencoded",
            HTTP_IDEMPOTENCY_KEY="form",
        )

    first = post(list(FIELDS.items()))
    assert first.status_code == 202
    second = post(list(reversed(FIELDS.items())))
    assert second.status_code == 202 and second["Idempotent-Replayed"] == "true"
    assert post([*FIELDS.items(), ("variations", "2")]).status_code == 409


def test_json_retries_still_replay_whatever_the_spacing_key_order_or_charset(api, catalogue):
    import json

    body = {**FIELDS, "steps": 20, "strength": 0.5, "seed": 1234}
    first = api.post(URL, data=json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY="j")
    assert first.status_code == 202
    spaced = json.dumps(dict(reversed(list(body.items()))), indent=4)
    second = api.post(
        URL, data=spaced, content_type="application/json; charset=utf-8", HTTP_IDEMPOTENCY_KEY="j"
    )
    assert second.status_code == 202 and second["Idempotent-Replayed"] == "true"
    changed = json.dumps({**body, "seed": 1235})
    third = api.post(URL, data=changed, content_type="application/json", HTTP_IDEMPOTENCY_KEY="j")
    assert third.status_code == 409
    assert GenerationRequest.objects.count() == 1


def test_json_and_multipart_with_one_key_are_different_requests(api, catalogue):
    import json

    first = api.post(URL, data=json.dumps(FIELDS), content_type="application/json", HTTP_IDEMPOTENCY_KEY="k")
    assert first.status_code == 202
    assert post_multipart(api, boundary="B", key="k", fields=FIELDS).status_code == 409
