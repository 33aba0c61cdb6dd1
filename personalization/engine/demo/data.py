"""Simple print designs with their captions, drawn with Pillow from a seed: the demo model's training
data and the report's held-out set (docs/DEMO_MODEL.md).

A design is a plain or patterned background with one to three motifs, or an all-over pattern, in
named colours, optionally in a style (outlined, soft watercolour edges, halftone). Its caption reads
like a customer's words: "a red star on a navy background", "yellow polka dots on white, flat style".
The same seed gives the same design; nothing is stored.

Captions are split once and for all (``is_held_out``): a tenth of the (motif, colours, layout)
combinations never appear in training, and the report draws only from those.
"""

from __future__ import annotations

import functools
import math
import random
import zlib
from dataclasses import dataclass, field

from PIL import Image, ImageDraw, ImageFilter

from personalization.prompting import CLIP_MAX_TOKENS

# The named colours: the demo brands' palettes and the catalogue's base colours (shop seed_demo) use
# these names, with the same hex where they share one, plus common colour words customers use.
COLORS: dict[str, str] = {
    "red": "#C62828",
    "orange": "#F57C00",
    "yellow": "#FDD835",
    "sunflower": "#FFC93C",
    "green": "#43A047",
    "forest": "#2E5339",
    "mint": "#98E2C6",
    "teal": "#2EC4B6",
    "sky blue": "#6EC6FF",
    "blue": "#1E63C8",
    "navy": "#1F2A44",
    "purple": "#6B4C9A",
    "lavender": "#B9A5E3",
    "pink": "#F48FB1",
    "coral": "#FF6F61",
    "maroon": "#7B1E2B",
    "terracotta": "#C8674A",
    "brown": "#6D4C41",
    "walnut": "#5C4033",
    "khaki": "#C3B091",
    "sand": "#D8C3A5",
    "cream": "#FFF8E7",
    "white": "#FFFFFF",
    "grey": "#8A8D91",
    "black": "#111111",
    "gold": "#C9A227",
}
# Object motifs (drawn one to three times) and all-over patterns (they fill the design).
OBJECTS = ("circle", "star", "heart", "mountains", "flower", "badge")
PATTERNS = ("stripes", "polka dots", "waves", "chevrons", "checks")
MOTIFS = OBJECTS + PATTERNS
PLURALS = {
    "circle": "circles",
    "star": "stars",
    "heart": "hearts",
    "mountains": "mountains",
    "flower": "flowers",
    "badge": "badges",
}
STYLES = ("flat", "outlined", "soft", "halftone")
STYLE_WORDS = {
    "flat": ("flat style", "flat design", "flat colors"),
    "outlined": ("outlined", "line art", "outline style"),
    "soft": ("soft watercolor edges", "watercolor style", "soft edges"),
    "halftone": ("halftone", "halftone dots", "halftone print"),
}
NUMBERS = {1: "a", 2: "two", 3: "three"}  # "an" before a vowel (_counted)
# Words a customer's description or the prompt builder adds that say nothing about the drawing: the
# model learns to draw from the colour and motif words among them (the text encoder sees them all).
SUBJECTS = (
    "a lighthouse in a storm",
    "my dog",
    "a cozy cabin",
    "sunset landscape",
    "retro",
    "minimalist",
    "for my sister",
    "vintage",
    "cute",
    "bold",
    "happy birthday",
    "summer vibes",
    "ocean",
    "coffee",
    "mountain adventure",
    "space",
    "botanical",
    "geometric",
    "abstract",
    "modern",
    "kids",
    "a fox in the forest",
    "city skyline",
    "tropical",
    "festival",
    "wedding",
    "team logo",
)
PRODUCT_PHRASES = (
    "printed on a white cotton t-shirt",
    "printed on a black cotton t-shirt",
    "on a ceramic mug",
    "panoramic wraparound design",
    "centered chest print",
    "on a canvas print",
    "on a throw cushion",
    "on a phone case",
    "on a baseball cap",
    "on a tote bag",
    "on a poster",
    "on a notebook cover",
    "matte finish",
    "glossy finish",
    "product photography with natural lighting",
    "high quality",
    "clean vector illustration",
    "cheerful, playful",
    "rugged outdoor style",
    "bright summer colors",
    "rounded friendly shapes",
    "sharp details",
    "print ready",
    "centered composition",
)
# Colour pairs that are too close to tell apart are never drawn together (CIEDE2000 below this).
MIN_PAIR_DELTA_E = 18.0


@dataclass(frozen=True)
class Layout:
    """What a design shows: the part of a caption that decides the pixels."""

    motif: str
    count: int  # objects drawn (1-3); 0 for an all-over pattern
    fg: str  # colour names
    bg: str
    style: str
    second: str = ""  # an all-over pattern's second colour (stripes, checks) or an object's outline

    @property
    def colors(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for c in (self.fg, self.bg, self.second) if c))

    def key(self) -> str:
        return f"{self.motif}|{self.count}|{self.fg}|{self.bg}|{self.second}|{self.style}"


@dataclass
class Design:
    layout: Layout
    caption: str  # the core caption (what the report shows)
    image: Image.Image = field(repr=False)


def is_held_out(layout: Layout) -> bool:
    """A tenth of the layouts, fixed by their key, never seen in training (the report's set)."""
    return zlib.crc32(layout.key().encode()) % 10 == 0


@functools.cache
def _apart() -> frozenset[tuple[str, str]]:
    """The colour pairs far enough apart to be drawn together (CIEDE2000, the project's scoring)."""
    from personalization.quality import delta_e

    return frozenset(
        (a, b) for a in COLORS for b in COLORS if a != b and delta_e(COLORS[a], COLORS[b]) >= MIN_PAIR_DELTA_E
    )


def _distinct(rng: random.Random, n: int, exclude: tuple[str, ...] = ()) -> list[str]:
    names, apart = list(COLORS), _apart()
    chosen: list[str] = []
    while len(chosen) < n:
        name = rng.choice(names)
        if name in exclude or name in chosen:
            continue
        if all((name, other) in apart for other in chosen + list(exclude)):
            chosen.append(name)
    return chosen


def random_layout(rng: random.Random) -> Layout:
    style = rng.choices(STYLES, weights=(6, 2, 2, 1))[0]
    if rng.random() < 0.35:
        motif = rng.choice(PATTERNS)
        fg, bg = _distinct(rng, 2)
        return Layout(motif=motif, count=0, fg=fg, bg=bg, style=style if style != "outlined" else "flat")
    motif = rng.choice(OBJECTS)
    count = 1 if motif == "mountains" else rng.choices((1, 2, 3), weights=(5, 2, 2))[0]
    fg, bg = _distinct(rng, 2)
    return Layout(motif=motif, count=count, fg=fg, bg=bg, style=style)


def _noun(layout: Layout) -> str:
    if layout.motif == "mountains":
        return "mountains with a sun"
    return layout.motif if layout.count == 1 else PLURALS[layout.motif]


def _counted(count: int, words: str) -> str:
    """ "a red star", "an orange heart", "two teal circles"; mountains take no article."""
    if count == 1:
        if words.endswith("mountains with a sun"):
            return words
        return ("an " if words[0] in "aeiou" else "a ") + words
    return f"{NUMBERS[count]} {words}"


def core_caption(layout: Layout, rng: random.Random) -> str:
    if layout.count == 0:
        if rng.random() < 0.5:
            text = f"{layout.fg} {layout.motif} on {layout.bg}"
        else:
            text = f"{layout.fg} and {layout.bg} {layout.motif}"
    else:
        text = _counted(layout.count, f"{layout.fg} {_noun(layout)}")
        article = "an" if layout.bg[0] in "aeiou" else "a"
        text += rng.choice(
            (f" on {article} {{}} background", " on {}", f" on {article} {{}} background")
        ).format(layout.bg)
    if layout.style != "flat" or rng.random() < 0.3:
        text += ", " + rng.choice(STYLE_WORDS[layout.style])
    return text


def _listed(names) -> str:
    """ "navy", "navy and white", "navy, forest, sand and white": as the prompt builder lists them."""
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def prompt_like(core: str, rng: random.Random, *, palette: tuple[str, ...] = ()) -> str:
    """The caption as the shop's prompt builder sends it: the customer's words (sometimes with a
    subject the model cannot draw), then product and brand phrases, sometimes a colour palette."""
    parts = [core]
    if rng.random() < 0.4:
        parts.insert(0 if rng.random() < 0.5 else 1, rng.choice(SUBJECTS))
    parts += rng.sample(PRODUCT_PHRASES, k=rng.randint(0, 4))
    if palette:
        parts.append(f"{_listed(palette)} color palette")
    return ", ".join(parts)


def _colour_free_words(layout: Layout, rng: random.Random) -> str:
    """What a customer types who names no colour: the motif, sometimes after a subject."""
    words = layout.motif if layout.count == 0 else _counted(layout.count, _noun(layout))
    subject = rng.choice(SUBJECTS) if rng.random() < 0.5 else ""
    return ", ".join(p for p in (subject, words) if p)


def _design_palette(layout: Layout, rng: random.Random) -> tuple[str, ...]:
    """A brand palette drawn in this design: the motif's colour first, the background's last (the
    prompt builder lists primary first, background last), up to two unused colours between."""
    others = _distinct(rng, rng.randint(0, 2), exclude=layout.colors)
    return (layout.fg, *others, layout.bg)


def palette_caption(layout: Layout, rng: random.Random) -> str:
    """A caption that names no colour in the customer's words but a brand palette whose first colour
    is the motif's and last the background's: the model learns to draw in the palette when the
    customer names no colour."""
    palette = _design_palette(layout, rng)
    return prompt_like(_colour_free_words(layout, rng), rng, palette=palette)


# A studio frame: the phrases the shop's prompt builder adds after the customer's words for one
# product, base colour, material, style and brand (``prompting.enrichment_phrases``, highest priority
# first), with the brand's palette phrase replaced by PALETTE_SLOT. train_demo_model reads them off
# the catalogue, so the model learns the studio's whole prompts: which words draw (the customer's
# colours and motif, the palette) and which do not (the product's base colour, "stars" in a style).
PALETTE_SLOT = "{palette}"
CLIP_WINDOW = CLIP_MAX_TOKENS  # tokens between the start and end tokens


def studio_caption(
    layout: Layout,
    rng: random.Random,
    frames,
    count_tokens,
) -> str:
    """The customer's words, then one frame's phrases in order, dropped whole from the first that
    would overflow the 77-token window (as ``prompting.build_prompts``; ``count_tokens(text)`` counts
    a phrase without start and end tokens). With no colour in the customer's words the palette is
    the design's; with colours (the customer's words lead) it is any brand's, or the frame has none."""
    frame = rng.choice(frames)
    if layout.second == "" and rng.random() < 0.5:
        words, palette = _colour_free_words(layout, rng), _design_palette(layout, rng)
    else:
        words = core_caption(layout, rng)
        if rng.random() < 0.3:
            words = f"{rng.choice(SUBJECTS)}, {words}"
        palette = tuple(_distinct(rng, rng.randint(2, 4))) if rng.random() < 0.7 else ()
    text, used = words, count_tokens(words)
    for phrase in frame:
        if phrase == PALETTE_SLOT:
            if not palette:
                continue
            phrase = f"{_listed(palette)} color palette"
        used += count_tokens(phrase) + 1  # and its comma
        if used > CLIP_WINDOW:
            break
        text += ", " + phrase
    return text


def training_caption(layout: Layout, rng: random.Random, frames=(), count_tokens=None) -> str:
    """A training caption: the design's words alone, as a prompt with product phrases, with a brand
    palette instead of colour words, or (half of them, given the catalogue's ``frames``) as the
    studio's whole prompt."""
    if frames and rng.random() < 0.5:
        return studio_caption(layout, rng, frames, count_tokens)
    roll = rng.random()
    if roll < 0.15 and layout.second == "":
        return palette_caption(layout, rng)
    core = core_caption(layout, rng)
    return core if roll < 0.45 else prompt_like(core, rng)


# --- drawing ------------------------------------------------------------------------------------


def _star(cx, cy, r, points=5):
    out = []
    for i in range(points * 2):
        radius = r if i % 2 == 0 else r * 0.45
        angle = math.pi * i / points - math.pi / 2
        out.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return out


def _heart(cx, cy, r):
    out = []
    for i in range(64):
        t = 2 * math.pi * i / 64
        x = 16 * math.sin(t) ** 3
        y = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
        out.append((cx + x * r / 17, cy - y * r / 17))
    return out


def _badge(cx, cy, r, sides):
    return [
        (
            cx + r * math.cos(2 * math.pi * i / sides - math.pi / 2),
            cy + r * math.sin(2 * math.pi * i / sides - math.pi / 2),
        )
        for i in range(sides)
    ]


def _shape(draw: ImageDraw.ImageDraw, motif: str, cx, cy, r, fill, outline_only: bool, width: int, rng):
    kwargs = {"outline": fill, "width": width} if outline_only else {"fill": fill}
    if motif == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), **kwargs)
    elif motif == "star":
        draw.polygon(_star(cx, cy, r), **kwargs)
    elif motif == "heart":
        draw.polygon(_heart(cx, cy, r), **kwargs)
    elif motif == "badge":
        draw.polygon(_badge(cx, cy, r, rng.choice((6, 8))), **kwargs)
        inner = _badge(cx, cy, r * 0.6, 4)
        draw.polygon(inner, outline=fill if not outline_only else fill, width=max(1, width))
    elif motif == "flower":
        petals = rng.choice((5, 6, 8))
        pr = r * 0.38
        for i in range(petals):
            a = 2 * math.pi * i / petals
            px, py = cx + (r - pr) * math.cos(a), cy + (r - pr) * math.sin(a)
            draw.ellipse((px - pr, py - pr, px + pr, py + pr), **kwargs)
        draw.ellipse((cx - pr * 0.8, cy - pr * 0.8, cx + pr * 0.8, cy + pr * 0.8), **kwargs)
    elif motif == "mountains":
        sun_r = r * 0.3
        draw.ellipse(
            (cx + r * 0.25, cy - r * 0.9, cx + r * 0.25 + 2 * sun_r, cy - r * 0.9 + 2 * sun_r), **kwargs
        )
        peaks = [
            (cx - r, cy + r * 0.7),
            (cx - r * 0.35, cy - r * 0.45),
            (cx + r * 0.05, cy + r * 0.1),
            (cx + r * 0.45, cy - r * 0.25),
            (cx + r, cy + r * 0.7),
        ]
        draw.polygon(peaks, **kwargs)
    else:  # pragma: no cover - MOTIFS lists every one
        raise ValueError(motif)


def _pattern(draw: ImageDraw.ImageDraw, motif: str, size: int, fill, rng):
    step = size / rng.choice((4, 5, 6, 8))
    if motif == "stripes":
        vertical = rng.random() < 0.5
        for i in range(0, int(size / step) + 1, 2):
            a, b = i * step, (i + 1) * step
            draw.rectangle((a, 0, b, size) if vertical else (0, a, size, b), fill=fill)
    elif motif == "checks":
        for i in range(int(size / step) + 1):
            for j in range(int(size / step) + 1):
                if (i + j) % 2 == 0:
                    draw.rectangle((i * step, j * step, (i + 1) * step, (j + 1) * step), fill=fill)
    elif motif == "polka dots":
        r = step * 0.28
        for i in range(int(size / step) + 1):
            for j in range(int(size / step) + 1):
                cx = (i + 0.5 * (j % 2) + 0.25) * step
                cy = (j + 0.5) * step
                draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    elif motif == "waves":
        amp, width = step * 0.25, max(2, int(step * 0.22))
        for j in range(int(size / step) + 1):
            y0 = (j + 0.5) * step
            pts = [(x, y0 + amp * math.sin(2 * math.pi * x / step)) for x in range(0, size + 4, 2)]
            draw.line(pts, fill=fill, width=width)
    elif motif == "chevrons":
        width = max(2, int(step * 0.25))
        for j in range(-1, int(size / step) + 2):
            y0 = j * step
            pts = []
            for i in range(int(size / step) + 2):
                pts.append((i * step, y0 + (step * 0.4 if i % 2 else 0)))
            draw.line(pts, fill=fill, width=width, joint="curve")
    else:  # pragma: no cover
        raise ValueError(motif)


def _halftone(mask: Image.Image, size: int) -> Image.Image:
    """The mask as a grid of dots (a halftone screen)."""
    dots = Image.new("L", mask.size, 0)
    d = ImageDraw.Draw(dots)
    step = max(4, size // 24)
    r = step * 0.42
    for y in range(0, mask.size[1], step):
        for x in range(0, mask.size[0], step):
            d.ellipse((x + step / 2 - r, y + step / 2 - r, x + step / 2 + r, y + step / 2 + r), fill=255)
    from PIL import ImageChops

    return ImageChops.multiply(mask, dots)


def draw(layout: Layout, size: int, rng: random.Random) -> Image.Image:
    """The design of ``layout`` at ``size`` px (drawn at 2x and downsampled: smooth edges)."""
    big = size * 2
    fg = Image.new("RGB", (big, big), COLORS[layout.fg])
    image = Image.new("RGB", (big, big), COLORS[layout.bg])
    mask = Image.new("L", (big, big), 0)
    d = ImageDraw.Draw(mask)
    if layout.count == 0:
        _pattern(d, layout.motif, big, 255, rng)
    else:
        slots = {
            1: [(0.5, 0.5, 0.32)],
            2: [(0.3, 0.5, 0.19), (0.7, 0.5, 0.19)],
            3: [(0.2, 0.5, 0.14), (0.5, 0.5, 0.14), (0.8, 0.5, 0.14)],
        }[layout.count]
        if layout.count > 1 and rng.random() < 0.5:  # a diagonal or vertical arrangement
            slots = [(y, x, r) for x, y, r in slots] if rng.random() < 0.5 else slots
        jitter = big * 0.04
        width = max(3, big // 40)
        for x, y, r in slots:
            cx = x * big + rng.uniform(-jitter, jitter)
            cy = y * big + rng.uniform(-jitter, jitter)
            radius = r * big * rng.uniform(0.85, 1.1)
            _shape(d, layout.motif, cx, cy, radius, 255, layout.style == "outlined", width, rng)
    if layout.style == "halftone":
        mask = _halftone(mask, big)
    if layout.style == "soft":
        mask = mask.filter(ImageFilter.GaussianBlur(big / 90))
    image.paste(fg, (0, 0), mask)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def design(seed: int, size: int = 128) -> Design:
    """The design of ``seed``: the same seed gives the same layout, caption and pixels."""
    rng = random.Random(seed)
    layout = random_layout(rng)
    caption = core_caption(layout, rng)
    return Design(layout=layout, caption=caption, image=draw(layout, size, rng))


def training_designs(start: int, count: int, size: int = 128):
    """``count`` designs from seed ``start`` on, skipping held-out layouts, each with a training
    caption (sometimes prompt-like, sometimes naming only a palette)."""
    seed, made = start, 0
    while made < count:
        rng = random.Random(seed)
        layout = random_layout(rng)
        seed += 1
        if is_held_out(layout):
            continue
        caption = training_caption(layout, random.Random(seed * 7919))
        yield Design(layout=layout, caption=caption, image=draw(layout, size, rng))
        made += 1


def held_out_designs(count: int, size: int = 128, *, start: int = 10_000_000):
    """The report's set: ``count`` held-out layouts (never trained on), from a fixed seed range."""
    seed, made = start, 0
    while made < count:
        rng = random.Random(seed)
        layout = random_layout(rng)
        seed += 1
        if not is_held_out(layout):
            continue
        caption = core_caption(layout, rng)
        yield Design(layout=layout, caption=caption, image=draw(layout, size, rng))
        made += 1


def vocabulary_words() -> list[str]:
    """Every word the generator writes (for the tokenizer)."""
    texts = [*COLORS, *MOTIFS, *PLURALS.values(), *NUMBERS.values(), *SUBJECTS, *PRODUCT_PHRASES]
    texts += [w for words in STYLE_WORDS.values() for w in words]
    texts += ["an on a background with sun", "and color palette"]
    return texts
