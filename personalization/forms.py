"""The studio form: parses what the customer typed. The rules (ranges, colours, policy, quotas)
live in services.generation_request_create, the same function the REST API calls; the view maps
its ValidationError back onto these fields."""

from django import forms
from django.apps import apps
from django.core.exceptions import ValidationError

from brand_guides.selectors import material_presets_for, style_presets_for

from .conf import conf

FIELDS = (
    "product",
    "base_color",
    "description",
    "style",
    "material",
    "reference_image",
    "strength",
    "steps",
    "guidance_scale",
    "seed",
    "variations",
)


def product_model():
    return apps.get_model(conf.PRODUCT_MODEL)


def products():
    return (
        product_model()
        ._default_manager.filter(is_published=True)
        .select_related("category", "brand")
        .prefetch_related("base_colors", "allowed_materials")
    )


class Range(forms.NumberInput):
    input_type = "range"


class StudioForm(forms.Form):
    product = forms.ModelChoiceField(
        queryset=None,
        to_field_name="slug",
        empty_label="Choose a product…",
        error_messages={
            "required": "Choose a product from the catalogue.",
            "invalid_choice": "Choose a product from the catalogue.",
        },
    )
    base_color = forms.CharField(required=False, max_length=40, label="Base colour")
    description = forms.CharField(
        required=False,
        label="Describe your design",
        widget=forms.Textarea(
            attrs={"rows": 4, "placeholder": "A fox curled up in the snow under the northern lights"}
        ),
    )
    style = forms.ModelChoiceField(
        queryset=style_presets_for(),  # shared ones; with a product, also its brand's (__init__)
        to_field_name="slug",
        required=False,
        empty_label="No particular style",
        error_messages={"invalid_choice": "Choose one of the listed styles."},
    )
    material = forms.ModelChoiceField(
        queryset=material_presets_for(),
        to_field_name="slug",
        required=False,
        empty_label="Standard",
        error_messages={"invalid_choice": "Choose one of this product's materials."},
    )
    reference_image = forms.FileField(
        required=False,
        label="Reference picture (optional)",
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )
    strength = forms.FloatField(
        required=False,
        label="How far to move away from the reference",
        widget=Range(attrs={"min": "0.05", "max": "1", "step": "0.05"}),
    )
    steps = forms.IntegerField(required=False, label="Detail (steps)")
    guidance_scale = forms.FloatField(required=False, label="Follow my words (guidance)")
    seed = forms.IntegerField(
        required=False,
        label="Seed",
        help_text="Blank: a random seed. The same seed and words give the same picture.",
        widget=forms.NumberInput(attrs={"min": "0", "inputmode": "numeric", "placeholder": "random"}),
    )
    variations = forms.IntegerField(required=False, label="Variations")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products()
        self.fields["steps"].widget = Range(attrs={"min": conf.MIN_STEPS, "max": conf.MAX_STEPS, "step": 1})
        self.fields["guidance_scale"].widget = Range(
            attrs={"min": conf.MIN_GUIDANCE, "max": conf.MAX_GUIDANCE, "step": 0.5}
        )
        self.fields["variations"].widget = forms.Select(
            choices=[(n, str(n)) for n in range(1, conf.MAX_VARIATIONS + 1)]
        )
        for name, value in self.defaults().items():
            self.fields[name].initial = self.initial.get(name, value)
        self.chosen_product = self._chosen_product()
        if self.chosen_product is not None:
            brand_id = self.chosen_product.brand_id
            offered = material_presets_for(brand_id=brand_id)
            allowed = self.chosen_product.allowed_materials.all()
            self.fields["material"].queryset = offered.filter(pk__in=allowed) if allowed else offered
            self.fields["style"].queryset = style_presets_for(brand_id=brand_id)

    @staticmethod
    def defaults() -> dict:
        return {
            "steps": conf.DEFAULT_STEPS,
            "guidance_scale": conf.DEFAULT_GUIDANCE,
            "strength": conf.DEFAULT_STRENGTH,
            "variations": 1,
        }

    def _chosen_product(self):
        slug = self.data.get("product") if self.is_bound else self.initial.get("product")
        if hasattr(slug, "slug"):
            return slug
        if not slug or not isinstance(slug, str):
            return None
        return self.fields["product"].queryset.filter(slug=slug).first()

    @property
    def colors(self) -> list:
        return list(self.chosen_product.base_colors.all()) if self.chosen_product else []

    def selected_color(self) -> str:
        value = self["base_color"].value() or ""
        names = [c.name for c in self.colors]
        if value in names:
            return value
        return names[0] if names and not self.is_bound else value

    def service_kwargs(self) -> dict:
        """cleaned_data in the shape of generation_request_create's keyword arguments."""
        data = self.cleaned_data
        return {
            "product": data["product"],
            "base_color": data.get("base_color") or "",
            "description": data.get("description") or "",
            "style": data.get("style"),
            "material": data.get("material"),
            "reference_image": data.get("reference_image") or None,
            "strength": data.get("strength"),
            "steps": data.get("steps"),
            "guidance_scale": data.get("guidance_scale"),
            "seed": data.get("seed"),
            "variations": data.get("variations"),
        }

    def add_service_errors(self, error: ValidationError) -> None:
        """The service's field -> message dict, each under its field (others at the top)."""
        for field, messages in error.message_dict.items():
            target = field if field in self.fields else None
            for message in messages:
                self.add_error(target, message)
