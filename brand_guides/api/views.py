"""Read-only brand guide catalogue: anyone may read it."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics
from rest_framework.permissions import AllowAny

from apikit.errors import error_responses
from brand_guides.models import Brand
from brand_guides.selectors import material_presets_for, style_presets_for

from .serializers import BrandSerializer, MaterialSerializer, StyleSerializer

BRAND_PARAMETER = OpenApiParameter(
    "brand",
    str,
    description="A brand's slug (a product's `brand`): add that brand's own presets to the shared ones.",
)


def _brand_id(request):
    """The brand named by ``?brand=<slug>``; an unknown slug lists the shared presets only."""
    slug = request.query_params.get("brand")
    return Brand.objects.filter(slug=slug).values_list("pk", flat=True).first() if slug else None


@extend_schema_view(
    get=extend_schema(
        summary="Get a brand's public guide",
        description="Name, description, palette, style keywords and the fonts a text layer may use.",
        tags=["catalogue"],
        responses={200: BrandSerializer, **error_responses(401, 404)},
    )
)
class BrandDetailView(generics.RetrieveAPIView):
    permission_classes = (AllowAny,)
    serializer_class = BrandSerializer
    queryset = Brand.objects.prefetch_related("palette", "typography")
    lookup_field = "slug"


@extend_schema_view(
    get=extend_schema(
        summary="List materials",
        description="Material presets a product may be made in (see a product's allowed_materials): "
        "the shared ones, and with `brand` also that brand's own.",
        tags=["catalogue"],
        parameters=[BRAND_PARAMETER],
        responses={200: MaterialSerializer(many=True), **error_responses(401, 404)},
    )
)
class MaterialListView(generics.ListAPIView):
    permission_classes = (AllowAny,)
    serializer_class = MaterialSerializer

    def get_queryset(self):
        return material_presets_for(brand_id=_brand_id(self.request))


@extend_schema_view(
    get=extend_schema(
        summary="List styles",
        description="Style presets for a design request's `style`: the shared ones, and with `brand` "
        "also that brand's own (offered for that brand's products only).",
        tags=["catalogue"],
        parameters=[BRAND_PARAMETER],
        responses={200: StyleSerializer(many=True), **error_responses(401, 404)},
    )
)
class StyleListView(generics.ListAPIView):
    permission_classes = (AllowAny,)
    serializer_class = StyleSerializer

    def get_queryset(self):
        return style_presets_for(brand_id=_brand_id(self.request))
