"""The customer's text or monogram over the API: the text-layer object that a design preview and
a host's order line take, and the preview's answer. Input is checked for type and vocabulary here;
the brand's rules (fonts, palette, policy, the product's length limit) are the plugin's
(``text_layers.text_layer_from``), shared with the studio: their errors answer 400 under the same keys."""

from rest_framework import serializers

from apikit.serializers import StrictCharField
from personalization.artwork import TEXT_CURVES, TEXT_KINDS, TEXT_POSITIONS, TEXT_SIZES


class TextLayerSerializer(serializers.Serializer):
    """A line of text (a name, a date, a short message) or a 2-3 letter monogram printed with the
    design. Blank or missing `text`: no text layer (the other keys are ignored)."""

    text = StrictCharField(
        max_length=200,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text="What to print. At most the product's `max_length` characters (GET "
        "generations/{id}/text-options/); no control characters; the brand's content rules apply.",
    )
    kind = serializers.ChoiceField(
        TEXT_KINDS, required=False, help_text="`line` (default) or `monogram` (2 or 3 letters)."
    )
    font = StrictCharField(
        max_length=40,
        required=False,
        allow_blank=True,
        help_text="Key of one of the brand's fonts (text-options `fonts[].key`); default: the brand's first.",
    )
    color = StrictCharField(
        max_length=80,
        required=False,
        allow_blank=True,
        help_text="Name or hex of one of the brand palette's colours (text-options `colors`).",
    )
    size = serializers.ChoiceField(TEXT_SIZES, required=False, help_text="Default `medium`.")
    position = serializers.ChoiceField(
        TEXT_POSITIONS, required=False, help_text="Inside the print area's safe zone; default `bottom`."
    )
    curve = serializers.ChoiceField(TEXT_CURVES, required=False, help_text="Default `straight`.")


class TextLayerOutputSerializer(serializers.Serializer):
    """A validated text layer as it is printed and frozen on an order line."""

    text = serializers.CharField()
    kind = serializers.ChoiceField(TEXT_KINDS)
    font = serializers.CharField(help_text="Key of the brand font.")
    color_hex = serializers.CharField(help_text="The palette colour, #rrggbb.")
    size = serializers.ChoiceField(TEXT_SIZES)
    position = serializers.ChoiceField(TEXT_POSITIONS)
    curve = serializers.ChoiceField(TEXT_CURVES)


class DesignPreviewRequestSerializer(serializers.Serializer):
    text_layer = TextLayerSerializer(required=False, allow_null=True)


class DesignPreviewSerializer(serializers.Serializer):
    text_layer = TextLayerOutputSerializer(allow_null=True, help_text="The text as validated; null for none.")
    preflight = serializers.JSONField(
        help_text="The print check of the design with this text (the same object as on each image of "
        "GET generations/{id}/: effective_dpi, min_dpi, meets_minimum, blocked, below_minimum, "
        "safe_area, crop, messages, ...)."
    )
    mockup = serializers.CharField(help_text="The mockup with the text: a data:image/png;base64 URL.")


class DesignPreviewErrorSerializer(serializers.Serializer):
    """400: the text layer's keys that were wrong, each with its messages."""

    text_layer = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Keyed by text, kind, font, color, size, position or curve.",
    )
    design = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="The variation cannot be previewed (its picture is no longer available).",
    )


class _FontOptionSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="What `text_layer.font` takes.")
    label = serializers.CharField()
    family = serializers.CharField()
    style = serializers.CharField()


class _ColorOptionSerializer(serializers.Serializer):
    name = serializers.CharField()
    hex = serializers.CharField()
    role = serializers.CharField()


class _TextDefaultsSerializer(serializers.Serializer):
    kind = serializers.CharField()
    size = serializers.CharField()
    position = serializers.CharField()
    curve = serializers.CharField()
    font = serializers.CharField()
    color = serializers.CharField(help_text="Hex of the default colour.")


class TextOptionsSerializer(serializers.Serializer):
    available = serializers.BooleanField(help_text="False: the brand offers no fonts, so no text.")
    max_length = serializers.IntegerField(help_text="The most characters of a text on this product.")
    monogram_lengths = serializers.ListField(child=serializers.IntegerField())
    fonts = _FontOptionSerializer(many=True)
    colors = _ColorOptionSerializer(many=True)
    kinds = serializers.ListField(child=serializers.CharField())
    sizes = serializers.ListField(child=serializers.CharField())
    positions = serializers.ListField(child=serializers.CharField())
    curves = serializers.ListField(child=serializers.CharField())
    defaults = _TextDefaultsSerializer()
