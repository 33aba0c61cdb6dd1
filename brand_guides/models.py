import contextlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinLengthValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from . import model_presets
from .fonts import FontError, FontFacts, inspect_font, read_bytes, validate_font_file
from .storage import UniqueUploadTo, font_upload_to, get_brand_private_storage
from .uploads import AllowedImageField
from .validators import hex_color_validator, split_terms, validate_keyword_text, validate_lora_file

TERMS_HELP = "Comma- or newline-separated."


class Brand(models.Model):
    class ApprovalPolicy(models.TextChoices):
        AUTOMATIC = "automatic", "Automatic"
        MANUAL = "manual", "Manual review"

    class LogoAnchor(models.TextChoices):
        TOP_LEFT = "top-left", "Top left"
        TOP_CENTER = "top-center", "Top centre"
        TOP_RIGHT = "top-right", "Top right"
        CENTER = "center", "Centre"
        BOTTOM_LEFT = "bottom-left", "Bottom left"
        BOTTOM_CENTER = "bottom-center", "Bottom centre"
        BOTTOM_RIGHT = "bottom-right", "Bottom right"

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120, unique=True)
    owners = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="owned_brands")
    description = models.TextField(blank=True)

    style_keywords = models.TextField(blank=True, help_text=TERMS_HELP, validators=[validate_keyword_text])
    negative_keywords = models.TextField(blank=True, help_text=TERMS_HELP, validators=[validate_keyword_text])
    banned_terms = models.TextField(blank=True, help_text=TERMS_HELP, validators=[validate_keyword_text])
    trademark_allowlist = models.TextField(
        blank=True, help_text="The brand's own marks, which pass the trademark check. " + TERMS_HELP
    )

    approval_policy = models.CharField(
        max_length=12, choices=ApprovalPolicy.choices, default=ApprovalPolicy.AUTOMATIC
    )
    text_in_design_outcome = models.CharField(
        "text in a design",
        max_length=8,
        choices=[("review", "Hold for review"), ("reject", "Reject")],
        default="review",
        help_text="What happens when the output check reads a banned term or another company's mark "
        "in a generated picture.",
    )
    min_consistency_score = models.FloatField(
        default=60.0,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Designs scoring below this (0-100) are re-seeded once, then flagged for review.",
    )
    low_resolution = models.CharField(
        "below the minimum print resolution",
        max_length=8,
        choices=[("upscale", "Upscale with the print upscaler"), ("block", "Block the order")],
        default="upscale",
        help_text="What happens when a design has fewer pixels than the product's minimum DPI needs "
        "at its print size. Customers see it in the preflight before they order.",
    )
    harmonize_palette = models.BooleanField(
        default=False, help_text="Gently shift generated colours toward the palette."
    )

    logo = AllowedImageField(
        upload_to=UniqueUploadTo("brands/logos/"), max_length=255, blank=True, help_text="PNG, JPEG or WebP."
    )
    logo_anchor = models.CharField(max_length=16, choices=LogoAnchor.choices, default=LogoAnchor.BOTTOM_RIGHT)
    logo_max_share = models.FloatField(
        default=0.2,
        validators=[MinValueValidator(0.01), MaxValueValidator(1)],
        help_text="Maximum logo width as a share of the print area's width.",
    )
    logo_clear_space_mm = models.FloatField(default=5.0, validators=[MinValueValidator(0)])

    lora_weights = models.FileField(
        upload_to=UniqueUploadTo("brands/lora/"),
        max_length=255,
        blank=True,
        validators=[validate_lora_file],
        help_text="Optional LoRA (.safetensors) applied to this brand's designs.",
    )
    lora_scale = models.FloatField(default=0.8, validators=[MinValueValidator(0), MaxValueValidator(2)])
    model_preset = models.CharField(
        "model preset",
        max_length=20,
        blank=True,
        choices=model_presets.choices,
        help_text="The Stable Diffusion preset this brand's designs are made with (blank: the shop's "
        "default preset). A product may choose its own.",
    )

    # Bumped by brand_guides.services.brand_revise (the only writer) whenever something that decides
    # a design changes (services.DESIGN_FIELDS, the palette, fonts and protected names); part of the
    # result cache's key, so an edited guide is never answered with a design made under the old one.
    revision = models.PositiveIntegerField(
        default=1,
        editable=False,
        help_text="Goes up whenever something that decides a design changes (palette, logo, LoRA, "
        "fonts, lists, model preset...): designs made under an earlier revision are not reused.",
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_consistency_score__gte=0) & Q(min_consistency_score__lte=100),
                name="brand_min_score_0_100",
            ),
            models.CheckConstraint(
                condition=Q(logo_max_share__gt=0) & Q(logo_max_share__lte=1), name="brand_logo_share_0_1"
            ),
            models.CheckConstraint(condition=Q(logo_clear_space_mm__gte=0), name="brand_clear_space_gte_0"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        """An update never writes ``revision``: only ``services.brand_revise`` does, with one
        ``UPDATE ... SET revision = revision + 1``, so a brand loaded before someone else's bump
        cannot write its older number back."""
        if not self._state.adding and not kwargs.get("force_insert"):
            update_fields = kwargs.get("update_fields")
            if update_fields is None:
                deferred = self.get_deferred_fields()  # as Django does: only the loaded fields
                update_fields = [
                    f.attname
                    for f in self._meta.concrete_fields
                    if not f.primary_key and f.attname not in deferred
                ]
            kwargs["update_fields"] = [name for name in update_fields if name != "revision"]
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        if self.lora_weights and (problem := model_presets.lora_problem(self.model_preset)):
            raise ValidationError({"model_preset": problem})

    @property
    def style_keyword_list(self) -> list[str]:
        return split_terms(self.style_keywords)

    @property
    def negative_keyword_list(self) -> list[str]:
        return split_terms(self.negative_keywords)

    @property
    def banned_term_list(self) -> list[str]:
        return split_terms(self.banned_terms)

    @property
    def trademark_allowlist_list(self) -> list[str]:
        return split_terms(self.trademark_allowlist)


class PaletteColor(models.Model):
    class Role(models.TextChoices):
        PRIMARY = "primary", "Primary"
        SECONDARY = "secondary", "Secondary"
        ACCENT = "accent", "Accent"
        BACKGROUND = "background", "Background"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="palette")
    name = models.CharField(max_length=60)
    hex = models.CharField(max_length=7, validators=[hex_color_validator])
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.PRIMARY)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["brand", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["brand", "name"], name="palette_color_unique_name"),
            models.CheckConstraint(condition=Q(hex__regex=r"^#[0-9A-Fa-f]{6}$"), name="palette_color_hex"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.hex}"


class Typography(models.Model):
    class Role(models.TextChoices):
        HEADING = "heading", "Headings"
        BODY = "body", "Body text"
        ACCENT = "accent", "Accent"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="typography")
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.HEADING)
    font_family = models.CharField(
        max_length=120,
        blank=True,
        help_text="e.g. Inter, Helvetica, sans-serif. Blank: the family name read from the font file.",
    )
    font_file = models.FileField(
        upload_to=font_upload_to,
        storage=get_brand_private_storage,  # licensed to the shop, not to its visitors: never public
        max_length=255,
        blank=True,
        validators=[validate_font_file],
        help_text="A .ttf or .otf font (at most 10 MB) whose licence allows embedding and that covers "
        "A-Z, a-z, 0-9 and common punctuation. Customers' text on products is set in it.",
    )

    class Meta:
        ordering = ["brand", "role"]
        verbose_name_plural = "typography"
        constraints = [models.UniqueConstraint(fields=["brand", "role"], name="typography_unique_role")]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.font_family}"

    def clean(self) -> None:
        super().clean()
        if not self.font_family.strip() and self.font_file:
            # A file that cannot be read: the font_file field error says what is wrong with it.
            with contextlib.suppress(FontError, OSError):
                self.font_family = inspect_font(read_bytes(self.font_file)).family
        if not self.font_family.strip() and not self.font_file:
            raise ValidationError({"font_family": "Name the font family, or upload its font file."})

    def font_facts(self) -> FontFacts | None:
        """What the stored font file says about itself (None: no file, or one that cannot be read)."""
        if not self.font_file:
            return None
        try:
            return inspect_font(read_bytes(self.font_file))
        except (FontError, OSError):
            return None


class ProtectedName(models.Model):
    """A real person, living artist or character that this brand's customers may not name (in the
    description or any text layer), with what happens when one is named."""

    class Kind(models.TextChoices):
        PERSON = "person", "Real person"
        ARTIST = "artist", "Living artist"
        CHARACTER = "character", "Character"

    class Outcome(models.TextChoices):
        REJECT = "reject", "Reject"
        REVIEW = "review", "Hold for review"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="protected_names")
    name = models.CharField(
        max_length=120,
        validators=[
            validate_keyword_text,
            MinLengthValidator(3, "A protected name needs 3 letters or more."),
        ],
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PERSON)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.REJECT)

    class Meta:
        ordering = ["brand", "name"]
        constraints = [models.UniqueConstraint(fields=["brand", "name"], name="protected_name_unique")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()}: {self.get_outcome_display().lower()})"


class MaterialPreset(models.Model):
    class Finish(models.TextChoices):
        MATTE = "matte", "Matte"
        SATIN = "satin", "Satin"
        GLOSS = "gloss", "Gloss"
        METALLIC = "metallic", "Metallic"
        TRANSPARENT = "transparent", "Transparent"

    brand = models.ForeignKey(
        Brand,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="material_presets",
        help_text="Empty: shared by every brand (managed by superusers).",
    )
    name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=80, unique=True)
    finish = models.CharField(max_length=12, choices=Finish.choices, default=Finish.MATTE)
    reflectance = models.FloatField(default=0.1, validators=[MinValueValidator(0), MaxValueValidator(1)])
    texture_description = models.CharField(max_length=200, blank=True)
    prompt_keywords = models.TextField(blank=True, help_text=TERMS_HELP, validators=[validate_keyword_text])
    negative_keywords = models.TextField(blank=True, help_text=TERMS_HELP, validators=[validate_keyword_text])

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(reflectance__gte=0) & Q(reflectance__lte=1), name="material_reflectance_0_1"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def prompt_keyword_list(self) -> list[str]:
        return split_terms(self.prompt_keywords)

    @property
    def negative_keyword_list(self) -> list[str]:
        return split_terms(self.negative_keywords)


class StylePreset(models.Model):
    brand = models.ForeignKey(
        Brand,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="style_presets",
        help_text="Empty: shared by every brand (managed by superusers).",
    )
    name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=80, unique=True)
    prompt_template = models.TextField(
        help_text="Merchant-written style text, kept server side. May contain {subject}.",
        validators=[validate_keyword_text],
    )
    negative_template = models.TextField(blank=True, validators=[validate_keyword_text])
    thumbnail = AllowedImageField(upload_to="styles/", blank=True, help_text="PNG, JPEG or WebP.")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name
