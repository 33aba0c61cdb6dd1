"""The generation API: thin views that parse input, call one service and render the answer."""

import base64

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from apikit.errors import (
    Conflict,
    QuotaExceededError,
    error_responses,
    field_errors_serializer,
    validation_error,
)
from apikit.idempotency import HEADER as IDEMPOTENCY_HEADER
from apikit.idempotency import IdempotentCreateMixin, idempotent
from apikit.parsers import JSONParser
from apikit.schema import IDEMPOTENCY_PARAMETER, RETRY_AFTER
from personalization import presets, selectors
from personalization.models import GenerationRequest
from personalization.review import images_visible
from personalization.services import (
    InvalidTransition,
    QuotaExceeded,
    design_preview,
    generation_request_cancel,
    generation_request_create,
    generation_request_rate,
)
from personalization.text_layers import text_options
from personalization.visitors import client_ip

from .errors import PolicyRejectionSerializer
from .serializers import (
    GenerationCreateSerializer,
    GenerationSerializer,
    PresetSerializer,
    RatingSerializer,
)
from .text import (
    DesignPreviewErrorSerializer,
    DesignPreviewRequestSerializer,
    DesignPreviewSerializer,
    TextOptionsSerializer,
)
from .throttles import DesignPreviewThrottle, GenerationSubmitIPThrottle, GenerationSubmitUserThrottle

LOCATION = OpenApiParameter(
    "Location",
    OpenApiTypes.URI,
    OpenApiParameter.HEADER,
    response=[202, 422],
    description="URL of the generation request.",
)

GenerationCreateErrorSerializer = field_errors_serializer(
    "GenerationCreateError",
    [
        "product",
        "base_color",
        "description",
        "style",
        "material",
        "reference_image",
        "reference_fit",
        "transparent_background",
        "steps",
        "guidance_scale",
        "seed",
        "variations",
        "strength",
        "size",
        IDEMPOTENCY_HEADER,
    ],
)
RatingErrorSerializer = field_errors_serializer("RatingError", ["rating"])


class GenerationViewSet(
    IdempotentCreateMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The caller's design requests. Another customer's request answers 404, never 403."""

    serializer_class = GenerationSerializer
    idempotency_scope = "generations.create"
    parser_classes = (JSONParser,)

    def get_queryset(self):
        if self.action == "retrieve":  # polled: the one row, read as cheaply as it can be
            return selectors.generations_polled(user=self.request.user)
        return selectors.generations_for(user=self.request.user)

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        # Each row's product is described by the host adapter: one call for the whole page.
        return None if page is None else selectors.attach_product_infos(page)

    def get_parsers(self):
        # Only a design request may carry a reference image (multipart or form).
        request = getattr(self, "request", None)
        action = getattr(self, "action_map", {}).get(request.method.lower()) if request is not None else None
        if action == "create":
            return [JSONParser(), MultiPartParser(), FormParser()]
        return super().get_parsers()

    def get_throttles(self):
        if self.action == "create":
            return [GenerationSubmitUserThrottle(), GenerationSubmitIPThrottle()]
        return super().get_throttles()

    def _representation(self, generation: GenerationRequest) -> dict:
        return GenerationSerializer(generation, context=self.get_serializer_context()).data

    @extend_schema(
        summary="List my generation requests",
        description="The caller's own requests, newest first, paginated.",
        tags=["generations"],
        responses={200: GenerationSerializer(many=True), **error_responses(401, 404)},
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="Get a generation request",
        description="Status (queued, running, succeeded, failed, rejected, cancelled), progress (0..1), "
        "queue position, ETA, images, timings and the error, if any. Poll it until the status is final.",
        tags=["generations"],
        responses={200: GenerationSerializer, **error_responses(401, 404)},
    )
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        summary="Request a personalized design",
        description="Validates the request, checks the content policy and the daily quota, builds the "
        "prompts and queues the generation. 202 with the request and a `Location` to poll; 422 when the "
        "content policy rejects it.",
        tags=["generations"],
        request={
            "application/json": GenerationCreateSerializer,
            "multipart/form-data": GenerationCreateSerializer,
            "application/x-www-form-urlencoded": GenerationCreateSerializer,
        },
        parameters=[IDEMPOTENCY_PARAMETER, LOCATION, RETRY_AFTER],
        responses={
            202: GenerationSerializer,
            400: GenerationCreateErrorSerializer,
            422: OpenApiResponse(PolicyRejectionSerializer, description="Rejected by the content policy."),
            **error_responses(401, 409, 429),
        },
    )
    def create(self, request, *args, **kwargs):
        return idempotent(request, scope=self.idempotency_scope, handler=lambda: self._create(request))

    def _create(self, request) -> Response:
        serializer = GenerationCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        try:
            generation = generation_request_create(
                customer=request.user, client_ip=client_ip(request), **serializer.validated_data
            )
        except DjangoValidationError as exc:
            raise validation_error(exc) from exc
        except QuotaExceeded as exc:
            raise QuotaExceededError(wait=exc.retry_after, detail=str(exc)) from exc
        location = reverse("api:generation-detail", kwargs={"pk": generation.pk}, request=request)
        if generation.status == GenerationRequest.Status.REJECTED:
            body = {
                "code": generation.error_code,
                "message": generation.error_message,
                "id": str(generation.pk),
            }
            return Response(body, status=422, headers={"Location": location})
        return Response(
            self._representation(generation), status=status.HTTP_202_ACCEPTED, headers={"Location": location}
        )

    @extend_schema(
        summary="Cancel a generation request",
        description="A queued request is cancelled at once (200). A running one stops within one "
        "denoising step (202 while it winds down). A finished request answers 409.",
        tags=["generations"],
        request=None,
        responses={200: GenerationSerializer, 202: GenerationSerializer, **error_responses(401, 404, 409)},
    )
    def cancel(self, request, *args, **kwargs):
        try:
            generation = generation_request_cancel(generation=self.get_object())
        except InvalidTransition as exc:
            raise Conflict(str(exc)) from exc
        code = status.HTTP_200_OK if generation.status == GenerationRequest.Status.CANCELLED else 202
        return Response(self._representation(generation), status=code)

    @extend_schema(
        summary="Rate a finished design",
        description="1 to 5; only a succeeded request can be rated (409 otherwise). "
        "Rating again replaces it.",
        tags=["generations"],
        request=RatingSerializer,
        responses={200: GenerationSerializer, 400: RatingErrorSerializer, **error_responses(401, 404, 409)},
    )
    def rating(self, request, *args, **kwargs):
        generation = self.get_object()
        serializer = RatingSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            generation = generation_request_rate(
                generation=generation, rating=serializer.validated_data["rating"]
            )
        except DjangoValidationError as exc:
            raise validation_error(exc) from exc
        except InvalidTransition as exc:
            raise Conflict(str(exc)) from exc
        return Response(self._representation(generation))


class PresetListView(APIView):
    """The model presets (read-only, public): what a design request may ask for, per preset."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(
        operation_id="presets_list",
        summary="List the model presets",
        description="Each model preset with its scheduler, native and allowed sizes, the ranges and "
        "defaults of steps, guidance, strength and variations, and its capabilities (img2img, negative "
        "prompt, LoRA), as this shop configured them. A product's `model_preset` (GET products/) names "
        "the one its design requests are validated against: a value outside its ranges answers 400.",
        tags=["presets"],
        responses={200: PresetSerializer(many=True)},
        auth=[],
    )
    def get(self, request):
        return Response(PresetSerializer([presets.get(name) for name in presets.names()], many=True).data)


def _own_visible_image(request, pk, index: int):
    """A variation of one of the caller's succeeded designs that they may see (404 otherwise)."""
    generation = get_object_or_404(selectors.generations_for(user=request.user), pk=pk)
    if generation.status != GenerationRequest.Status.SUCCEEDED or not images_visible(generation):
        raise Http404
    return get_object_or_404(generation.images.select_related("request__brand"), index=index)


class DesignPreviewView(APIView):
    """The mockup and print check of one of the caller's variations with a text or monogram."""

    parser_classes = (JSONParser,)
    throttle_classes = (DesignPreviewThrottle,)

    @extend_schema(
        operation_id="generations_images_preview",
        summary="Preview a text or monogram on a variation",
        description="Validates the text layer against the brand (fonts, palette, content rules) and the "
        "product (length), and answers the mockup with the text and its preflight. Writes nothing. "
        "Without `text_layer` (or with a blank text): the variation without text. Give the same "
        "`text_layer` on the order line (POST orders/) to order it.",
        tags=["generations"],
        request=DesignPreviewRequestSerializer,
        responses={
            200: DesignPreviewSerializer,
            400: DesignPreviewErrorSerializer,
            **error_responses(401, 404, 429),
        },
    )
    def post(self, request, pk, index):
        image = _own_visible_image(request, pk, index)
        serializer = DesignPreviewRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            preview = design_preview(image=image, values=serializer.validated_data.get("text_layer") or {})
        except DjangoValidationError as exc:
            detail = validation_error(exc).detail
            if "design" in detail:  # the variation itself (its file is gone), not the text
                raise ValidationError({"design": detail["design"]}) from exc
            raise ValidationError({"text_layer": detail}) from exc
        return Response(
            {
                "text_layer": None if preview.text is None else preview.text.as_dict(),
                "preflight": preview.preflight,
                "mockup": "data:image/png;base64," + base64.b64encode(preview.mockup_png).decode("ascii"),
            }
        )


class TextOptionsView(APIView):
    """What a text layer on this design may use: the brand's fonts and colours, the choices."""

    @extend_schema(
        operation_id="generations_text_options",
        summary="Text and monogram options of a design",
        description="The fonts (keys for `text_layer.font`) and palette colours of the design's brand, "
        "the kinds, sizes, positions and curves, and the product's maximum text length.",
        tags=["generations"],
        responses={200: TextOptionsSerializer, **error_responses(401, 404)},
    )
    def get(self, request, pk):
        generation = get_object_or_404(selectors.generations_for(user=request.user), pk=pk)
        options = text_options(generation.brand, selectors.request_product_info(generation))
        return Response(TextOptionsSerializer(options).data)
