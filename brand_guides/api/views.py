"""Read-only brand guide catalogue: anyone may read it."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics
from rest_framework.permissions import AllowAny

from brand_guides.models import Brand, MaterialPreset, StylePreset
from personalization.api.errors import error_responses

from .serializers import BrandSerializer, MaterialSerializer, StyleSerializer


@extend_schema_view(
    get=extend_schema(
        summary="Get a brand's public guide",
        description="Name, description, palette and style keywords.",
        tags=["catalogue"],
        responses={200: BrandSerializer, **error_responses(401, 404)},
    )
)
class BrandDetailView(generics.RetrieveAPIView):
    permission_classes = (AllowAny,)
    serializer_class = BrandSerializer
    queryset = Brand.objects.prefetch_related("palette")
    lookup_field = "slug"


@extend_schema_view(
    get=extend_schema(
        summary="List materials",
        description="Material presets a product may be made in (see a product's allowed_materials).",
        tags=["catalogue"],
        responses={200: MaterialSerializer(many=True), **error_responses(401, 404)},
    )
)
class MaterialListView(generics.ListAPIView):
    permission_classes = (AllowAny,)
    serializer_class = MaterialSerializer
    queryset = MaterialPreset.objects.all()


@extend_schema_view(
    get=extend_schema(
        summary="List styles",
        description="Style presets for a design request's `style`.",
        tags=["catalogue"],
        responses={200: StyleSerializer(many=True), **error_responses(401, 404)},
    )
)
class StyleListView(generics.ListAPIView):
    permission_classes = (AllowAny,)
    serializer_class = StyleSerializer
    queryset = StylePreset.objects.all()
