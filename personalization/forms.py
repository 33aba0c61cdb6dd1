"""The studio form: parses what the customer typed. The rules (ranges, colours, policy, quotas)
live in services.generation_request_create, the same function the REST API calls (its parameters
are validated once, by recipe.build, against the product's model preset); the view maps its
ValidationError back onto these fields.

The sliders follow the chosen product's preset (``selectors.preset_for_product``): their bounds,
steps and defaults are the preset's, and what the preset cannot do is not offered (SD-Turbo has no
guidance slider; a preset without img2img has no reference picture). The form parses types only.
"""

from functools import cached_property

from django import forms
from django.core.exceptions import ValidationError

from brand_guides.selectors import material_presets_for, style_presets_for

from .hosts import host
from .selectors import offered_presets, preset_for_product

FIELDS = (
    "product",
    "base_color",
    "description",
    "style",
    "material",
    "reference_image",
    "reference_fit",
    "transparent_background",
    "strength",
    "steps",
    "guidance_scale",
    "seed",
    "size",
    "variations",
)
# The fields whose widgets (bounds, step, choices, default) come from the product's model preset.
PRESET_FIELDS = ("strength", "steps", "guidance_scale", "size", "variations")


def products():
    """The host's personalizable products (the host adapter's ``products()``)."""
    return host().products()


class ProductField(forms.Field):
    """A product of the host's catalogue, chosen by its slug; cleans to the host's product row
    (found by the host adapter, never by a field of the host's model)."""

    default_error_messages = {"invalid_choice": "Choose a product from the catalogue."}
    chosen = None  # the form's chosen product (StudioForm.__init__): no second lookup

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if not isinstance(value, str):
            return value  # a product row given as initial data
        if self.chosen is not None and host().product_info(self.chosen).slug == value:
            return self.chosen
        product = host().get_product(slug=value)
        if product is None:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return product


class Range(forms.NumberInput):
    input_type = "range"


def _number(value) -> str:
    """A bound for an HTML attribute: 4 -> "4", 0.25 -> "0.25", 20.0 -> "20"."""
    return f"{value:g}"


class StudioForm(forms.Form):
    product = ProductField(error_messages={"required": "Choose a product from the catalogue."})
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
        # hx-preserve: a chosen file survives the product switch (the preset fields are re-rendered).
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/png,image/jpeg,image/webp", "hx-preserve": True}
        ),
    )
    reference_fit = forms.ChoiceField(
        required=False,
        label="Fit the picture",
        choices=[
            ("cover", "Fill the design (crop the edges)"),
            ("contain", "Show it whole (pad the edges)"),
        ],
        initial="cover",
        help_text="Your picture is fitted to the design's shape, the shape of the print area.",
        error_messages={"invalid_choice": "Choose how to fit the reference picture: cover or contain."},
        # hx-preserve: kept with the chosen picture across a product switch, as the picture is.
        widget=forms.Select(attrs={"hx-preserve": True}),
    )
    transparent_background = forms.BooleanField(
        required=False,
        label="No background",
        help_text="The motif alone, cut out of a plain background: the product's colour shows around it.",
    )
    # Bounds, steps, choices and defaults: the preset's (_follow_preset). No range checks here.
    strength = forms.FloatField(
        required=False,
        label="How far to move away from the reference",
        help_text="Low keeps your picture close; high lets the model reinvent it.",
        widget=Range(),
    )
    steps = forms.IntegerField(required=False, label="Detail (steps)", widget=Range())
    guidance_scale = forms.FloatField(required=False, label="Follow my words (guidance)", widget=Range())
    seed = forms.IntegerField(
        required=False,
        label="Seed",
        help_text="Blank: a random seed. The same seed and words give the same picture.",
        widget=forms.NumberInput(attrs={"min": "0", "inputmode": "numeric", "placeholder": "random"}),
    )
    size = forms.IntegerField(
        required=False,
        label="Size",
        help_text="The pixel budget: the design takes the print area's shape.",
        widget=forms.Select(),
    )
    variations = forms.IntegerField(required=False, label="Variations", widget=forms.Select())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.chosen_product = self._chosen_product()
        # The host's description of the chosen product (None: none chosen).
        self.chosen_info = host().product_info(self.chosen_product) if self.chosen_product else None
        self.fields["product"].chosen = self.chosen_product
        self.preset = preset_for_product(self.chosen_product, info=self.chosen_info)
        self._follow_preset()
        if self.chosen_info is not None:
            materials, styles = offered_presets(self.chosen_info)
            self.fields["material"].queryset, self.fields["style"].queryset = materials, styles

    def _follow_preset(self) -> None:
        """Widgets, help and defaults of the preset fields from ``self.preset``. Each of these
        widgets carries ``data-preset-value``: the product picker sends them along (hx-include) so
        that a switch to a product with the same preset keeps them."""
        preset = self.preset
        keep = {"data-preset-value": True}
        self.fields["steps"].widget = Range(
            attrs={"min": preset.min_steps, "max": preset.max_steps, "step": 1} | keep
        )
        steps = f"{preset.min_steps} to {preset.max_steps}"
        self.fields["steps"].help_text = f"{steps}: more steps, more detail, more time."
        self.fields["guidance_scale"].widget = Range(
            attrs={"min": _number(preset.min_guidance), "max": _number(preset.max_guidance), "step": "0.5"}
            | keep
        )
        self.fields["guidance_scale"].help_text = (
            f"{_number(preset.min_guidance)} to {_number(preset.max_guidance)}: "
            "higher follows your words more literally."
        )
        self.fields["strength"].widget = Range(
            attrs={"min": _number(preset.min_strength), "max": _number(preset.max_strength), "step": "0.05"}
            | keep
        )
        self.fields["size"].widget = forms.Select(choices=self.size_choices(preset), attrs=keep)
        self.fields["variations"].widget = forms.Select(
            choices=[(n, str(n)) for n in range(1, preset.max_variations + 1)], attrs=keep
        )
        for name, value in self.defaults(preset).items():
            self.fields[name].initial = self.initial.get(name, value)

    def size_choices(self, preset) -> list[tuple[int, str]]:
        """Each size of the preset as the pixels the chosen product's design will have ("1152 × 512
        px" for 768 on a 200 x 85 mm mug strip; "768 × 768 px" without a product)."""
        from .sizing import shaped_size

        area = self.chosen_info.print_area if self.chosen_info is not None else None
        try:
            aspect = area.width_mm / area.height_mm if area is not None else 1.0
            shapes = [shaped_size(size, aspect) for size in preset.sizes]
        except (TypeError, ValueError, ZeroDivisionError):  # no print area size: the service says so
            shapes = [(size, size) for size in preset.sizes]
        return [(size, f"{w} × {h} px") for size, (w, h) in zip(preset.sizes, shapes, strict=True)]

    @property
    def preset_short_name(self) -> str:
        """The label's short name: SD-Turbo for "SD-Turbo (SD 2.1 distilled, 1-4 steps)"."""
        return self.preset.label.split(" (")[0]

    @property
    def guidance_note(self) -> str:
        """Why there is no guidance slider ("" when there is one)."""
        if self.preset.uses_guidance:
            return ""
        return f"{self.preset_short_name} runs without guidance, so there is no negative prompt either."

    @property
    def reference_note(self) -> str:
        """Why there is no reference picture field ("" when there is one)."""
        if self.preset.img2img:
            return ""
        return f"{self.preset_short_name} cannot start from a picture of your own."

    @staticmethod
    def defaults(preset) -> dict:
        """The preset's defaults of the preset fields (what the service uses for a blank value)."""
        return {
            "steps": preset.default_steps,
            "guidance_scale": preset.default_guidance,
            "strength": preset.default_strength,
            "size": preset.default_size,
            "variations": 1,
        }

    def _chosen_product(self):
        slug = self.data.get("product") if self.is_bound else self.initial.get("product")
        if slug is not None and hasattr(slug, "pk"):
            return slug  # a product row given as initial data
        if not slug or not isinstance(slug, str):
            return None
        return host().get_product(slug=slug)

    @cached_property
    def product_choices(self) -> list:
        """The host's products, described (``ProductInfo``), for the product picker."""
        return host().product_infos(products())

    @property
    def colors(self) -> list:
        """The chosen product's base colours (``BaseColor``: name, hex)."""
        return list(self.chosen_info.base_colors) if self.chosen_info else []

    def selected_color(self) -> str:
        value = self["base_color"].value() or ""
        names = [c.name for c in self.colors]
        if value in names:
            return value
        return names[0] if names and not self.is_bound else value

    def service_kwargs(self) -> dict:
        """cleaned_data in the shape of generation_request_create's keyword arguments."""
        data = self.cleaned_data
        steps = data.get("steps")
        if data.get("reference_image") and "steps" not in self.changed_data:
            # A range input always sends its value: the steps slider left at the preset's default is
            # no choice, so the recipe's img2img default applies (enough steps for the strength:
            # SD-Turbo's 1 step at strength 0.5 would leave none to run).
            steps = None
        return {
            "product": data["product"],
            "base_color": data.get("base_color") or "",
            "description": data.get("description") or "",
            "style": data.get("style"),
            "material": data.get("material"),
            "reference_image": data.get("reference_image") or None,
            "reference_fit": data.get("reference_fit") or "cover",
            "transparent_background": bool(data.get("transparent_background")),
            "strength": data.get("strength"),
            "steps": steps,
            "guidance_scale": data.get("guidance_scale"),
            "seed": data.get("seed"),
            "size": data.get("size"),
            "variations": data.get("variations"),
        }

    def add_service_errors(self, error: ValidationError) -> None:
        """The service's field -> message dict, each under its field (others at the top)."""
        for field, messages in error.message_dict.items():
            target = field if field in self.fields else None
            for message in messages:
                self.add_error(target, message)
