"""The host's catalogue (anyone may read) and the caller's orders (owner only; another customer's
order answers 404)."""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.settings import api_settings

from apikit.errors import error_responses, field_errors_serializer, validation_error
from apikit.idempotency import IdempotentCreateMixin, idempotent
from apikit.parsers import JSONParser
from apikit.schema import IDEMPOTENCY_PARAMETER, RETRY_AFTER
from shop.models import Order, OrderLine, Product
from shop.services import OrderLinesInvalid, order_place_from_lines

from .serializers import OrderCreateSerializer, OrderSerializer, ProductSerializer
from .throttles import OrderCreateUserThrottle

OrderCreateErrorSerializer = field_errors_serializer(
    "OrderCreateError",
    [
        "full_name",
        "email",
        "address_line1",
        "address_line2",
        "city",
        "postcode",
        "country",
        "Idempotency-Key",
    ],
    lines=serializers.DictField(
        child=serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
        required=False,
        help_text="Keyed by the index of each bad line (from 0): that line's fields and their messages. "
        'Errors about the lines as a whole come as {"non_field_errors": [...]}.',
    ),
)


def _drf_keys(errors: dict) -> dict:
    return {(api_settings.NON_FIELD_ERRORS_KEY if k == NON_FIELD_ERRORS else k): v for k, v in errors.items()}


@extend_schema_view(
    list=extend_schema(
        summary="List products",
        description="Published products, paginated; filter by category and brand slugs.",
        tags=["catalogue"],
        parameters=[
            OpenApiParameter("category", OpenApiTypes.STR, description="Category slug."),
            OpenApiParameter("brand", OpenApiTypes.STR, description="Brand slug."),
        ],
        responses={200: ProductSerializer(many=True), **error_responses(401, 404)},
    ),
    retrieve=extend_schema(
        summary="Get a product",
        description="With its base colours, print area and allowed materials.",
        tags=["catalogue"],
        responses={200: ProductSerializer, **error_responses(401, 404)},
    ),
)
class ProductViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = (AllowAny,)
    serializer_class = ProductSerializer
    lookup_field = "slug"

    def get_queryset(self):
        products = (
            Product.objects.published()
            .select_related("category", "brand")
            .prefetch_related("base_colors", "allowed_materials")
        )
        if category := self.request.query_params.get("category"):
            products = products.filter(category__slug=category)
        if brand := self.request.query_params.get("brand"):
            products = products.filter(brand__slug=brand)
        return products


@extend_schema_view(
    list=extend_schema(
        summary="List my orders",
        description="The caller's own orders, newest first, paginated.",
        tags=["orders"],
        responses={200: OrderSerializer(many=True), **error_responses(401, 404)},
    ),
    retrieve=extend_schema(
        summary="Get one of my orders",
        description="By order number (e.g. PZ1A2B3C4D) or id.",
        tags=["orders"],
        parameters=[
            OpenApiParameter("lookup", OpenApiTypes.STR, OpenApiParameter.PATH, description="Number or id.")
        ],
        responses={200: OrderSerializer, **error_responses(401, 404)},
    ),
    create=extend_schema(
        summary="Place an order",
        description="Lines of products in a base colour, each optionally carrying a variation of one of "
        "the caller's succeeded designs (generation + image_index), and the shipping details. "
        "201 with the order, status `awaiting_payment`, each personalized line with its frozen design.",
        tags=["orders"],
        request=OrderCreateSerializer,
        parameters=[IDEMPOTENCY_PARAMETER, RETRY_AFTER],
        responses={
            201: OrderSerializer,
            400: OrderCreateErrorSerializer,
            **error_responses(401, 409, 429),
        },
    ),
)
class OrderViewSet(
    IdempotentCreateMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = OrderSerializer
    parser_classes = (JSONParser,)
    lookup_url_kwarg = "lookup"
    idempotency_scope = "orders.create"

    def get_throttles(self):
        if self.action == "create":
            return [OrderCreateUserThrottle()]
        return super().get_throttles()

    def get_queryset(self):
        return Order.objects.filter(user=self.request.user).prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("design"))
        )

    def get_object(self):
        lookup = self.kwargs[self.lookup_url_kwarg]
        match = (
            Q(number=lookup) | Q(pk=int(lookup))
            if lookup.isdigit() and len(lookup) < 19
            else Q(number=lookup)
        )
        return get_object_or_404(self.get_queryset(), match)

    def create(self, request, *args, **kwargs):
        return idempotent(request, scope=self.idempotency_scope, handler=lambda: self._create(request))

    def _create(self, request) -> Response:
        serializer = OrderCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            order = order_place_from_lines(user=request.user, **serializer.validated_data)
        except OrderLinesInvalid as exc:
            # DRF's shape for nested lists: {"lines": {"<index>": {field: [messages]}}}, bad lines only.
            lines = {str(i): _drf_keys(errors) for i, errors in enumerate(exc.line_errors) if errors}
            raise serializers.ValidationError({"lines": lines}) from exc
        except DjangoValidationError as exc:
            raise validation_error(exc) from exc
        order = self.get_queryset().get(pk=order.pk)
        data = OrderSerializer(order, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": data["url"]})
