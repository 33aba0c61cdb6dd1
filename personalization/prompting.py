"""Prompt building: the customer's words first, then enrichment by priority, within CLIP's budget.

Follows the paper's Table 3: "Sunset landscape with mountains" on a white ceramic mug becomes
"Sunset landscape with mountains, printed on a white ceramic coffee mug, panoramic wraparound
design, matte finish, <style>, <brand keywords>, <palette colours>, product photography with
natural lighting". Rules and the token budget are documented in docs/PROMPTS.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from personalization.specs import BrandSpec, MaterialSpec, ProductSpec, StyleSpec, normalize_category_slug
from personalization.tokens import estimate_tokens

CLIP_MAX_TOKENS = 75  # 77 positions minus the start and end tokens

BASE_NEGATIVE = ("blurry", "low quality", "watermark", "text artifacts", "jpeg artifacts", "deformed")
PHOTOGRAPHY_SUFFIX = "product photography with natural lighting"
PALETTE_ROLE_ORDER = ("primary", "secondary", "accent", "background")


@dataclass(frozen=True, slots=True)
class Placement:
    noun: str  # how the product is named in the prompt: "coffee mug"
    phrase: str  # where and how the design sits on it: "panoramic wraparound design"
    verb: str = "printed on"


# Keys are normalised product types (lowercase, spaces; see _product_key).
PRODUCT_PLACEMENTS: dict[str, Placement] = {
    # apparel
    "t shirt": Placement("t-shirt", "centered chest print"),
    "tee": Placement("t-shirt", "centered chest print"),
    "tshirt": Placement("t-shirt", "centered chest print"),
    "tank top": Placement("tank top", "centered chest print"),
    "hoodie": Placement("hoodie", "centered chest print"),
    "sweatshirt": Placement("sweatshirt", "centered chest print"),
    "jacket": Placement("jacket", "large back print"),
    "cap": Placement("cap", "embroidered-look front panel design"),
    "baseball cap": Placement("baseball cap", "embroidered-look front panel design"),
    "hat": Placement("hat", "embroidered-look front panel design"),
    "beanie": Placement("beanie", "embroidered-look cuff patch design"),
    "socks": Placement("socks", "repeating all-over sock pattern"),
    "leggings": Placement("leggings", "seamless all-over print"),
    # accessories
    "mug": Placement("coffee mug", "panoramic wraparound design"),
    "coffee mug": Placement("coffee mug", "panoramic wraparound design"),
    "tote bag": Placement("tote bag", "centered bag print"),
    "tote": Placement("tote bag", "centered bag print"),
    "backpack": Placement("backpack", "front pocket panel print"),
    "keychain": Placement("keychain", "small bold emblem design"),
    "scarf": Placement("scarf", "all-over scarf print"),
    "umbrella": Placement("umbrella", "repeating canopy pattern"),
    "wallet": Placement("wallet", "compact front panel design"),
    # home decor
    "cushion": Placement("throw pillow", "all-over pillow print"),
    "pillow": Placement("throw pillow", "all-over pillow print"),
    "throw pillow": Placement("throw pillow", "all-over pillow print"),
    "canvas": Placement("canvas print", "gallery-wrapped canvas art"),
    "canvas print": Placement("canvas print", "gallery-wrapped canvas art"),
    "poster": Placement("poster", "full-bleed wall art print"),
    "blanket": Placement("blanket", "all-over blanket print"),
    "wall clock": Placement("wall clock", "circular clock face design"),
    "rug": Placement("rug", "all-over rug pattern"),
    # electronics cases
    "phone case": Placement("phone case", "full-bleed phone case artwork"),
    "laptop sleeve": Placement("laptop sleeve", "full-bleed sleeve artwork"),
    "tablet case": Placement("tablet case", "full-bleed case artwork"),
    "earbuds case": Placement("earbuds case", "compact wraparound case artwork"),
    # footwear
    "sneaker": Placement("sneakers", "side panel sneaker artwork"),
    "sneakers": Placement("sneakers", "side panel sneaker artwork"),
    "shoes": Placement("shoes", "side panel shoe artwork"),
    "slippers": Placement("slippers", "cozy top panel print"),
    "flip flops": Placement("flip-flops", "footbed and strap print"),
    # stationery
    "notebook": Placement("notebook", "full-cover notebook design"),
    "journal": Placement("journal", "full-cover journal design"),
    "planner": Placement("planner", "full-cover planner design"),
    "greeting card": Placement("greeting card", "front card illustration"),
    "postcard": Placement("postcard", "full-bleed postcard illustration"),
    "sticker": Placement("sticker", "die-cut sticker design with a clean border"),
    "bookmark": Placement("bookmark", "tall narrow bookmark design"),
    # jewelry
    "pendant": Placement("pendant", "fine engraved medallion design", "engraved on"),
    "necklace": Placement("necklace pendant", "fine engraved medallion design", "engraved on"),
    "bracelet": Placement("bracelet", "delicate band engraving", "engraved on"),
    "ring": Placement("ring", "wrap-around band engraving", "engraved on"),
    "earrings": Placement("earrings", "small symmetrical charm design", "engraved on"),
    "charm": Placement("charm", "small engraved charm design", "engraved on"),
    # sports equipment
    "water bottle": Placement("water bottle", "vertical wraparound bottle design"),
    "yoga mat": Placement("yoga mat", "full-length mat print"),
    "basketball": Placement("basketball", "panel graphic following the ball seams"),
    "football": Placement("football", "panel graphic following the ball seams"),
    "skateboard": Placement("skateboard deck", "full-length deck graphic"),
    "gym bag": Placement("gym bag", "side panel bag print"),
    "towel": Placement("sports towel", "all-over towel print"),
    # automotive accessories
    "car sunshade": Placement("windshield sunshade", "full-width sunshade print"),
    "sunshade": Placement("windshield sunshade", "full-width sunshade print"),
    "car seat cover": Placement("car seat cover", "seat back panel print"),
    "seat cover": Placement("car seat cover", "seat back panel print"),
    "air freshener": Placement("air freshener", "small die-cut hanging design"),
    "license plate frame": Placement("license plate frame", "narrow border band design"),
    "floor mat": Placement("car floor mat", "durable full-surface mat print"),
    "steering wheel cover": Placement("steering wheel cover", "repeating band pattern"),
    # pet products
    "pet bowl": Placement("pet bowl", "wraparound bowl design"),
    "dog bowl": Placement("dog bowl", "wraparound bowl design"),
    "dog bandana": Placement("dog bandana", "triangle bandana print"),
    "bandana": Placement("pet bandana", "triangle bandana print"),
    "pet bed": Placement("pet bed", "all-over cushion print"),
    "collar": Placement("pet collar", "repeating band pattern"),
    "pet tag": Placement("pet ID tag", "small engraved emblem", "engraved on"),
    # kitchen items
    "apron": Placement("apron", "centered bib print"),
    "cutting board": Placement("cutting board", "laser-engraved board design", "engraved on"),
    "tea towel": Placement("tea towel", "all-over towel print"),
    "coaster": Placement("coaster", "round coaster design"),
    "plate": Placement("plate", "center plate illustration"),
    # garden accessories
    "garden flag": Placement("garden flag", "vertical flag banner design"),
    "plant pot": Placement("plant pot", "wraparound pot design"),
    "planter": Placement("planter", "wraparound pot design"),
    "garden stone": Placement("garden stepping stone", "weatherproof stone design"),
    "bird feeder": Placement("bird feeder", "weatherproof wraparound design"),
    "watering can": Placement("watering can", "side panel design"),
}

# Used when the product type is unknown: the product's own type names it, the category places it.
CATEGORY_DEFAULTS: dict[str, Placement] = {
    "apparel": Placement("garment", "centered front print"),
    "accessories": Placement("accessory", "centered product print"),
    "home-decor": Placement("home decor piece", "decorative wall art design"),
    "electronics-cases": Placement("device case", "full-bleed case artwork"),
    "footwear": Placement("shoes", "side panel shoe artwork"),
    "stationery": Placement("stationery", "front cover design"),
    "jewelry": Placement("jewelry piece", "fine engraved design", "engraved on"),
    "sports-equipment": Placement("sports gear", "bold sporty graphic"),
    "automotive-accessories": Placement("car accessory", "bold automotive graphic"),
    "pet-products": Placement("pet accessory", "playful pet product print"),
    "kitchen-items": Placement("kitchen item", "clean kitchenware design"),
    "garden-accessories": Placement("garden accessory", "weatherproof outdoor print"),
}
GENERIC_PLACEMENT = Placement("product", "centered product print")

PAIRED_NOUNS = frozenset({"sneakers", "shoes", "slippers", "flip-flops", "socks", "earrings", "leggings"})

FINISH_PHRASES = {
    "matte": "matte finish",
    "satin": "satin finish",
    "gloss": "glossy finish",
    "metallic": "metallic sheen",
    "transparent": "clear transparent finish",
}


@dataclass(frozen=True, slots=True)
class BuiltPrompts:
    prompt: str
    negative_prompt: str
    prompt_tokens: int
    negative_tokens: int
    dropped: tuple[str, ...]  # enrichment phrases left out of the prompt, highest priority first
    negative_dropped: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def _product_key(product_type: str) -> str:
    return " ".join(re.sub(r"[-_/]+", " ", product_type.lower()).split())


def placement_for(product_type: str, category_slug: str) -> Placement:
    """The placement of a product type; unknown types keep their own name with the category default."""
    key = _product_key(product_type)
    for candidate in (key, key.removesuffix("s"), key.removesuffix("es")):
        if candidate in PRODUCT_PLACEMENTS:
            return PRODUCT_PLACEMENTS[candidate]
    default = CATEGORY_DEFAULTS.get(normalize_category_slug(category_slug), GENERIC_PLACEMENT)
    if key:
        return Placement(product_type.strip().lower(), default.phrase, default.verb)
    return default


def _words(text: str) -> list[str]:
    return re.findall(r"[\w]+", text.lower())


def _article(phrase: str) -> str:
    return "an" if phrase[:1].lower() in "aeiou" else "a"


def product_phrase(product: ProductSpec, material: MaterialSpec | None, placement: Placement) -> str:
    """``"printed on a white ceramic coffee mug"``: base colour, material, then the product noun.

    The colour is left out when the material or noun already says it ("sterling silver"), the material
    when the noun already says it ("canvas" on a canvas print)."""
    noun_words = set(_words(placement.noun))
    material_name = (material.name.strip().lower() if material else "") or ""
    if material_name and set(_words(material_name)) <= noun_words:
        material_name = ""
    colour = product.base_color_name.strip().lower()
    if colour and set(_words(colour)) <= noun_words | set(_words(material_name)):
        colour = ""
    described = " ".join(part for part in (colour, material_name, placement.noun) if part)
    article = "a pair of" if placement.noun in PAIRED_NOUNS else _article(described)
    return f"{placement.verb} {article} {described}"


def style_phrases(style: StyleSpec | None) -> list[str]:
    """Comma-separated pieces of the merchant's template, without ``{subject}``.

    The customer's words always lead the prompt, so "{subject}" is removed together with a dangling
    connector ("a watercolor painting of {subject}" -> "a watercolor painting"). The template is
    merchant text and is never given to ``str.format``."""
    if style is None:
        return []
    template = style.prompt_template or ""
    if not template.strip():
        return [f"{style.name.strip().lower()} style"] if style.name.strip() else []
    pieces = []
    for chunk in template.split(","):
        if "{subject}" in chunk:
            before, _, after = chunk.partition("{subject}")
            before = re.sub(r"\b(of|with|featuring|showing|depicting|about|for|on)\s*$", "", before.strip())
            chunk = " ".join(part.strip() for part in (before, after.replace("{subject}", "")))
        pieces.append(chunk)
    return [p for p in (" ".join(piece.split()) for piece in pieces) if p]


def palette_phrase(brand: BrandSpec | None) -> str:
    if brand is None or not brand.palette:
        return ""
    ordered = sorted(brand.palette, key=lambda c: PALETTE_ROLE_ORDER.index(c.role))  # stable sort
    names = _unique(c.name.strip().lower() for c in ordered if c.name.strip())
    if not names:
        return ""
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"{listed} color palette"


def _unique(items: Iterable[str]) -> list[str]:
    seen, out = set(), []
    for item in items:
        key = " ".join(item.lower().split())
        if key and key not in seen:
            seen.add(key)
            out.append(" ".join(item.split()))
    return out


def enrichment_phrases(
    *,
    product: ProductSpec,
    style: StyleSpec | None,
    material: MaterialSpec | None,
    brand: BrandSpec | None,
) -> list[str]:
    """All enrichment, highest priority first (which is also the order in the prompt)."""
    placement = placement_for(product.product_type, product.category_slug)
    phrases = [product_phrase(product, material, placement), placement.phrase]
    if material is not None:
        phrases.append(FINISH_PHRASES[material.finish])
        phrases.extend(material.prompt_keywords)
        if material.texture_description.strip():
            phrases.append(material.texture_description)
    phrases.extend(style_phrases(style))
    if brand is not None:
        phrases.extend(brand.style_keywords)
        phrases.append(palette_phrase(brand))
    phrases.append(PHOTOGRAPHY_SUFFIX)
    return _unique(phrases)


def _contains_phrase(text: str, phrase: str) -> bool:
    words = _words(phrase)
    return (
        bool(words)
        and re.search(r"\b" + r"\W+".join(map(re.escape, words)) + r"\b", text.lower()) is not None
    )


def _fit(
    head: str, phrases: list[str], counter: Callable[[str], int], max_tokens: int
) -> tuple[str, int, tuple[str, ...]]:
    """Append phrases in priority order while the whole text fits; the rest is dropped whole."""
    text, count = head, counter(head)
    for index, phrase in enumerate(phrases):
        joiner = " " if not text or text[-1] in ",;:.!?" else ", "
        candidate = f"{text}{joiner}{phrase}" if text else phrase
        candidate_count = counter(candidate)
        if candidate_count > max_tokens:
            return text, count, tuple(phrases[index:])
        text, count = candidate, candidate_count
    return text, count, ()


def build_negative_phrases(
    *, style: StyleSpec | None, material: MaterialSpec | None, brand: BrandSpec | None
) -> list[str]:
    phrases = list(BASE_NEGATIVE)
    if material is not None:
        phrases.extend(material.negative_keywords)
    if brand is not None:
        phrases.extend(brand.negative_keywords)
    if style is not None and style.negative_template:
        phrases.extend(style.negative_template.replace("{subject}", "").split(","))
    return _unique(phrases)


def build_prompts(
    *,
    product: ProductSpec,
    description: str,
    style: StyleSpec | None,
    material: MaterialSpec | None,
    brand: BrandSpec | None,
    token_counter: Callable[[str], int] | None = None,
    max_tokens: int = CLIP_MAX_TOKENS,
) -> BuiltPrompts:
    """Build the positive and negative prompts for one product and one customer description.

    The description leads the prompt, whitespace-normalised and otherwise untouched; enrichment
    follows in priority order and the lowest-priority phrases are dropped whole until the prompt
    fits ``max_tokens`` (counted by ``token_counter``, default ``estimate_tokens``). A description
    that alone exceeds the budget is kept whole with no enrichment and a warning."""
    if max_tokens < 1:
        raise ValueError("max_tokens must be positive")
    counter = token_counter or estimate_tokens
    subject = " ".join(description.split())
    if not subject:
        raise ValueError("description is empty")
    enrichment = [
        p
        for p in enrichment_phrases(product=product, style=style, material=material, brand=brand)
        if not _contains_phrase(subject, p)
    ]
    warnings = []
    subject_tokens = counter(subject)
    if subject_tokens > max_tokens:
        prompt, prompt_tokens, dropped = subject, subject_tokens, tuple(enrichment)
        warnings.append(
            f"description_over_budget: the description alone is {subject_tokens} tokens, over the "
            f"{max_tokens}-token window; the text encoder will truncate it and no enrichment was added"
        )
    else:
        prompt, prompt_tokens, dropped = _fit(subject, enrichment, counter, max_tokens)

    negatives = build_negative_phrases(style=style, material=material, brand=brand)
    negative, negative_tokens, negative_dropped = _fit("", negatives, counter, max_tokens)
    return BuiltPrompts(
        prompt=prompt,
        negative_prompt=negative,
        prompt_tokens=prompt_tokens,
        negative_tokens=negative_tokens,
        dropped=dropped,
        negative_dropped=negative_dropped,
        warnings=tuple(warnings),
    )
