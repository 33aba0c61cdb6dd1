"""Error bodies of the project's REST API and the mapping from service exceptions to HTTP answers.

- 400: ``{"<field>": ["message", ...], "non_field_errors": [...]}`` (DRF's shape)
- 401, 403, 404, 409, 429: ``{"detail": "message"}``; 429 carries ``Retry-After`` (seconds)

An app's own bodies (e.g. the plugin's 422 policy rejection) live in that app's API package.
"""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, Throttled
from rest_framework.settings import api_settings

DESCRIPTIONS = {
    401: "Not authenticated: send `Authorization: Token <key>` (or a session cookie).",
    403: "Forbidden (for a session: the CSRF token is missing or wrong).",
    404: "Not found, or not the caller's.",
    409: "The request conflicts with the resource's state or with an earlier Idempotency-Key.",
    429: "Too many requests, or the daily quota is used up; retry after `Retry-After` seconds.",
}


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The resource is not in a state that allows this action."
    default_code = "conflict"


class QuotaExceededError(Throttled):
    default_code = "quota_exceeded"


def validation_error(exc: DjangoValidationError) -> serializers.ValidationError:
    """A service's ``ValidationError`` (field -> message) as DRF's 400 (field -> [messages])."""
    if not hasattr(exc, "error_dict"):
        return serializers.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: exc.messages})
    return serializers.ValidationError(
        {
            (api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field): messages
            for field, messages in exc.message_dict.items()
        }
    )


class ErrorSerializer(serializers.Serializer):
    """401, 403, 404, 409 and 429 bodies."""

    detail = serializers.CharField()


def field_errors_serializer(name: str, fields: list[str], **extra) -> type[serializers.Serializer]:
    """A serializer class documenting a 400 body: each named field maps to a list of messages."""
    attrs = {
        field: serializers.ListField(child=serializers.CharField(), required=False)
        for field in [*fields, api_settings.NON_FIELD_ERRORS_KEY]
    }
    attrs.update(extra)
    attrs["__doc__"] = "400: the fields that were wrong, each with its messages."
    return type(f"{name}Serializer", (serializers.Serializer,), attrs)


def error_responses(*codes: int) -> dict:
    """``{code: ErrorSerializer}`` for ``@extend_schema(responses=...)``."""
    return {code: OpenApiResponse(ErrorSerializer, description=DESCRIPTIONS[code]) for code in codes}
