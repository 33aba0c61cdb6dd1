"""Public views of brand guides. Banned terms, trademark allowlists, LoRA weights and style
prompt templates are merchant-side and never leave the server."""

from rest_framework import serializers

from apikit.serializers import absolute_url
from brand_guides.models import Brand, MaterialPreset, PaletteColor, StylePreset


class PaletteColorSerializer(serializers.ModelSerializer):
    class Meta:
        model = PaletteColor
        fields = ["name", "hex", "role"]


class BrandSerializer(serializers.ModelSerializer):
    palette = PaletteColorSerializer(many=True, read_only=True)
    style_keywords = serializers.ListField(
        source="style_keyword_list", child=serializers.CharField(), read_only=True
    )

    class Meta:
        model = Brand
        fields = ["name", "slug", "description", "palette", "style_keywords"]


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
