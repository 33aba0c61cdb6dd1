"""Public views of brand guides. Banned terms, trademark allowlists, LoRA weights and style
prompt templates are merchant-side and never leave the server."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apikit.serializers import absolute_url
from brand_guides.models import Brand, MaterialPreset, PaletteColor, StylePreset, Typography


class PaletteColorSerializer(serializers.ModelSerializer):
    class Meta:
        model = PaletteColor
        fields = ["name", "hex", "role"]


class FontSerializer(serializers.Serializer):
    """A font customers' text may be set in (a typography role with a font file; never the file)."""

    key = serializers.CharField(help_text="The role (heading, body, accent): a text layer's `font`.")
    family = serializers.CharField()
    style = serializers.CharField(help_text="Read from the font file, e.g. Regular, Bold.")


class BrandSerializer(serializers.ModelSerializer):
    palette = PaletteColorSerializer(many=True, read_only=True)
    style_keywords = serializers.ListField(
        source="style_keyword_list", child=serializers.CharField(), read_only=True
    )
    fonts = serializers.SerializerMethodField(
        help_text="The brand's fonts for a text layer (heading first): empty when it offers no text."
    )

    class Meta:
        model = Brand
        fields = ["name", "slug", "description", "palette", "style_keywords", "fonts"]

    @extend_schema_field(FontSerializer(many=True))
    def get_fonts(self, obj: Brand) -> list[dict]:
        order = {role: i for i, role in enumerate(Typography.Role.values)}
        fonts = []
        for row in sorted(obj.typography.all(), key=lambda t: order.get(t.role, len(order))):
            if facts := row.font_facts():  # None: no file, or one that cannot be read
                fonts.append(
                    {"key": row.role, "family": row.font_family or facts.family, "style": facts.style}
                )
        return fonts


class MaterialSerializer(serializers.ModelSerializer):
    class Meta:
        model = MaterialPreset
        fields = ["name", "slug", "finish", "reflectance", "texture_description"]


class StyleSerializer(serializers.ModelSerializer):
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = StylePreset
        fields = ["name", "slug", "thumbnail_url"]

    def get_thumbnail_url(self, obj: StylePreset) -> str | None:
        return absolute_url(self.context.get("request"), obj.thumbnail)
