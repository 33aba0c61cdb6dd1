"""The host's catalogue and orders over REST. Orders show each personalized line's frozen design
(personalization.LineDesign), not the live generation, which may change or disappear."""

from django.core.exceptions import ObjectDoesNotExist
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from apikit.serializers import StrictCharField, absolute_url
from personalization.interface import (
    LineDesign,
    LineReviewSerializer,
    MaterialSerializer,
    TextLayerOutputSerializer,
    TextLayerSerializer,
    can_manage_brand,
    line_review,
    line_text_layer,
    preset_for_product,
)
from shop.models import BaseColor, Order, OrderLine, Product

# --- catalogue -----------------------------------------------------------------------------------


class BaseColorSerializer(serializers.ModelSerializer):
    class Meta:
        model = BaseColor
        fields = ["name", "hex"]


class NamedSlugSerializer(serializers.Serializer):
    name = serializers.CharField()
    slug = serializers.CharField()


class PrintAreaSerializer(serializers.Serializer):
    width_mm = serializers.FloatField(source="print_width_mm")
    height_mm = serializers.FloatField(source="print_height_mm")
    dpi = serializers.IntegerField(source="print_dpi")
    min_dpi = serializers.IntegerField()
    safe_margin_mm = serializers.FloatField()


class ProductSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    category = NamedSlugSerializer(read_only=True)
    brand = NamedSlugSerializer(read_only=True)
    base_colors = BaseColorSerializer(many=True, read_only=True)
    print_area = PrintAreaSerializer(source="*", read_only=True)
    allowed_materials = MaterialSerializer(many=True, read_only=True)
    mockup_url = serializers.SerializerMethodField()
    model_preset = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = [
            "slug",
            "url",
            "name",
            "description",
            "product_type",
            "price",
            "category",
            "brand",
            "base_colors",
            "print_area",
            "allowed_materials",
            "mockup_url",
            "model_preset",
        ]

    def get_url(self, obj: Product) -> str:
        return reverse(
            "shop_api:product-detail", kwargs={"slug": obj.slug}, request=self.context.get("request")
        )

    def get_mockup_url(self, obj: Product) -> str | None:
        return absolute_url(self.context.get("request"), obj.mockup_template)

    def get_model_preset(self, obj: Product) -> str:
        """The model preset its design requests are made and validated with (the product's own,
        else its brand's, else the shop's default): see GET /api/v1/presets/."""
        return preset_for_product(obj)


# --- orders: input -------------------------------------------------------------------------------


class OrderLineInputSerializer(serializers.Serializer):
    product = StrictCharField(max_length=120, help_text="Product slug.")
    base_color = StrictCharField(max_length=40, help_text="Name of one of the product's base colours.")
    quantity = serializers.IntegerField(min_value=1, max_value=99, default=1)
    generation = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="One of your succeeded generation requests (a personalized line).",
    )
    image_index = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=99,
        help_text="Which variation of the generation (default 0).",
    )
    text_layer = TextLayerSerializer(
        required=False,
        allow_null=True,
        help_text="The customer's text or monogram on the design (needs generation); preview it with "
        "POST generations/{id}/images/{index}/preview/. Errors: lines.<index>.text_layer.<key>.",
    )

    def validate_product(self, value: str) -> Product:
        product = Product.objects.filter(slug=value).first()
        if product is None:
            raise serializers.ValidationError("No product with this slug.")
        return product


class OrderCreateSerializer(serializers.Serializer):
    lines = OrderLineInputSerializer(many=True, allow_empty=False, max_length=50)
    full_name = StrictCharField(max_length=120)
    email = serializers.EmailField(max_length=254)
    address_line1 = StrictCharField(max_length=200)
    address_line2 = StrictCharField(max_length=200, required=False, allow_blank=True, default="")
    city = StrictCharField(max_length=100)
    postcode = StrictCharField(max_length=20)
    country = StrictCharField(min_length=2, max_length=2, help_text="ISO 3166-1 alpha-2 code, e.g. GB.")


# --- orders: output ------------------------------------------------------------------------------


class LineDesignSerializer(serializers.ModelSerializer):
    image_url = serializers.SerializerMethodField()
    mockup_url = serializers.SerializerMethodField()
    print_file_url = serializers.SerializerMethodField(
        help_text="The print PNG (trim + bleed, at the product's DPI): for staff who manage the brand; "
        "null for customers and while it is being rendered."
    )
    print_pdf_url = serializers.SerializerMethodField(
        help_text="The print PDF (TrimBox and BleedBox set): for staff who manage the brand; null for "
        "customers and while it is being rendered."
    )
    model = serializers.CharField(source="model_name")
    scheduler = serializers.CharField(source="scheduler_name")
    text_layer = serializers.SerializerMethodField(
        help_text="The text or monogram printed with it, as frozen."
    )
    preflight = serializers.JSONField(
        read_only=True,
        help_text="The print check the customer saw when ordering ({} for lines ordered before it existed).",
    )
    review = serializers.SerializerMethodField(
        help_text="The shop's approval before printing: nothing is printed unless `state` is `approved`."
    )

    class Meta:
        model = LineDesign
        fields = [
            "image_url",
            "mockup_url",
            "print_file_url",
            "print_pdf_url",
            "description",
            "optimized_prompt",
            "negative_prompt",
            "seed",
            "model",
            "preset",
            "scheduler",
            "steps",
            "guidance_scale",
            "width",
            "height",
            "strength",
            "brand_consistency",
            "text_layer",
            "preflight",
            "review",
        ]

    def get_image_url(self, obj: LineDesign) -> str | None:
        return absolute_url(self.context.get("request"), obj.image)

    def get_mockup_url(self, obj: LineDesign) -> str | None:
        return absolute_url(self.context.get("request"), obj.mockup)

    @extend_schema_field(TextLayerOutputSerializer(allow_null=True))
    def get_text_layer(self, obj: LineDesign) -> dict | None:
        return line_text_layer(obj)

    @extend_schema_field(LineReviewSerializer)
    def get_review(self, obj: LineDesign) -> dict:
        return LineReviewSerializer(line_review(obj)).data

    def _staff_reads(self, obj: LineDesign) -> bool:
        """Whether the reader manages the design's brand (asked once per brand and response)."""
        request = self.context.get("request")
        if request is None:
            return False
        cache = self.context.setdefault("_manages_brand", {})
        if obj.brand_id not in cache:
            cache[obj.brand_id] = can_manage_brand(request.user, obj.brand_id)
        return cache[obj.brand_id]

    def get_print_file_url(self, obj: LineDesign) -> str | None:
        return absolute_url(self.context.get("request"), obj.print_file) if self._staff_reads(obj) else None

    def get_print_pdf_url(self, obj: LineDesign) -> str | None:
        return absolute_url(self.context.get("request"), obj.print_pdf) if self._staff_reads(obj) else None


class OrderLineSerializer(serializers.ModelSerializer):
    product = serializers.CharField(source="product_slug")
    base_color = serializers.CharField(source="base_color_name")
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    design = serializers.SerializerMethodField()

    class Meta:
        model = OrderLine
        fields = [
            "id",
            "product",
            "product_name",
            "product_type",
            "base_color",
            "base_color_hex",
            "quantity",
            "unit_price",
            "line_total",
            "design",
        ]

    @extend_schema_field(LineDesignSerializer(allow_null=True))
    def get_design(self, obj: OrderLine):
        try:
            design = obj.design
        except ObjectDoesNotExist:
            return None
        return LineDesignSerializer(design, context=self.context).data


class OrderSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    lines = OrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "url",
            "status",
            "total",
            "created_at",
            "full_name",
            "email",
            "address_line1",
            "address_line2",
            "city",
            "postcode",
            "country",
            "lines",
        ]
        read_only_fields = fields

    def get_url(self, obj: Order) -> str:
        return reverse(
            "shop_api:order-detail", kwargs={"lookup": obj.number}, request=self.context.get("request")
        )
