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

from personalization.product_types import (
    CATEGORIES,
    GENERIC,
    PRODUCT_TYPES,
    Placement,
    category_default,
    known,
    type_key,
)
from personalization.specs import BrandSpec, MaterialSpec, ProductSpec, StyleSpec
from personalization.tokens import estimate_tokens

CLIP_MAX_TOKENS = 75  # 77 positions minus the start and end tokens

BASE_NEGATIVE = ("blurry", "low quality", "watermark", "text artifacts", "jpeg artifacts", "deformed")
PHOTOGRAPHY_SUFFIX = "product photography with natural lighting"
# A transparent-background request: generated on a plain background that the artwork composer cuts
# out (artwork.cutout), so the product's own colour shows around the motif.
PLAIN_BACKGROUND = "isolated on a plain white background, no scenery"
PLAIN_BACKGROUND_NEGATIVE = ("busy background", "scenery", "texture")
PALETTE_ROLE_ORDER = ("primary", "secondary", "accent", "background")


# Views of the one product-type table (product_types.py), which the mockup outlines share.
PRODUCT_PLACEMENTS: dict[str, Placement] = {
    key: row.placement for key, row in PRODUCT_TYPES.items() if row.placement is not None
}
# Used when the product type is unknown: the product's own type names it, the category places it.
CATEGORY_DEFAULTS: dict[str, Placement] = {slug: row.placement for slug, row in CATEGORIES.items()}
GENERIC_PLACEMENT = GENERIC.placement

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


def placement_for(product_type: str, category_slug: str) -> Placement:
    """The placement of a product type; unknown types keep their own name with the category default."""
    if found := known(product_type, "placement"):
        return found
    default = category_default(category_slug).placement
    if type_key(product_type):
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
    transparent_background: bool = False,
) -> list[str]:
    """All enrichment, highest priority first (which is also the order in the prompt). With
    ``transparent_background`` the plain-background phrase comes first (it must survive the token
    budget: the cut-out depends on it) and the photography suffix, which invites scenery, is left out."""
    placement = placement_for(product.product_type, product.category_slug)
    phrases = [PLAIN_BACKGROUND] if transparent_background else []
    phrases += [product_phrase(product, material, placement), placement.phrase]
    if material is not None:
        phrases.append(FINISH_PHRASES[material.finish])
        phrases.extend(material.prompt_keywords)
        if material.texture_description.strip():
            phrases.append(material.texture_description)
    phrases.extend(style_phrases(style))
    if brand is not None:
        phrases.extend(brand.style_keywords)
        phrases.append(palette_phrase(brand))
    if not transparent_background:
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
    *,
    style: StyleSpec | None,
    material: MaterialSpec | None,
    brand: BrandSpec | None,
    transparent_background: bool = False,
) -> list[str]:
    phrases = list(BASE_NEGATIVE)
    if transparent_background:
        phrases.extend(PLAIN_BACKGROUND_NEGATIVE)
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
    transparent_background: bool = False,
) -> BuiltPrompts:
    """Build the positive and negative prompts for one product and one customer description.

    The description leads the prompt, whitespace-normalised and otherwise untouched; enrichment
    follows in priority order and the lowest-priority phrases are dropped whole until the prompt
    fits ``max_tokens`` (counted by ``token_counter``, default ``estimate_tokens``). A description
    that alone exceeds the budget is kept whole with no enrichment and a warning.

    ``transparent_background``: the design is to be cut out of its background, so the prompt asks
    for a plain one first of all enrichment (``PLAIN_BACKGROUND``) and the negative prompt adds
    ``PLAIN_BACKGROUND_NEGATIVE`` right after the base negatives."""
    if max_tokens < 1:
        raise ValueError("max_tokens must be positive")
    counter = token_counter or estimate_tokens
    subject = " ".join(description.split())
    if not subject:
        raise ValueError("description is empty")
    enrichment = [
        p
        for p in enrichment_phrases(
            product=product,
            style=style,
            material=material,
            brand=brand,
            transparent_background=transparent_background,
        )
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

    negatives = build_negative_phrases(
        style=style, material=material, brand=brand, transparent_background=transparent_background
    )
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
