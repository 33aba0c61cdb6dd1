"""Input and output serializers of the generation API.

Input serializers check types and documented bounds; the rules themselves (colours of a product,
allowed materials, policy, quotas) are the service's, which the storefront shares.
"""

from urllib.parse import urlsplit

from django.apps import apps
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from brand_guides.models import MaterialPreset, StylePreset
from personalization import selectors
from personalization.conf import conf
from personalization.models import GenerationImage, GenerationRequest
from personalization.review import images_visible
from personalization.services import MAX_SEED


def absolute_url(request, file) -> str | None:
    """The file's URL, absolute: storages such as S3 already answer one; local storage a path."""
    if not file:
        return None
    url = file.url
    if request is None or urlsplit(url).scheme:
        return url
    return request.build_absolute_uri(url)


class StrictCharField(serializers.CharField):
    """A string field that refuses numbers and booleans instead of turning them into text."""

    default_error_messages = {"invalid": "Not a valid string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


# --- input ---------------------------------------------------------------------------------------


class GenerationCreateSerializer(serializers.Serializer):
    """A design request: JSON, or multipart/form-data when a reference image is sent."""

    product = StrictCharField(max_length=120, help_text="Product slug (see GET /api/v1/products/).")
    base_color = StrictCharField(max_length=40, help_text="Name of one of the product's base colours.")
    description = StrictCharField(
        max_length=10_000, trim_whitespace=False, help_text="What the design should show, in plain words."
    )
    style = StrictCharField(
        max_length=80,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="Style slug (GET styles/).",
    )
    material = StrictCharField(
        max_length=80,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="Material slug (GET materials/).",
    )
    reference_image = serializers.FileField(
        required=False,
        allow_null=True,
        allow_empty_file=False,
        help_text="PNG, JPEG or WebP (multipart only).",
    )

    def get_fields(self):
        # Bounds come from settings.PERSONALIZATION, read per request (never at import time).
        fields = super().get_fields()
        fields["steps"] = serializers.IntegerField(
            required=False,
            allow_null=True,
            min_value=conf.MIN_STEPS,
            max_value=conf.MAX_STEPS,
            help_text=f"Denoising steps (default {conf.DEFAULT_STEPS}).",
        )
        fields["guidance_scale"] = serializers.FloatField(
            required=False,
            allow_null=True,
            min_value=conf.MIN_GUIDANCE,
            max_value=conf.MAX_GUIDANCE,
            help_text=f"Classifier-free guidance (default {conf.DEFAULT_GUIDANCE}).",
        )
        fields["seed"] = serializers.IntegerField(
            required=False,
            allow_null=True,
            min_value=0,
            max_value=MAX_SEED,
            help_text="Seed of the first variation (variation i uses seed + i); random when omitted.",
        )
        fields["variations"] = serializers.IntegerField(
            required=False,
            allow_null=True,
            min_value=1,
            max_value=conf.MAX_VARIATIONS,
            help_text="How many variations to generate (default 1).",
        )
        fields["strength"] = serializers.FloatField(
            required=False,
            allow_null=True,
            min_value=0.05,
            max_value=1.0,
            help_text=f"How far to move away from the reference image (default {conf.DEFAULT_STRENGTH}).",
        )
        fields["size"] = serializers.ChoiceField(
            choices=[(size, str(size)) for size in conf.SIZES],
            required=False,
            allow_null=True,
            help_text=f"Square image size in pixels (default {conf.DEFAULT_SIZE}).",
        )
        return fields

    def validate_product(self, value: str):
        product = apps.get_model(conf.PRODUCT_MODEL).objects.filter(slug=value).first()
        if product is None:
            raise serializers.ValidationError("No product with this slug.")
        return product

    def validate_style(self, value: str | None):
        if not value:
            return None
        style = StylePreset.objects.filter(slug=value).first()
        if style is None:
            raise serializers.ValidationError("No style with this slug.")
        return style

    def validate_material(self, value: str | None):
        if not value:
            return None
        material = MaterialPreset.objects.filter(slug=value).first()
        if material is None:
            raise serializers.ValidationError("No material with this slug.")
        return material


class RatingSerializer(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5, help_text="1 (poor) to 5 (great).")


# --- output --------------------------------------------------------------------------------------


class GenerationImageSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    mockup_url = serializers.SerializerMethodField()

    class Meta:
        model = GenerationImage
        fields = ["index", "seed", "url", "mockup_url", "brand_consistency"]

    def get_url(self, obj: GenerationImage) -> str | None:
        return absolute_url(self.context.get("request"), obj.image)

    def get_mockup_url(self, obj: GenerationImage) -> str | None:
        return absolute_url(self.context.get("request"), obj.mockup)


class TimingsSerializer(serializers.Serializer):
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    duration_seconds = serializers.FloatField(allow_null=True)


class GenerationErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class GenerationSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    product = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    brand = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    style = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    material = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    base_color = serializers.CharField(source="base_color_name", read_only=True)
    base_color_hex = serializers.CharField(read_only=True)
    size = serializers.IntegerField(source="width", read_only=True)
    progress = serializers.FloatField(read_only=True, help_text="0 to 1.")
    queue_position = serializers.SerializerMethodField()
    eta_seconds = serializers.SerializerMethodField()
    images = serializers.SerializerMethodField()
    timings = TimingsSerializer(source="*", read_only=True)
    error = serializers.SerializerMethodField()
    preview_url = serializers.SerializerMethodField()
    review_state = serializers.ChoiceField(
        choices=GenerationRequest.ReviewState.choices,
        read_only=True,
        help_text='"" when not held; "pending_review" while a person at the shop checks the design '
        '(no images, no preview, cannot be ordered); "approved" or "rejected" afterwards.',
    )
    review_reason = serializers.SerializerMethodField()

    class Meta:
        model = GenerationRequest
        fields = [
            "id",
            "url",
            "status",
            "progress",
            "queue_position",
            "eta_seconds",
            "product",
            "brand",
            "base_color",
            "base_color_hex",
            "style",
            "material",
            "description",
            "optimized_prompt",
            "negative_prompt",
            "steps",
            "guidance_scale",
            "seed",
            "variations",
            "strength",
            "size",
            "images",
            "preview_url",
            "review_state",
            "review_reason",
            "timings",
            "error",
            "rating",
        ]
        read_only_fields = fields

    def get_url(self, obj: GenerationRequest) -> str:
        return reverse("api:generation-detail", kwargs={"pk": obj.pk}, request=self.context.get("request"))

    def get_queue_position(self, obj: GenerationRequest) -> int:
        """1 for the next request to run; 0 when not queued."""
        return selectors.queue_position(obj)

    def get_eta_seconds(self, obj: GenerationRequest) -> float | None:
        """Estimated seconds until done; null once finished."""
        return selectors.eta_seconds(obj)

    @extend_schema_field(GenerationErrorSerializer(allow_null=True))
    def get_error(self, obj: GenerationRequest):
        if not obj.error_code and not obj.error_message:
            return None
        return {"code": obj.error_code, "message": obj.error_message}

    @extend_schema_field(GenerationImageSerializer(many=True))
    def get_images(self, obj: GenerationRequest):
        """The variations; empty while the design is held for review or after review rejected it."""
        if not images_visible(obj):
            return []
        return GenerationImageSerializer(obj.images.all(), many=True, context=self.context).data

    def get_preview_url(self, obj: GenerationRequest) -> str | None:
        """A small in-progress preview while running; the first image's preview when done; null
        while the design is held for review or after review rejected it."""
        if not images_visible(obj):
            return None
        return absolute_url(self.context.get("request"), obj.preview)

    def get_review_reason(self, obj: GenerationRequest) -> str | None:
        """Why the shop refused the design after review; null unless ``review_state`` is rejected."""
        if obj.review_state != GenerationRequest.ReviewState.REJECTED:
            return None
        return obj.review_reason
