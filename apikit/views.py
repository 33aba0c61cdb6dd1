"""The project-level API views: the token exchange."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny

from .errors import error_responses, field_errors_serializer
from .parsers import JSONParser
from .schema import RETRY_AFTER
from .throttling import FailOpenScopedRateThrottle

AuthTokenErrorSerializer = field_errors_serializer("AuthTokenError", ["username", "password"])


class AuthTokenView(ObtainAuthToken):
    """Exchange a username and password for an API token (one token per user).

    Throttled per client address under the ``auth_token`` rate. On its own it uses DRF's cache-backed
    ``ScopedRateThrottle`` (open while the cache is down: ``apikit.throttling``); a project passes
    its own (``as_view(throttle_classes=...)``), as
    ``config.api`` does with the plugin's counter-backed one, exact under parallel requests."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_scope = "auth_token"
    throttle_classes = (FailOpenScopedRateThrottle,)
    parser_classes = (JSONParser, FormParser, MultiPartParser)

    @extend_schema(
        operation_id="auth_token_create",
        summary="Get an API token",
        description="Send it as `Authorization: Token <key>` on every other call.",
        tags=["auth"],
        request=AuthTokenSerializer,
        responses={
            200: inline_serializer("AuthToken", {"token": serializers.CharField()}),
            400: AuthTokenErrorSerializer,
            **error_responses(429),
        },
        parameters=[RETRY_AFTER],
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)
