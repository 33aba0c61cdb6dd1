"""``Idempotency-Key`` for POST endpoints: a retry with the same key and body replays the first
response; the same key with another body answers 409.

The stored response is written in the same transaction as the rows the request created, so either
both exist or neither does. Two concurrent requests with one key race on the unique constraint
(user, scope, key): the loser's transaction rolls back (its rows vanish) and it replays the winner.
Only final outcomes are stored (2xx and 422); a 400, 409 or 429 may succeed when retried.

A replay creates nothing, so it is not throttled: ``IdempotentCreateMixin`` lets it past the view's
throttles (without using up any of their budget), and a client retrying after a network error gets
its first answer even when it is at its limit. ``is_replay`` is that decision.
"""

import hashlib
import json
from collections.abc import Callable

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from .models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
REPLAYED_HEADER = "Idempotent-Replayed"
STORED_HEADERS = ("Location",)


class IdempotencyConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This Idempotency-Key was already used with a different request body."
    default_code = "idempotency_conflict"


def _file_digest(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def _media_type(request) -> str:
    """The body's media type without its parameters: every client draws a new multipart boundary
    for each request (and may add or drop ``charset``), so neither can tell two requests apart."""
    return (request.content_type or "").split(";", 1)[0].strip().lower()


def _field(key: str, value) -> tuple[str, str, str]:
    if isinstance(value, UploadedFile):
        return (key, "file", _file_digest(value))
    return (key, "text", str(value))


def request_fingerprint(request) -> str:
    """A hash of the request as the view sees it: the media type and the parsed body.

    Form and multipart bodies count as their fields, sorted (their order does not matter), each text
    field by its value and each uploaded file by the SHA-256 of its content (not its file name): a
    retry with a new boundary is the same request, another file or another value is not. JSON counts
    as its parsed value with sorted keys (spacing and key order do not matter)."""
    data = request.data
    if hasattr(data, "lists"):  # form or multipart
        items = sorted(_field(key, value) for key, values in data.lists() for value in values)
        canonical = json.dumps(items)
    else:
        canonical = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(f"{_media_type(request)}\n{canonical}".encode()).hexdigest()


def _stored(*, user, scope: str, key: str) -> IdempotencyKey | None:
    return IdempotencyKey.objects.filter(user=user, scope=scope, key=key).first()


def _same_request(stored: IdempotencyKey, fingerprint: str) -> bool:
    return stored.request_hash == fingerprint


def _replay(stored: IdempotencyKey, fingerprint: str) -> Response:
    if not _same_request(stored, fingerprint):
        raise IdempotencyConflict()
    headers = {**stored.response_headers, REPLAYED_HEADER: "true"}
    return Response(stored.response_body, status=stored.response_status, headers=headers)


def _key_from(request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationError({HEADER: [f"Send 1 to {MAX_KEY_LENGTH} printable characters."]})
    return key


def is_replay(request, *, scope: str) -> bool:
    """Whether ``idempotent`` will answer this request with a stored response (same user, scope, key
    and body). A missing or malformed key, or another body, is not a replay."""
    if not request.user.is_authenticated:
        return False
    try:
        key = _key_from(request)
    except ValidationError:
        return False  # the view answers 400 for it
    if key is None:
        return False
    stored = _stored(user=request.user, scope=scope, key=key)
    return stored is not None and _same_request(stored, request_fingerprint(request))


class IdempotentCreateMixin:
    """For a viewset whose ``create`` goes through ``idempotent(scope=idempotency_scope)``: a replay
    skips every throttle of the view, so it neither needs nor uses up any of their budget."""

    idempotency_scope: str

    def check_throttles(self, request):
        if self.action == "create" and is_replay(request, scope=self.idempotency_scope):
            return
        super().check_throttles(request)


def idempotent(request, *, scope: str, handler: Callable[[], Response]) -> Response:
    """Run ``handler`` (which calls one service and returns the Response) at most once per key."""
    key = _key_from(request)
    if key is None:
        return handler()
    fingerprint = request_fingerprint(request)
    try:
        with transaction.atomic():
            stored = _stored(user=request.user, scope=scope, key=key)
            if stored is not None:
                return _replay(stored, fingerprint)
            response = handler()
            if 200 <= response.status_code < 300 or response.status_code == 422:
                IdempotencyKey.objects.create(
                    user=request.user,
                    scope=scope,
                    key=key,
                    request_hash=fingerprint,
                    response_status=response.status_code,
                    response_body=json.loads(JSONRenderer().render(response.data)),
                    response_headers={h: response[h] for h in STORED_HEADERS if h in response},
                )
            return response
    except IntegrityError:
        # A concurrent request with the same key committed first: this one's rows are rolled back.
        stored = _stored(user=request.user, scope=scope, key=key)
        if stored is None:
            raise
        return _replay(stored, fingerprint)
