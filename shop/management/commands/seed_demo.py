"""`python manage.py seed_demo`: the demo catalogue. Safe to run again: rows are keyed on slugs and
names (update_or_create), media keep fixed names and are overwritten, so a second run changes nothing."""

import io
from decimal import Decimal
from pathlib import Path

import font_amatic_sc
import font_caladea
import font_fredoka_one
import font_lato
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand
from django.db import transaction
from PIL import Image, ImageDraw, ImageFont

from personalization.interface import (
    Brand,
    MaterialPreset,
    PaletteColor,
    StylePreset,
    Typography,
    draw_template,
)
from shop.models import BaseColor, Category, Product

CATEGORIES = [
    ("apparel", "Apparel"),
    ("accessories", "Accessories"),
    ("home-decor", "Home decor"),
    ("electronics-cases", "Electronics cases"),
    ("footwear", "Footwear"),
    ("stationery", "Stationery"),
    ("jewelry", "Jewelry"),
    ("sports-equipment", "Sports equipment"),
    ("automotive-accessories", "Automotive accessories"),
    ("pet-products", "Pet products"),
    ("kitchen-items", "Kitchen items"),
    ("garden-accessories", "Garden accessories"),
]

# The demo brands' fonts, installed from PyPI font packages (SIL OFL / Apache 2.0, the TTF files
# inside the wheels): never fetched at run time. Customers' text on products is set in them.
LATO = Path(font_lato.__file__).parent / "files" / "Lato-Regular.ttf"
CALADEA_BOLD = Path(font_caladea.__file__).parent / "files" / "Caladea-Bold.ttf"
CALADEA_ITALIC = Path(font_caladea.__file__).parent / "files" / "Caladea-Italic.ttf"
FREDOKA_ONE = Path(font_fredoka_one.__file__).parent / "files" / "FredokaOne-Regular.ttf"
AMATIC_SC_BOLD = Path(font_amatic_sc.__file__).parent / "files" / "AmaticSC-Bold.ttf"

BRANDS = [
    {
        "slug": "northwind-outfitters",
        "name": "Northwind Outfitters",
        "description": "Outdoor wear and gear with a calm, rugged look.",
        "palette": [
            ("Navy", "#1F2A44", "primary"),
            ("Forest", "#2E5339", "secondary"),
            ("Sand", "#D8C3A5", "accent"),
            ("White", "#FFFFFF", "background"),
        ],
        "typography": [
            ("heading", "Caladea", CALADEA_BOLD),
            ("body", "Lato", LATO),
            ("accent", "Amatic SC", AMATIC_SC_BOLD),
        ],
        "style_keywords": "rugged outdoor mood, clean vector shapes, earthy muted tones",
        "negative_keywords": "neon colors, glitter, cluttered composition",
        "banned_terms": "camouflage, hunting trophy, firearm",
        "trademark_allowlist": "Northwind, Northwind Outfitters",
        "approval_policy": Brand.ApprovalPolicy.AUTOMATIC,
        "min_consistency_score": 55.0,
        "logo_anchor": Brand.LogoAnchor.BOTTOM_RIGHT,
        "monogram": "NW",
    },
    {
        "slug": "sunny-days-co",
        "name": "Sunny Days Co.",
        "description": "Cheerful gifts and homeware in bright summer colours.",
        "palette": [
            ("Coral", "#FF6F61", "primary"),
            ("Sunflower", "#FFC93C", "secondary"),
            ("Teal", "#2EC4B6", "accent"),
            ("Cream", "#FFF8E7", "background"),
        ],
        "typography": [
            ("heading", "Fredoka One", FREDOKA_ONE),
            ("body", "Lato", LATO),
            ("accent", "Caladea", CALADEA_ITALIC),
        ],
        "style_keywords": "cheerful, playful, bright summer colors, rounded friendly shapes",
        "negative_keywords": "dark, gloomy, horror, grunge",
        "banned_terms": "skull, blood, alcohol, cigarette",
        "trademark_allowlist": "",
        "approval_policy": Brand.ApprovalPolicy.MANUAL,
        "min_consistency_score": 65.0,
        "logo_anchor": Brand.LogoAnchor.BOTTOM_CENTER,
        "monogram": "SD",
    },
]

M = MaterialPreset.Finish
# slug, name, finish, reflectance, texture, prompt keywords, negative keywords
MATERIALS = [
    (
        "cotton",
        "Cotton (matte)",
        M.MATTE,
        0.05,
        "soft woven cotton jersey",
        "soft cotton fabric texture, matte screen print",
        "glossy, plastic sheen",
    ),
    ("fleece", "Fleece", M.MATTE, 0.03, "brushed fleece pile", "soft brushed fleece, cozy fabric", "shiny"),
    (
        "ceramic",
        "Ceramic (gloss)",
        M.GLOSS,
        0.6,
        "glazed white ceramic",
        "glossy glazed ceramic, smooth reflective surface",
        "rough texture",
    ),
    (
        "canvas",
        "Canvas",
        M.MATTE,
        0.08,
        "cotton canvas weave",
        "textured canvas weave, gallery print",
        "glossy",
    ),
    (
        "metal",
        "Brushed aluminium",
        M.METALLIC,
        0.75,
        "brushed aluminium with a fine linear grain",
        "brushed metal, metallic sheen",
        "rust, scratches",
    ),
    (
        "polyester",
        "Satin polyester",
        M.SATIN,
        0.3,
        "smooth satin-finish polyester",
        "smooth satin fabric, soft sheen",
        "wrinkles",
    ),
    (
        "polycarbonate",
        "Acrylic (transparent)",
        M.TRANSPARENT,
        0.45,
        "clear glossy acrylic",
        "clear acrylic, transparent glossy surface",
        "cloudy, scratched",
    ),
    (
        "stainless-steel",
        "Stainless steel",
        M.METALLIC,
        0.7,
        "polished stainless steel",
        "polished stainless steel, metallic reflections",
        "rust",
    ),
    (
        "wood",
        "Natural wood",
        M.MATTE,
        0.1,
        "natural wood grain",
        "natural wood grain, laser engraved look",
        "plastic",
    ),
    (
        "matte-paper",
        "Matte paper",
        M.MATTE,
        0.04,
        "uncoated matte paper",
        "matte paper print, crisp ink",
        "glossy",
    ),
    (
        "sterling-silver",
        "Sterling silver",
        M.METALLIC,
        0.85,
        "polished sterling silver",
        "fine engraved silver, jewelry detail",
        "tarnish",
    ),
    (
        "terracotta",
        "Terracotta",
        M.MATTE,
        0.06,
        "unglazed terracotta clay",
        "earthy terracotta clay surface",
        "gloss",
    ),
    (
        "natural-rubber",
        "Natural rubber",
        M.MATTE,
        0.05,
        "grippy natural rubber",
        "textured rubber surface, bold print",
        "glossy",
    ),
]

# slug, name, prompt template, negative template (from the styles in the paper's request set)
STYLES = [
    (
        "watercolor",
        "Watercolor",
        "delicate watercolor painting of {subject}, soft washes, paper texture",
        "harsh outlines, photo",
    ),
    (
        "minimal-line-art",
        "Minimal line art",
        "minimal continuous line art of {subject}, single weight lines, lots of negative space",
        "shading, color fills, clutter",
    ),
    (
        "retro-synthwave",
        "Retro synthwave",
        "retro synthwave illustration of {subject}, neon sunset gradient, 80s grid",
        "muted colors",
    ),
    (
        "geometric",
        "Geometric",
        "geometric low-poly design of {subject}, clean polygons, flat colors",
        "photo, blur",
    ),
    (
        "realistic-illustration",
        "Realistic illustration",
        "detailed realistic illustration of {subject}, dramatic lighting, fine detail",
        "cartoon, flat",
    ),
    (
        "hand-drawn",
        "Hand-drawn",
        "hand-drawn ink sketch of {subject}, playful linework, doodle style",
        "photo, 3d render",
    ),
    (
        "typographic",
        "Typographic",
        "bold typographic poster design featuring {subject}, strong lettering, balanced layout",
        "misspelled text, clutter",
    ),
    (
        "celestial",
        "Celestial",
        "celestial design of {subject}, stars, moon phases, gold accents on deep blue",
        "daylight",
    ),
]

NW, SD = "northwind-outfitters", "sunny-days-co"
# slug, name, product type, category, brand, price, (w, h) mm, dpi, safe margin, colours, materials
PRODUCTS = [
    (
        "classic-t-shirt",
        "Classic T-shirt",
        "t-shirt",
        "apparel",
        NW,
        "24.00",
        (250, 300),
        300,
        5,
        [("White", "#FFFFFF"), ("Black", "#111111"), ("Navy", "#1F2A44"), ("Heather grey", "#9EA3A8")],
        ["cotton"],
    ),
    (
        "pullover-hoodie",
        "Pullover hoodie",
        "hoodie",
        "apparel",
        NW,
        "49.00",
        (280, 300),
        300,
        5,
        [("Heather grey", "#9EA3A8"), ("Navy", "#1F2A44"), ("Black", "#111111")],
        ["fleece", "cotton"],
    ),
    (
        "ceramic-mug",
        "Ceramic mug",
        "mug",
        "accessories",
        SD,
        "16.00",
        (200, 85),
        300,
        3,
        [("White", "#FFFFFF"), ("Black", "#111111")],
        ["ceramic"],
    ),
    (
        "baseball-cap",
        "Baseball cap",
        "cap",
        "accessories",
        NW,
        "22.00",
        (100, 50),
        300,
        2,
        [("Navy", "#1F2A44"), ("Khaki", "#C3B091"), ("Black", "#111111")],
        ["cotton", "polyester"],
    ),
    (
        "canvas-tote-bag",
        "Canvas tote bag",
        "tote bag",
        "accessories",
        SD,
        "19.00",
        (300, 350),
        300,
        10,
        [("Natural", "#EFE6D2"), ("Black", "#111111")],
        ["canvas"],
    ),
    (
        "square-cushion",
        "Square cushion",
        "cushion",
        "home-decor",
        SD,
        "29.00",
        (400, 400),
        150,
        15,
        [("Cream", "#FFF8E7"), ("Grey", "#8A8D91")],
        ["polyester", "canvas"],
    ),
    (
        "stretched-canvas",
        "Stretched canvas",
        "canvas",
        "home-decor",
        SD,
        "59.00",
        (400, 500),
        200,
        10,
        [("White", "#FFFFFF"), ("Natural", "#EFE6D2")],
        ["canvas"],
    ),
    (
        "art-poster",
        "Art poster",
        "poster",
        "home-decor",
        NW,
        "18.00",
        (420, 594),
        150,
        10,
        [("White", "#FFFFFF"), ("Ivory", "#FFFFF0")],
        ["matte-paper"],
    ),
    (
        "phone-case",
        "Phone case",
        "phone case",
        "electronics-cases",
        NW,
        "21.00",
        (70, 145),
        300,
        4,
        [("Black", "#111111"), ("Clear", "#F4F8FB"), ("Navy", "#1F2A44")],
        ["polycarbonate"],
    ),
    (
        "laptop-sleeve",
        "Laptop sleeve",
        "laptop sleeve",
        "electronics-cases",
        NW,
        "34.00",
        (330, 230),
        300,
        8,
        [("Grey", "#8A8D91"), ("Black", "#111111")],
        ["polyester"],
    ),
    (
        "canvas-sneakers",
        "Canvas sneakers",
        "sneakers",
        "footwear",
        SD,
        "64.00",
        (120, 60),
        300,
        3,
        [("White", "#FFFFFF"), ("Black", "#111111")],
        ["canvas"],
    ),
    (
        "hardcover-notebook",
        "Hardcover notebook",
        "notebook",
        "stationery",
        NW,
        "14.00",
        (148, 210),
        300,
        5,
        [("Kraft", "#C4A57B"), ("Black", "#111111")],
        ["matte-paper"],
    ),
    (
        "greeting-card",
        "Greeting card",
        "greeting card",
        "stationery",
        SD,
        "5.00",
        (148, 105),
        300,
        4,
        [("White", "#FFFFFF"), ("Cream", "#FFF8E7")],
        ["matte-paper"],
    ),
    (
        "round-pendant",
        "Round pendant",
        "pendant",
        "jewelry",
        SD,
        "39.00",
        (25, 25),
        600,
        2,
        [("Silver", "#C0C0C0"), ("Rose gold", "#B76E79")],
        ["sterling-silver"],
    ),
    (
        "water-bottle",
        "Water bottle",
        "water bottle",
        "sports-equipment",
        NW,
        "27.00",
        (200, 150),
        300,
        5,
        [("Matte black", "#1B1B1B"), ("Brushed steel", "#B5B8BA"), ("Forest", "#2E5339")],
        ["stainless-steel"],
    ),
    (
        "yoga-mat",
        "Yoga mat",
        "yoga mat",
        "sports-equipment",
        SD,
        "45.00",
        (600, 1700),
        150,
        20,
        [("Purple", "#6B4C9A"), ("Teal", "#2EC4B6")],
        ["natural-rubber"],
    ),
    (
        "car-air-freshener",
        "Car air freshener",
        "air freshener",
        "automotive-accessories",
        SD,
        "6.00",
        (70, 100),
        300,
        3,
        [("White", "#FFFFFF"), ("Coral", "#FF6F61")],
        ["matte-paper"],
    ),
    (
        "license-plate-frame",
        "License plate frame",
        "license plate frame",
        "automotive-accessories",
        NW,
        "25.00",
        (520, 30),
        300,
        2,
        [("Chrome", "#DADDE0"), ("Black", "#111111")],
        ["metal"],
    ),
    (
        "dog-bandana",
        "Dog bandana",
        "dog bandana",
        "pet-products",
        SD,
        "12.00",
        (300, 200),
        200,
        8,
        [("Red", "#C62828"), ("Teal", "#2EC4B6"), ("Sunflower", "#FFC93C")],
        ["cotton"],
    ),
    (
        "pet-bowl",
        "Pet bowl",
        "pet bowl",
        "pet-products",
        SD,
        "17.00",
        (200, 70),
        300,
        3,
        [("White", "#FFFFFF"), ("Coral", "#FF6F61")],
        ["ceramic"],
    ),
    (
        "kitchen-apron",
        "Kitchen apron",
        "apron",
        "kitchen-items",
        SD,
        "26.00",
        (250, 250),
        300,
        8,
        [("Navy", "#1F2A44"), ("Natural", "#EFE6D2"), ("Coral", "#FF6F61")],
        ["canvas", "cotton"],
    ),
    (
        "cutting-board",
        "Cutting board",
        "cutting board",
        "kitchen-items",
        NW,
        "32.00",
        (250, 350),
        200,
        10,
        [("Natural wood", "#C19A6B"), ("Walnut", "#5C4033")],
        ["wood"],
    ),
    (
        "garden-flag",
        "Garden flag",
        "garden flag",
        "garden-accessories",
        SD,
        "15.00",
        (300, 450),
        150,
        10,
        [("White", "#FFFFFF"), ("Cream", "#FFF8E7")],
        ["polyester"],
    ),
    (
        "plant-pot",
        "Plant pot",
        "plant pot",
        "garden-accessories",
        NW,
        "23.00",
        (150, 100),
        300,
        4,
        [("Terracotta", "#C8674A"), ("White", "#FFFFFF"), ("Sand", "#D8C3A5")],
        ["terracotta", "ceramic"],
    ),
]


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def _store(field, name: str, data: bytes) -> None:
    """Store ``data`` in ``field``: a re-run that finds the same bytes already stored keeps that file
    (and its name: brand logos get a folder of their own per upload); different bytes replace it,
    and the previous file is deleted (no orphans, no random suffixes on re-runs)."""
    previous = field.name
    if previous:
        try:
            with field.storage.open(previous, "rb") as fh:
                if fh.read() == data:
                    return
        except OSError:  # gone from the storage: stored again below
            pass
    target = field.field.generate_filename(field.instance, name)
    if field.storage.exists(target):
        field.storage.delete(target)
    field.save(name, ContentFile(data), save=False)
    if previous and previous != field.name and field.storage.exists(previous):
        field.storage.delete(previous)


def _font(size: int):
    return ImageFont.load_default(size=size)


def draw_monogram(letters: str, background: str, foreground: str, size: int = 256) -> Image.Image:
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((4, 4, size - 4, size - 4), fill=background, outline=foreground, width=size // 32)
    draw.text((size / 2, size / 2), letters, fill=foreground, font=_font(size // 3), anchor="mm")
    return image


def draw_style_thumbnail(name: str, index: int, size: int = 160) -> Image.Image:
    """A flat card per style: a two-colour gradient, a motif and the style's name."""
    hues = [
        ("#8EC5FC", "#E0C3FC"),
        ("#FAFAFA", "#D0D0D0"),
        ("#FF3CAC", "#2B86C5"),
        ("#F6D365", "#FDA085"),
        ("#667EEA", "#764BA2"),
        ("#FDFCFB", "#E2D1C3"),
        ("#232526", "#414345"),
        ("#0F2027", "#2C5364"),
    ]
    top, bottom = (Image.new("RGB", (1, 1), c).getpixel((0, 0)) for c in hues[index % len(hues)])
    image = Image.new("RGB", (size, size))
    draw = ImageDraw.Draw(image)
    for y in range(size):
        t = y / (size - 1)
        draw.line(
            [(0, y), (size, y)], fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        )
    draw.ellipse((size * 0.3, size * 0.18, size * 0.7, size * 0.58), outline="white", width=3)
    draw.text((size / 2, size * 0.8), name, fill="white", font=_font(size // 9), anchor="mm")
    return image


class Command(BaseCommand):
    help = (
        "Create or refresh the demo catalogue (brands, presets, 12 categories, products). Safe to run twice."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        categories = {}
        for position, (slug, name) in enumerate(CATEGORIES):
            categories[slug], _ = Category.objects.update_or_create(
                slug=slug,
                defaults={"name": name, "position": position, "description": f"Personalized {name.lower()}."},
            )

        brands = {spec["slug"]: self._brand(spec) for spec in BRANDS}

        materials = {}
        for slug, name, finish, reflectance, texture, keywords, negative in MATERIALS:
            material, _ = MaterialPreset.objects.update_or_create(
                slug=slug,
                defaults={
                    "name": name,
                    "finish": finish,
                    "reflectance": reflectance,
                    "texture_description": texture,
                    "prompt_keywords": keywords,
                    "negative_keywords": negative,
                },
            )
            material.full_clean()
            materials[slug] = material

        for position, (slug, name, template, negative) in enumerate(STYLES):
            style, _ = StylePreset.objects.update_or_create(
                slug=slug,
                defaults={
                    "name": name,
                    "prompt_template": template,
                    "negative_template": negative,
                    "position": position,
                },
            )
            _store(style.thumbnail, f"{slug}.png", _png(draw_style_thumbnail(name, position)))
            style.full_clean()
            style.save()

        for slug, name, product_type, category, brand, price, (
            w,
            h,
        ), dpi, margin, colors, allowed in PRODUCTS:
            template, (left, top, width, height) = draw_template(product_type, category, size=(800, 800))
            product, _ = Product.objects.update_or_create(
                slug=slug,
                defaults={
                    "name": name,
                    "product_type": product_type,
                    "category": categories[category],
                    "brand": brands[brand],
                    "price": Decimal(price),
                    "is_published": True,
                    "description": f"A {name.lower()} printed with your own design.",
                    "print_width_mm": w,
                    "print_height_mm": h,
                    "print_dpi": dpi,
                    "min_dpi": min(150, dpi),
                    "safe_margin_mm": margin,
                    "mockup_box_left": left,
                    "mockup_box_top": top,
                    "mockup_box_width": width,
                    "mockup_box_height": height,
                },
            )
            _store(product.mockup_template, f"{slug}.png", _png(template))
            product.full_clean()
            product.save()
            product.allowed_materials.set([materials[m] for m in allowed])
            for position, (color_name, hex_) in enumerate(colors):
                BaseColor.objects.update_or_create(
                    product=product, name=color_name, defaults={"hex": hex_, "position": position}
                )
            product.base_colors.exclude(name__in=[c for c, _ in colors]).delete()

        self.stdout.write(
            self.style.SUCCESS(
                f"Demo catalogue ready: {len(categories)} categories, {len(brands)} brands, "
                f"{len(materials)} materials, {len(STYLES)} styles, {len(PRODUCTS)} published products."
            )
        )

    def _brand(self, spec: dict) -> Brand:
        fields = {
            k: spec[k]
            for k in (
                "name",
                "description",
                "style_keywords",
                "negative_keywords",
                "banned_terms",
                "trademark_allowlist",
                "approval_policy",
                "min_consistency_score",
                "logo_anchor",
            )
        }
        brand, _ = Brand.objects.update_or_create(slug=spec["slug"], defaults=fields)
        primary, background = spec["palette"][0][1], spec["palette"][-1][1]
        _store(brand.logo, f"{spec['slug']}.png", _png(draw_monogram(spec["monogram"], primary, background)))
        brand.full_clean()
        brand.save()
        for position, (name, hex_, role) in enumerate(spec["palette"]):
            PaletteColor.objects.update_or_create(
                brand=brand, name=name, defaults={"hex": hex_, "role": role, "position": position}
            )
        brand.palette.exclude(name__in=[name for name, _, _ in spec["palette"]]).delete()
        for role, family, path in spec["typography"]:
            typography, _ = Typography.objects.get_or_create(
                brand=brand, role=role, defaults={"font_family": family}
            )
            typography.font_family = family
            _store(typography.font_file, f"{spec['slug']}-{role}{path.suffix}", path.read_bytes())
            typography.full_clean()
            typography.save()
        brand.typography.exclude(role__in=[role for role, _, _ in spec["typography"]]).delete()
        return brand
