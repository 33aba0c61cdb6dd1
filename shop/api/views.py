"""The host's catalogue (anyone may read) and the caller's orders (owner only; another customer's
order answers 404)."""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from apikit.errors import error_responses, field_errors_serializer, validation_error
from apikit.idempotency import IdempotentCreateMixin, idempotent
from apikit.parsers import JSONParser
from apikit.schema import IDEMPOTENCY_PARAMETER, RETRY_AFTER
from apikit.serializers import absolute_url
from personalization.interface import sees_all_brands
from shop.fulfilment import may_export, order_fulfilment, orders_for_fulfilment
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
        child=serializers.DictField(child=serializers.JSONField()),
        required=False,
        help_text="Keyed by the index of each bad line (from 0): that line's fields and their messages "
        '(a list each; `text_layer` maps its own keys to lists: {"text_layer": {"text": ["..."]}}). '
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


def _order_match(lookup: str) -> Q:
    """An order by number (e.g. PZ1A2B3C4D) or id. Only ASCII digits are an id: "³" and "½" are
    digits to str.isdigit() but not to int()."""
    if lookup.isascii() and lookup.isdigit() and len(lookup) < 19:
        return Q(number=lookup) | Q(pk=int(lookup))
    return Q(number=lookup)


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
        "the caller's succeeded designs (generation + image_index) with an optional text or monogram "
        "(text_layer), and the shipping details. "
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
        return get_object_or_404(self.get_queryset(), _order_match(self.kwargs[self.lookup_url_kwarg]))

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


NOT_STAFF = "Only staff who manage the brands of this order may export it."


class OrderFulfilmentView(APIView):
    """GET /api/v1/orders/<lookup>/fulfilment/: the order as a print-on-demand document."""

    @extend_schema(
        summary="Export an order for print-on-demand (staff)",
        description="The order as the JSON document print-on-demand APIs take (docs/FULFILMENT.md): "
        "shipping, each personalized line with an idempotent `external_id`, its variant, quantity, "
        "placements (file and text layers, positions in inches) and the absolute URLs of its print "
        "PNG, print PDF and mockup (null while the print file is being rendered: the line's status is "
        "`print_file_pending`; `print_file_failed` once its print job was given up, until the shop "
        "retries it). The same order exported twice gives the same document. Superusers may "
        "export any order; brand owners the orders whose lines are all of their brands; customers none.",
        tags=["orders"],
        parameters=[
            OpenApiParameter("lookup", OpenApiTypes.STR, OpenApiParameter.PATH, description="Number or id.")
        ],
        responses={200: OpenApiTypes.OBJECT, **error_responses(401, 403, 404)},
    )
    def get(self, request, lookup: str) -> Response:
        user = request.user
        if not (user.is_staff or sees_all_brands(user)):
            raise PermissionDenied(NOT_STAFF)
        order = get_object_or_404(orders_for_fulfilment(Order.objects.all()), _order_match(lookup))
        if not may_export(user, order):
            raise PermissionDenied(NOT_STAFF)
        document = order_fulfilment(order, url_for=lambda field: absolute_url(request, field))
        return Response(document)
