"""Product types: one table, shared by prompt building and the mockup outlines.

Each product type appears once, with how a prompt names it and where the design sits on it
(``Placement``, used by ``prompting.placement_for``) and the outline drawing of its mockup
template (a name in ``mockups.outlines.OUTLINES``, used by ``mockups.outlines.shape_for``).
Either may be left out (None): an unknown or partly known type then takes its category's
placement (under the type's own name) or its category's outline. Torch- and Pillow-free.

To add a product type: one row in ``PRODUCT_TYPES`` (a new outline also needs its drawing in
``mockups/outlines.py``). Keys are normalised product types (lowercase, single spaces; see
``type_key``); a plural ("mugs", "boxes") finds its singular.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from personalization.specs import normalize_category_slug


@dataclass(frozen=True, slots=True)
class Placement:
    noun: str  # how the product is named in the prompt: "coffee mug"
    phrase: str  # where and how the design sits on it: "panoramic wraparound design"
    verb: str = "printed on"


@dataclass(frozen=True, slots=True)
class ProductType:
    placement: Placement | None = None  # None: the category's placement, under the type's own name
    outline: str | None = None  # a drawing in mockups.outlines.OUTLINES; None: the category's
    text_max_length: int | None = None  # most characters of a text layer; None: the category's


def _type(
    noun: str | None = None, phrase: str | None = None, verb: str = "printed on", *, outline=None, text=None
):
    placement = Placement(noun, phrase, verb) if noun is not None else None
    return ProductType(placement=placement, outline=outline, text_max_length=text)


PRODUCT_TYPES: dict[str, ProductType] = {
    # apparel
    "t shirt": _type("t-shirt", "centered chest print", outline="tshirt", text=32),
    "shirt": _type(outline="tshirt"),
    "tee": _type("t-shirt", "centered chest print", outline="tshirt", text=32),
    "tshirt": _type("t-shirt", "centered chest print", outline="tshirt", text=32),
    "tank top": _type("tank top", "centered chest print", outline="tshirt", text=28),
    "hoodie": _type("hoodie", "centered chest print", outline="hoodie", text=32),
    "sweatshirt": _type("sweatshirt", "centered chest print", outline="hoodie", text=32),
    "jacket": _type("jacket", "large back print", outline="hoodie", text=40),
    "cap": _type("cap", "embroidered-look front panel design", outline="cap", text=14),
    "baseball cap": _type("baseball cap", "embroidered-look front panel design", outline="cap", text=14),
    "hat": _type("hat", "embroidered-look front panel design", outline="cap", text=14),
    "beanie": _type("beanie", "embroidered-look cuff patch design", outline="cap", text=12),
    "socks": _type("socks", "repeating all-over sock pattern", text=12),
    "leggings": _type("leggings", "seamless all-over print"),
    # accessories
    "mug": _type("coffee mug", "panoramic wraparound design", outline="mug", text=24),
    "coffee mug": _type("coffee mug", "panoramic wraparound design", outline="mug", text=24),
    "cup": _type(outline="mug"),
    "tote bag": _type("tote bag", "centered bag print", outline="tote"),
    "tote": _type("tote bag", "centered bag print", outline="tote"),
    "bag": _type(outline="tote"),
    "backpack": _type("backpack", "front pocket panel print", outline="tote"),
    "keychain": _type("keychain", "small bold emblem design", outline="tag", text=10),
    "scarf": _type("scarf", "all-over scarf print", outline="towel"),
    "umbrella": _type("umbrella", "repeating canopy pattern"),
    "wallet": _type("wallet", "compact front panel design", text=16),
    # home decor
    "cushion": _type("throw pillow", "all-over pillow print", outline="cushion"),
    "pillow": _type("throw pillow", "all-over pillow print", outline="cushion"),
    "throw pillow": _type("throw pillow", "all-over pillow print", outline="cushion"),
    "canvas": _type("canvas print", "gallery-wrapped canvas art", outline="canvas", text=48),
    "canvas print": _type("canvas print", "gallery-wrapped canvas art", outline="canvas", text=48),
    "poster": _type("poster", "full-bleed wall art print", outline="poster", text=48),
    "print": _type(outline="poster"),
    "blanket": _type("blanket", "all-over blanket print", outline="cushion"),
    "wall clock": _type("wall clock", "circular clock face design", outline="round"),
    "rug": _type("rug", "all-over rug pattern", outline="poster"),
    # electronics cases
    "phone case": _type("phone case", "full-bleed phone case artwork", outline="phone_case", text=18),
    "laptop sleeve": _type("laptop sleeve", "full-bleed sleeve artwork", outline="laptop_sleeve"),
    "tablet case": _type("tablet case", "full-bleed case artwork", outline="laptop_sleeve"),
    "earbuds case": _type("earbuds case", "compact wraparound case artwork", outline="phone_case", text=10),
    # footwear
    "sneaker": _type("sneakers", "side panel sneaker artwork", outline="sneaker"),
    "sneakers": _type("sneakers", "side panel sneaker artwork", outline="sneaker"),
    "shoes": _type("shoes", "side panel shoe artwork", outline="sneaker"),
    "shoe": _type(outline="sneaker"),
    "slippers": _type("slippers", "cozy top panel print", outline="slipper"),
    "slipper": _type(outline="slipper"),
    "flip flops": _type("flip-flops", "footbed and strap print", outline="slipper"),
    # stationery
    "notebook": _type("notebook", "full-cover notebook design", outline="notebook"),
    "journal": _type("journal", "full-cover journal design", outline="notebook"),
    "planner": _type("planner", "full-cover planner design", outline="notebook"),
    "greeting card": _type("greeting card", "front card illustration", outline="card", text=40),
    "postcard": _type("postcard", "full-bleed postcard illustration", outline="card", text=40),
    "card": _type(outline="card"),
    "sticker": _type("sticker", "die-cut sticker design with a clean border", outline="tag", text=20),
    "bookmark": _type("bookmark", "tall narrow bookmark design", outline="notebook", text=20),
    # jewelry
    "pendant": _type("pendant", "fine engraved medallion design", "engraved on", outline="pendant", text=12),
    "necklace": _type(
        "necklace pendant", "fine engraved medallion design", "engraved on", outline="pendant", text=12
    ),
    "bracelet": _type("bracelet", "delicate band engraving", "engraved on", outline="bracelet", text=16),
    "ring": _type("ring", "wrap-around band engraving", "engraved on", outline="bracelet", text=12),
    "earrings": _type("earrings", "small symmetrical charm design", "engraved on", outline="pendant", text=6),
    "charm": _type("charm", "small engraved charm design", "engraved on", outline="pendant", text=8),
    # sports equipment
    "water bottle": _type(
        "water bottle", "vertical wraparound bottle design", outline="water_bottle", text=20
    ),
    "bottle": _type(outline="water_bottle"),
    "tumbler": _type(outline="water_bottle"),
    "yoga mat": _type("yoga mat", "full-length mat print", outline="yoga_mat"),
    "basketball": _type("basketball", "panel graphic following the ball seams", outline="ball"),
    "football": _type("football", "panel graphic following the ball seams", outline="ball"),
    "ball": _type(outline="ball"),
    "skateboard": _type("skateboard deck", "full-length deck graphic", outline="skateboard"),
    "gym bag": _type("gym bag", "side panel bag print", outline="tote"),
    "towel": _type("sports towel", "all-over towel print", outline="towel"),
    # automotive accessories
    "car sunshade": _type("windshield sunshade", "full-width sunshade print", outline="sunshade"),
    "sunshade": _type("windshield sunshade", "full-width sunshade print", outline="sunshade"),
    "car seat cover": _type("car seat cover", "seat back panel print", outline="seat_cover"),
    "seat cover": _type("car seat cover", "seat back panel print", outline="seat_cover"),
    "air freshener": _type("air freshener", "small die-cut hanging design", outline="tag", text=12),
    "license plate frame": _type(
        "license plate frame", "narrow border band design", outline="plate_frame", text=30
    ),
    "floor mat": _type("car floor mat", "durable full-surface mat print"),
    "steering wheel cover": _type("steering wheel cover", "repeating band pattern", outline="bracelet"),
    # pet products
    "pet bowl": _type("pet bowl", "wraparound bowl design", outline="bowl"),
    "dog bowl": _type("dog bowl", "wraparound bowl design", outline="bowl"),
    "bowl": _type(outline="bowl"),
    "dog bandana": _type("dog bandana", "triangle bandana print", outline="bandana", text=18),
    "bandana": _type("pet bandana", "triangle bandana print", outline="bandana", text=18),
    "pet bandana": _type(outline="bandana"),
    "pet bed": _type("pet bed", "all-over cushion print", outline="pet_bed"),
    "dog bed": _type(outline="pet_bed"),
    "collar": _type("pet collar", "repeating band pattern", outline="bracelet", text=16),
    "pet tag": _type("pet ID tag", "small engraved emblem", "engraved on", outline="pendant", text=14),
    # kitchen items
    "apron": _type("apron", "centered bib print", outline="apron", text=24),
    "cutting board": _type(
        "cutting board", "laser-engraved board design", "engraved on", outline="cutting_board", text=28
    ),
    "tea towel": _type("tea towel", "all-over towel print", outline="towel"),
    "coaster": _type("coaster", "round coaster design", outline="round", text=16),
    "plate": _type("plate", "center plate illustration", outline="round"),
    # garden accessories
    "garden flag": _type("garden flag", "vertical flag banner design", outline="garden_flag", text=32),
    "flag": _type(outline="garden_flag"),
    "plant pot": _type("plant pot", "wraparound pot design", outline="plant_pot", text=20),
    "planter": _type("planter", "wraparound pot design", outline="plant_pot", text=20),
    "pot": _type(outline="plant_pot"),
    "garden stone": _type("garden stepping stone", "weatherproof stone design", outline="stone"),
    "stepping stone": _type(outline="stone"),
    "bird feeder": _type("bird feeder", "weatherproof wraparound design"),
    "watering can": _type("watering can", "side panel design"),
}

# The default of each category (specs.CATEGORY_SLUGS) for types the table does not know.
CATEGORIES: dict[str, ProductType] = {
    "apparel": _type("garment", "centered front print", outline="tshirt", text=32),
    "accessories": _type("accessory", "centered product print", outline="tote", text=24),
    "home-decor": _type("home decor piece", "decorative wall art design", outline="cushion", text=40),
    "electronics-cases": _type("device case", "full-bleed case artwork", outline="phone_case", text=18),
    "footwear": _type("shoes", "side panel shoe artwork", outline="sneaker", text=16),
    "stationery": _type("stationery", "front cover design", outline="notebook", text=32),
    "jewelry": _type("jewelry piece", "fine engraved design", "engraved on", outline="pendant", text=12),
    "sports-equipment": _type("sports gear", "bold sporty graphic", outline="water_bottle", text=24),
    "automotive-accessories": _type("car accessory", "bold automotive graphic", outline="sunshade", text=30),
    "pet-products": _type("pet accessory", "playful pet product print", outline="bandana", text=16),
    "kitchen-items": _type("kitchen item", "clean kitchenware design", outline="apron", text=28),
    "garden-accessories": _type(
        "garden accessory", "weatherproof outdoor print", outline="garden_flag", text=32
    ),
}
GENERIC = _type("product", "centered product print", outline="poster", text=24)  # an unknown category


def type_key(product_type: str) -> str:
    """``"T-Shirt"`` -> ``"t shirt"``: lowercase, separators as single spaces."""
    return " ".join(re.sub(r"[-_/]+", " ", product_type.lower()).split())


def known(product_type: str, field: str):
    """The ``field`` ("placement" or "outline") of the product type's row, trying the type as given
    and without a plural "s" / "es"; None when no row has it."""
    key = type_key(product_type)
    for candidate in (key, key.removesuffix("s"), key.removesuffix("es")):
        row = PRODUCT_TYPES.get(candidate)
        if row is not None and getattr(row, field) is not None:
            return getattr(row, field)
    return None


def category_default(category_slug: str) -> ProductType:
    """The category's placement and outline (``GENERIC`` for an unknown category)."""
    return CATEGORIES.get(normalize_category_slug(category_slug), GENERIC)


TEXT_MAX_LENGTH = 24  # GENERIC's: an unknown category


def text_max_length(product_type: str, category_slug: str = "") -> int:
    """The most characters of a customer's text layer on this product type: its row's, else its
    category's, else ``TEXT_MAX_LENGTH`` (a host may set its own per product:
    ``ProductInfo.text_max_length``)."""
    return (
        known(product_type, "text_max_length")
        or category_default(category_slug).text_max_length
        or TEXT_MAX_LENGTH
    )
