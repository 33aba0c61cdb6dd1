import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from personalization.prompting import (
    BASE_NEGATIVE,
    PHOTOGRAPHY_SUFFIX,
    build_prompts,
    enrichment_phrases,
    placement_for,
)
from personalization.specs import CATEGORY_SLUGS, BrandSpec, MaterialSpec, ProductSpec, StyleSpec
from personalization.tokens import estimate_tokens, token_counter_for

from .conftest import CATEGORY_PRODUCTS, load_requests, material_for, product_for

MUG = ProductSpec("Classic mug", "mug", "accessories", "Accessories", "white", "#ffffff")
CERAMIC = MaterialSpec("ceramic", "matte", 0.1, "", (), ("plastic look",))


def test_table_3_mug_example():
    built = build_prompts(
        product=MUG,
        description="Sunset landscape with mountains",
        style=None,
        material=CERAMIC,
        brand=None,
    )
    assert built.prompt == (
        "Sunset landscape with mountains, printed on a white ceramic coffee mug, panoramic wraparound "
        "design, matte finish, product photography with natural lighting"
    )
    assert built.dropped == () and built.warnings == ()
    assert built.prompt_tokens == estimate_tokens(built.prompt) <= 75


def test_table_3_mug_with_style_and_brand(brand, watercolor):
    built = build_prompts(
        product=MUG,
        description="Sunset landscape with mountains",
        style=watercolor,
        material=CERAMIC,
        brand=brand,
    )
    assert built.prompt.startswith(
        "Sunset landscape with mountains, printed on a white ceramic coffee mug, "
        "panoramic wraparound design, matte finish, a soft watercolor painting, loose washes, "
        "clean minimalist"
    )
    assert "{subject}" not in built.prompt
    # palette names in role order: primary, accent, background (colour names, not hex codes)
    enrichment = enrichment_phrases(product=MUG, style=watercolor, material=CERAMIC, brand=brand)
    assert "navy blue, coral and sand color palette" in enrichment
    assert enrichment[-1] == PHOTOGRAPHY_SUFFIX
    assert built.prompt_tokens <= 75


@pytest.mark.parametrize("category", CATEGORY_SLUGS)
def test_every_category(category, brand, watercolor, bpe_model_dir):
    product = product_for(category)
    material = material_for(category)
    description = "  A   fox in a   Misty forest, at dawn!  "
    for counter in (None, token_counter_for(bpe_model_dir)):
        built = build_prompts(
            product=product,
            description=description,
            style=watercolor,
            material=material,
            brand=brand,
            token_counter=counter,
        )
        assert built.prompt.startswith("A fox in a Misty forest, at dawn! ")
        placement = placement_for(product.product_type, category)
        assert placement.noun in built.prompt
        assert placement.phrase in built.prompt
        assert material.name in built.prompt or material.name in placement.noun or material.name == "canvas"
        assert "matte finish" in built.prompt
        assert product.base_color_name in built.prompt
        assert (counter or estimate_tokens)(built.prompt) == built.prompt_tokens <= 75
        assert (counter or estimate_tokens)(built.negative_prompt) == built.negative_tokens <= 75
        assert built.negative_prompt.startswith(", ".join(BASE_NEGATIVE))


def test_known_placements():
    assert placement_for("T-Shirt", "apparel").phrase == "centered chest print"
    assert placement_for("mug", "accessories").phrase == "panoramic wraparound design"
    assert placement_for("cap", "apparel").phrase == "embroidered-look front panel design"
    assert placement_for("cushion", "home-decor").phrase == "all-over pillow print"
    assert placement_for("canvas", "home-decor").phrase == "gallery-wrapped canvas art"
    assert placement_for("phone_case", "electronics-cases").phrase == "full-bleed phone case artwork"
    # an unknown type keeps its own name and takes the category default
    side_table = placement_for("side table", "kitchen_items")
    assert (side_table.noun, side_table.phrase) == ("side table", "clean kitchenware design")
    assert placement_for("widget", "unknown").phrase == "centered product print"


@pytest.mark.parametrize("request_row", load_requests(), ids=lambda r: f"{r['category']}-{r['product_type']}")
def test_shared_request_data(request_row, brand, bpe_model_dir):
    product = ProductSpec(
        request_row["product_type"],
        request_row["product_type"],
        request_row["category"],
        request_row["category"],
        request_row["base_color"],
        "#808080",
    )
    style = StyleSpec(request_row["style"], "")
    material = MaterialSpec(request_row["material"])
    built = build_prompts(
        product=product,
        description=request_row["description"],
        style=style,
        material=material,
        brand=brand,
        token_counter=token_counter_for(bpe_model_dir),
    )
    assert built.prompt.startswith(request_row["description"])
    assert built.prompt_tokens <= 75
    assert placement_for(product.product_type, product.category_slug).noun in built.prompt


def test_base_colour_appears():
    tee = ProductSpec("Tee", "t-shirt", "apparel", "Apparel", "black", "#000000")
    built = build_prompts(product=tee, description="A lion", style=None, material=None, brand=None)
    assert "printed on a black t-shirt" in built.prompt
    orange = ProductSpec("Ball", "basketball", "sports-equipment", "Sports", "orange", "#ff8800")
    assert (
        "printed on an orange basketball"
        in build_prompts(product=orange, description="Flames", style=None, material=None, brand=None).prompt
    )
    silver = ProductSpec("Pendant", "pendant", "jewelry", "Jewelry", "silver", "#c0c0c0")
    pendant = build_prompts(
        product=silver,
        description="A heart",
        style=None,
        material=MaterialSpec("sterling silver"),
        brand=None,
    )
    assert "engraved on a sterling silver pendant" in pendant.prompt  # no "silver sterling silver"


def test_deterministic(brand, watercolor):
    kwargs = {"product": MUG, "description": "Sunset", "style": watercolor, "material": CERAMIC}
    assert build_prompts(**kwargs, brand=brand) == build_prompts(**kwargs, brand=brand)


def test_drops_lowest_priority_first(brand, watercolor):
    product = product_for("apparel")
    material = material_for("apparel")
    full = enrichment_phrases(product=product, style=watercolor, material=material, brand=brand)
    previous_kept = len(full) + 1
    for budget in range(75, 1, -1):  # "A lion" alone is 2 tokens
        built = build_prompts(
            product=product,
            description="A lion",
            style=watercolor,
            material=material,
            brand=brand,
            max_tokens=budget,
        )
        kept = len(full) - len(built.dropped)
        assert built.dropped == tuple(full[kept:])  # always a suffix: lowest priority goes first
        assert built.prompt == ", ".join(["A lion", *full[:kept]])  # kept phrases are whole
        assert built.prompt_tokens <= budget
        assert kept <= previous_kept
        previous_kept = kept
    assert (
        build_prompts(
            product=product,
            description="A lion",
            style=watercolor,
            material=material,
            brand=brand,
            max_tokens=40,
        ).dropped[-1]
        == PHOTOGRAPHY_SUFFIX
    )


def test_small_vocabulary_bpe_drops_more_but_fits(brand, watercolor, small_bpe_dir):
    counter = token_counter_for(small_bpe_dir)
    built = build_prompts(
        product=MUG, description="Sunset landscape with mountains", style=watercolor, material=CERAMIC,
        brand=brand, token_counter=counter,
    )  # fmt: skip
    assert counter(built.prompt) == built.prompt_tokens <= 75
    assert built.dropped
    assert built.prompt.startswith("Sunset landscape with mountains, printed on a white ceramic coffee mug")


def test_over_long_description_is_kept_whole(brand, watercolor):
    description = " ".join(f"extraordinarily{i} detailed" for i in range(30))
    built = build_prompts(
        product=MUG, description=description, style=watercolor, material=CERAMIC, brand=brand
    )
    assert built.prompt == description
    assert built.prompt_tokens > 75
    assert built.dropped == tuple(
        enrichment_phrases(product=MUG, style=watercolor, material=CERAMIC, brand=brand)
    )
    assert built.warnings and built.warnings[0].startswith("description_over_budget")


def test_negative_prompt_combines_and_deduplicates(brand, watercolor):
    built = build_prompts(product=MUG, description="Sunset", style=watercolor, material=CERAMIC, brand=brand)
    assert built.negative_prompt == (
        "blurry, low quality, watermark, text artifacts, jpeg artifacts, deformed, plastic look, "
        "neon colors, harsh outlines"
    )  # the brand's "Blurry" is a duplicate
    small = build_prompts(
        product=MUG, description="Sunset", style=watercolor, material=CERAMIC, brand=brand, max_tokens=12
    )
    assert small.negative_tokens <= 12 and small.negative_dropped[-1] == "harsh outlines"
    assert small.negative_prompt.startswith("blurry, low quality")


def test_style_template_is_not_formatted():
    style = StyleSpec("odd", "{0.__class__} art, {subject} in {product}")
    built = build_prompts(product=MUG, description="Sunset", style=style, material=None, brand=None)
    assert "{0.__class__} art" in built.prompt and "in {product}" in built.prompt
    assert build_prompts(
        product=MUG, description="Sunset", style=StyleSpec("Pop Art", ""), material=None, brand=None
    ).prompt.endswith("pop art style, product photography with natural lighting")


def test_enrichment_already_in_description_is_skipped():
    style = StyleSpec("watercolor", "watercolor")
    built = build_prompts(
        product=MUG, description="Watercolor sunset", style=style, material=None, brand=None
    )
    assert built.prompt.lower().count("watercolor") == 1


def test_empty_description_is_refused():
    with pytest.raises(ValueError):
        build_prompts(product=MUG, description="  \n ", style=None, material=None, brand=None)


def _brand() -> BrandSpec:
    from personalization.specs import PaletteColorSpec

    return BrandSpec("B", ("bold",), (), (PaletteColorSpec("red", "#ff0000"),))


@settings(max_examples=150, deadline=None)
@given(
    description=st.text(min_size=1, max_size=300).filter(lambda s: s.strip()),
    category=st.sampled_from(sorted(CATEGORY_PRODUCTS)),
    max_tokens=st.integers(min_value=1, max_value=120),
)
def test_prompt_always_starts_with_the_description(description, category, max_tokens):
    built = build_prompts(
        product=product_for(category),
        description=description,
        style=StyleSpec("s", "ink sketch of {subject}"),
        material=material_for(category),
        brand=_brand(),
        max_tokens=max_tokens,
    )
    normalised = " ".join(description.split())
    assert built.prompt.startswith(normalised)
    if estimate_tokens(normalised) <= max_tokens:
        assert built.prompt_tokens <= max_tokens
    else:
        assert built.prompt == normalised and built.warnings


def test_paired_products_read_naturally():
    shoes = ProductSpec("Kicks", "sneakers", "footwear", "Footwear", "white", "#ffffff")
    built = build_prompts(
        product=shoes, description="Graffiti", style=None, material=MaterialSpec("canvas"), brand=None
    )
    assert "printed on a pair of white canvas sneakers, side panel sneaker artwork" in built.prompt
