"""Input and output serializers of the generation API.

Input serializers check types only; the rules themselves (the ranges of the product's model preset,
colours of a product, allowed materials, policy, quotas) are the service's, which the storefront
shares: its errors answer 400 under the same field names.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from apikit.serializers import StrictCharField, absolute_url
from brand_guides.models import MaterialPreset, StylePreset
from personalization import eta, selectors
from personalization.conf import conf
from personalization.hosts import host
from personalization.models import GenerationImage, GenerationRequest
from personalization.preflight import image_preflight
from personalization.recipe import MAX_SEED
from personalization.review import images_visible

PRESET_RANGE = (
    "Range and default: the product's model preset's (GET /api/v1/presets/); omitted or null: the "
    "preset's default"
)

# --- input ---------------------------------------------------------------------------------------


class GenerationCreateSerializer(serializers.Serializer):
    """A design request: JSON, or multipart/form-data when a reference image is sent.

    The ranges of steps, guidance_scale, strength, size and variations depend on the product's
    model preset (the product's `model_preset`, see GET /api/v1/presets/): a value outside them
    answers 400 with a message under its field."""

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

    # Type-level only: the ranges, sizes and defaults are the product's model preset's (GET
    # presets/), checked once by the service (recipe.build); out of range answers 400 with the
    # field's message.
    steps = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text=f"Denoising steps. {PRESET_RANGE} (e.g. 1 to 4 with sd-turbo).",
    )
    guidance_scale = serializers.FloatField(
        required=False,
        allow_null=True,
        help_text=f"Classifier-free guidance. {PRESET_RANGE} (always 0 with sd-turbo).",
    )
    seed = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text=f"Seed of the first variation (variation i uses seed + i), 0 to {MAX_SEED}; random when "
        "omitted.",
    )
    variations = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text=f"How many variations to generate (default 1). {PRESET_RANGE} (max_variations).",
    )
    strength = serializers.FloatField(
        required=False,
        allow_null=True,
        help_text=f"How far to move away from the reference image. {PRESET_RANGE}.",
    )
    size = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="Pixel budget: one of the preset's `sizes`, the side of a square with as many pixels; "
        "the design takes the print area's shape (768 on a 200 x 85 mm mug strip: 1152 x 512 px, "
        f"see the images' `width` and `height`). {PRESET_RANGE}.",
    )
    reference_fit = serializers.ChoiceField(
        choices=["cover", "contain"],
        required=False,
        default="cover",
        error_messages={"invalid_choice": "Choose how to fit the reference picture: cover or contain."},
        help_text="How the reference image is fitted to the design's shape before encoding: cover "
        "(fill, centre-cropped; the default) or contain (whole, padded with its border colour). "
        "Only used with `reference_image`.",
    )
    transparent_background = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Generate the motif on a plain background that is cut out, so the product's colour "
        "shows around it (default false).",
    )

    def validate_product(self, value: str):
        product = host().get_product(slug=value)  # the host's personalizable products only
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


class PreflightPrintSizeSerializer(serializers.Serializer):
    width_mm = serializers.FloatField()
    height_mm = serializers.FloatField()
    width_in = serializers.FloatField()
    height_in = serializers.FloatField()
    bleed_mm = serializers.FloatField(help_text="Added on every side of the print file, trimmed off.")


class PreflightPixelsSerializer(serializers.Serializer):
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class PreflightBelowMinimumSerializer(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=["upscale", "block"],
        help_text="The brand's choice: enlarge with the print upscaler, or refuse the order.",
    )
    message = serializers.CharField(help_text="What the customer reads.")
    upscaler = serializers.CharField(help_text='"Lanczos" or the print upscaler model\'s name.')


class PreflightProblemSerializer(serializers.Serializer):
    layer = serializers.ChoiceField(choices=["text", "logo", "design"])
    message = serializers.CharField()


class PreflightSafeAreaSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    problems = PreflightProblemSerializer(many=True)


class PreflightCropSerializer(serializers.Serializer):
    share = serializers.FloatField(help_text="0 to 1: how much of the design a cover fit cuts off.")
    axis = serializers.ChoiceField(choices=["width", "height"], allow_null=True)


class PreflightSerializer(serializers.Serializer):
    """What the customer sees before ordering (personalization.preflight)."""

    ok = serializers.BooleanField(
        help_text="Nothing blocks the order and nothing important lies outside the safe area."
    )
    blocked = serializers.BooleanField(
        help_text="Below the product's minimum DPI and the brand blocks such orders: adding it to a "
        "cart answers an error."
    )
    print_size = PreflightPrintSizeSerializer(help_text="The print area (trim).")
    design_px = PreflightPixelsSerializer()
    print_px = PreflightPixelsSerializer(help_text="The print file: print area plus bleed at target_dpi.")
    effective_dpi = serializers.FloatField(
        help_text="The design's pixels per inch at print size (print area plus bleed, the axis the fit "
        "keeps), to 1 decimal (rounded down below the minimum, so it never reads as reaching it)."
    )
    target_dpi = serializers.IntegerField()
    min_dpi = serializers.IntegerField()
    meets_minimum = serializers.BooleanField()
    below_minimum = PreflightBelowMinimumSerializer(allow_null=True, help_text="null when it meets it.")
    safe_area = PreflightSafeAreaSerializer()
    crop = PreflightCropSerializer()
    messages = serializers.ListField(
        child=serializers.CharField(), help_text="Sentences for the customer, most important first."
    )


class GenerationImageSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    mockup_url = serializers.SerializerMethodField()
    preflight = serializers.SerializerMethodField()

    class Meta:
        model = GenerationImage
        fields = ["index", "seed", "url", "mockup_url", "brand_consistency", "preflight"]
        fields += ["width", "height"]  # the design's pixels: the print area's shape (size's budget)
        extra_kwargs = {
            "width": {"help_text": "The design's width in pixels (the print area's shape)."},
            "height": {"help_text": "The design's height in pixels."},
        }

    @extend_schema_field(PreflightSerializer)
    def get_preflight(self, obj: GenerationImage) -> dict:
        """Effective DPI at print size against the product's minimum, what happens below it, the
        safe area and the crop: the same preflight the storefront shows."""
        return image_preflight(obj)

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
    product = serializers.SerializerMethodField()
    brand = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    style = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    material = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    base_color = serializers.CharField(source="base_color_name", read_only=True)
    base_color_hex = serializers.CharField(read_only=True)
    size = serializers.IntegerField(
        source="pixel_budget",
        read_only=True,
        help_text="The pixel budget asked for (one of the preset's sizes); width x height is its shape.",
    )
    preset = serializers.CharField(
        read_only=True,
        help_text="The model preset it was made with (GET /api/v1/presets/), e.g. sd21 or sd-turbo.",
    )
    progress = serializers.FloatField(read_only=True, help_text="0 to 1.")
    phase = serializers.ChoiceField(
        choices=GenerationRequest.Phase.choices,
        read_only=True,
        help_text="Where the request is in its run: queued, generating (step k of n: progress), "
        "reseeding (an off-brand variation drawn again, its own step k of n), postprocessing (brand "
        "colours and content checked), storing (mockups drawn, files saved). A finished request keeps "
        'the phase it finished in; "" when it never waited for a worker (refused at submit, answered '
        "from the cache).",
    )
    queue_position = serializers.SerializerMethodField()
    eta_seconds = serializers.SerializerMethodField()
    poll_after_seconds = serializers.SerializerMethodField()
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
            "phase",
            "progress",
            "queue_position",
            "eta_seconds",
            "poll_after_seconds",
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
            "width",
            "height",
            "reference_fit",
            "transparent_background",
            "preset",
            "images",
            "preview_url",
            "review_state",
            "review_reason",
            "timings",
            "error",
            "rating",
        ]
        read_only_fields = fields

    def get_product(self, obj: GenerationRequest) -> str:
        # The host adapter's slug (ProductInfo.slug), never a field of the host's model read by name.
        return selectors.request_product_info(obj).slug

    def get_url(self, obj: GenerationRequest) -> str:
        return reverse("api:generation-detail", kwargs={"pk": obj.pk}, request=self.context.get("request"))

    def get_queue_position(self, obj: GenerationRequest) -> int:
        """1 for the next request to run; 0 when not queued."""
        return eta.wait_for(obj).position

    def get_eta_seconds(self, obj: GenerationRequest) -> float | None:
        """Estimated seconds until done, from the measured throughput of the workers (queued: the
        work ahead shared among the live workers, plus its own run); null once finished."""
        return eta.wait_for(obj).eta_seconds

    def get_poll_after_seconds(self, obj: GenerationRequest) -> int | None:
        """Seconds to wait before polling again: 1 while running or next in line; about a tenth of
        the ETA further back in the queue (1 to 10); null once finished (stop polling)."""
        return eta.poll_after_seconds(obj)

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


# --- model presets -------------------------------------------------------------------------------


class RangeSerializer(serializers.Serializer):
    min = serializers.FloatField()
    max = serializers.FloatField()
    default = serializers.FloatField()


class IntegerRangeSerializer(serializers.Serializer):
    min = serializers.IntegerField()
    max = serializers.IntegerField()
    default = serializers.IntegerField()


class CapabilitiesSerializer(serializers.Serializer):
    img2img = serializers.BooleanField(help_text="Takes a reference image (`reference_image`, `strength`).")
    negative_prompt = serializers.BooleanField(
        help_text="Uses the brand's negative prompt (false: it is dropped, guidance is off)."
    )
    lora = serializers.BooleanField(help_text="Can apply a brand's style weights (LoRA).")


class PresetSerializer(serializers.Serializer):
    """A model preset (personalization.presets) with the shop's overrides: what a design request for
    a product with this preset may ask for."""

    name = serializers.CharField(help_text="What products show as `model_preset`, e.g. sd21.")
    label = serializers.CharField()
    description = serializers.CharField()
    default = serializers.BooleanField(
        help_text="The shop's default preset (a product or brand may choose another)."
    )
    scheduler = serializers.CharField(help_text="The sampler's key, e.g. dpmsolver++-2m.")
    scheduler_label = serializers.CharField(help_text="The diffusers scheduler it runs.")
    prediction_type = serializers.CharField()
    native_size = serializers.IntegerField(help_text="The size the model was trained at (px).")
    sizes = serializers.ListField(
        child=serializers.IntegerField(), help_text="The allowed `size` values (px)."
    )
    default_size = serializers.IntegerField()
    steps = IntegerRangeSerializer()
    guidance_scale = RangeSerializer(help_text="max 0: no classifier-free guidance.")
    strength = RangeSerializer(help_text="img2img only.")
    variations = IntegerRangeSerializer()
    capabilities = CapabilitiesSerializer()

    def to_representation(self, preset):
        return {
            "name": preset.name,
            "label": preset.label,
            "description": preset.description,
            "default": preset.name == conf.DEFAULT_PRESET,
            "scheduler": preset.scheduler,
            "scheduler_label": preset.scheduler_label,
            "prediction_type": preset.prediction_type,
            "native_size": preset.native_size,
            "sizes": list(preset.sizes),
            "default_size": preset.default_size,
            "steps": {"min": preset.min_steps, "max": preset.max_steps, "default": preset.default_steps},
            "guidance_scale": {
                "min": preset.min_guidance,
                "max": preset.max_guidance,
                "default": preset.default_guidance,
            },
            "strength": {
                "min": preset.min_strength,
                "max": preset.max_strength,
                "default": preset.default_strength,
            },
            "variations": {"min": 1, "max": preset.max_variations, "default": 1},
            "capabilities": {
                "img2img": preset.img2img,
                "negative_prompt": preset.negative_prompt,
                "lora": preset.lora,
            },
        }
