"""What the demo model draws, measured (``python manage.py demo_model_report``, docs/DEMO_MODEL.md).

- Colour adherence: of the colours a held-out caption names, the share found among the design's
  dominant colours (``quality.dominant_colors``, CIEDE2000 within ``COLOR_MATCH_DELTA_E``).
- Motif adherence: the share of designs whose motif a simple detector recognises as the caption's.
  The detector compares the design's foreground mask (what differs from its main colour) with
  masks of the generator's own designs, nearest neighbours on two descriptors: the mask's spectrum
  (patterns: stripes, checks, dots) and the shape of its largest part (objects: star, heart ...).
  Its accuracy on the generator's true designs is reported too: it bounds what the model can score.
- Brand consistency: designs made with a brand's palette phrase (as the prompt builder writes it)
  and no colour in the customer's words, scored with ``quality.brand_consistency`` against the
  palette; the share at or above the brand's minimum passes without re-seeding.
"""

from __future__ import annotations

import random
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from personalization.quality import brand_consistency, delta_e, dominant_colors
from personalization.specs import PaletteColorSpec

from . import data

COLOR_MATCH_DELTA_E = 15.0  # a named colour is present when a dominant colour is this close
MIN_SHARE = 0.02  # ... and covers at least this share of the design
MASK_SIZE = 32
BACKGROUND_DELTA = 20.0  # Lab distance from the main colour that counts as foreground


# --- colour -------------------------------------------------------------------------------------


def colour_hits(image: Image.Image, names: Sequence[str]) -> dict[str, bool]:
    """{colour name: found among the image's dominant colours}."""
    dominant = [(hex_value, share) for hex_value, share in dominant_colors(image, k=6) if share >= MIN_SHARE]
    return {
        name: any(delta_e(data.COLORS[name], hex_value) <= COLOR_MATCH_DELTA_E for hex_value, _ in dominant)
        for name in names
    }


# --- motif ----------------------------------------------------------------------------------------


def _lab(array: np.ndarray) -> np.ndarray:
    """sRGB (0..255, ... x 3) to CIE Lab (D65)."""
    rgb = array.astype(np.float64) / 255.0
    rgb = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = rgb @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def foreground_mask(image: Image.Image) -> np.ndarray:
    """MASK_SIZE x MASK_SIZE booleans: what differs from the design's main colour."""
    small = np.asarray(image.convert("RGB").resize((MASK_SIZE, MASK_SIZE), Image.Resampling.BOX))
    lab = _lab(small).reshape(-1, 3)
    main = dominant_colors(image, k=4)[0][0]
    main_lab = _lab(np.array([[int(main[i : i + 2], 16) for i in (1, 3, 5)]]))[0]
    return (np.linalg.norm(lab - main_lab, axis=1) > BACKGROUND_DELTA).reshape(MASK_SIZE, MASK_SIZE)


def _components(mask: np.ndarray) -> list[list[tuple[int, int]]]:
    seen = np.zeros_like(mask, dtype=bool)
    parts = []
    for y, x in zip(*np.nonzero(mask), strict=True):
        if seen[y, x]:
            continue
        stack, part = [(y, x)], []
        seen[y, x] = True
        while stack:
            cy, cx = stack.pop()
            part.append((cy, cx))
            for ny, nx in ((cy + 1, cx), (cy - 1, cx), (cy, cx + 1), (cy, cx - 1)):
                if 0 <= ny < mask.shape[0] and 0 <= nx < mask.shape[1] and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
        parts.append(part)
    return parts


def descriptor(image: Image.Image) -> np.ndarray:
    mask = foreground_mask(image)
    m = mask.astype(np.float64)
    spectrum = np.abs(np.fft.fft2(m - m.mean()))[:8, :8].ravel()
    spectrum = spectrum / (np.linalg.norm(spectrum) + 1e-9)
    parts = sorted(_components(mask), key=len, reverse=True)
    shape = np.zeros((12, 12))
    if parts:
        ys, xs = np.array(parts[0]).T
        crop = np.zeros((ys.max() - ys.min() + 1, xs.max() - xs.min() + 1))
        crop[ys - ys.min(), xs - xs.min()] = 1.0
        shape = (
            np.asarray(Image.fromarray((crop * 255).astype(np.uint8)).resize((12, 12), Image.Resampling.BOX))
            / 255.0
        )
    shape = shape.ravel() / (np.linalg.norm(shape) + 1e-9)
    big = [p for p in parts if len(p) >= 4]
    extra = np.array([m.mean(), min(len(big), 12) / 12.0])
    return np.concatenate([spectrum, shape, extra * 2.0])


@dataclass
class MotifDetector:
    """k nearest neighbours over ``descriptor`` on the generator's designs."""

    k: int = 5
    references: list[tuple[str, np.ndarray]] = field(default_factory=list)

    @classmethod
    def fit(cls, *, per_motif: int = 40, size: int = 128, start: int = 20_000_000) -> MotifDetector:
        detector, counts, seed = cls(), Counter(), start
        while min((counts[m] for m in data.MOTIFS), default=0) < per_motif:
            design = data.design(seed, size)
            seed += 1
            if counts[design.layout.motif] < per_motif:
                counts[design.layout.motif] += 1
                detector.references.append((design.layout.motif, descriptor(design.image)))
        return detector

    def predict(self, image: Image.Image) -> str:
        d = descriptor(image)
        ranked = sorted(self.references, key=lambda ref: float(np.linalg.norm(ref[1] - d)))[: self.k]
        votes = Counter(motif for motif, _ in ranked)
        return votes.most_common(1)[0][0]


# --- the report -------------------------------------------------------------------------------------


@dataclass
class Brand:
    name: str
    palette: list[PaletteColorSpec]
    min_score: float
    # Whole prompts as the studio builds them (prompt, negative prompt): a customer's words without
    # colours on one of the brand's products, its base colour, a material and a style it offers.
    storefront: tuple[tuple[str, str], ...] = ()


def customer_words(rng: random.Random) -> str:
    """What a customer might type that names no colour: a motif the model knows, or a subject it
    cannot draw."""
    return rng.choice(
        [
            "a star",
            "two hearts",
            "polka dots",
            "a flower",
            "stripes",
            "three circles",
            "a badge",
            "waves",
            "mountains with a sun",
            "checks",
            "chevrons",
            *data.SUBJECTS,
        ]
    )


def palette_prompt(brand: Brand, rng: random.Random) -> str:
    """A customer's words without colours, then the brand's palette as the prompt builder lists it."""
    from personalization.prompting import palette_phrase
    from personalization.specs import BrandSpec

    subject = customer_words(rng)
    spec = BrandSpec(name=brand.name, palette=tuple(brand.palette))
    return f"{subject}, {palette_phrase(spec)}"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run_report(
    engine,
    *,
    count: int = 120,
    size: int = 128,
    steps: int = 20,
    guidance: float = 7.5,
    brands: Sequence[Brand] = (),
    per_brand: int = 40,
    seed: int = 0,
    progress=lambda line: None,
) -> dict:
    """Generate the held-out set (and the brands' set) with ``engine`` and measure them."""
    from personalization.engine.rules import Job

    def one(prompt: str, image_seed: int, negative: str = "") -> Image.Image:
        job = Job(
            prompt=prompt,
            negative_prompt=negative,
            seeds=[image_seed],
            steps=steps,
            guidance_scale=guidance,
            width=size,
            height=size,
        )
        return engine.generate([job])[0][0]

    detector = MotifDetector.fit(size=size)
    held = list(data.held_out_designs(count, size=size))
    truth_motif = sum(detector.predict(d.image) == d.layout.motif for d in held) / len(held)
    named = found = both = motif_hits = 0
    samples = []
    per_colour: Counter = Counter()
    per_colour_found: Counter = Counter()
    for i, design in enumerate(held):
        image = one(design.caption, seed + i)
        names = (design.layout.fg, design.layout.bg)
        hits = colour_hits(image, names)
        named += len(names)
        found += sum(hits.values())
        both += all(hits.values())
        for name, hit in hits.items():
            per_colour[name] += 1
            per_colour_found[name] += hit
        predicted = detector.predict(image)
        motif_hits += predicted == design.layout.motif
        samples.append((design, image, hits, predicted))
        if (i + 1) % 20 == 0:
            progress(f"{i + 1}/{len(held)} held-out captions")
    # The control: each design measured against the next design's caption. What the model drew
    # matches those colours only by chance, so this is what the measure gives a model that ignores
    # the caption's colours (two designs' captions may share a colour: the chance is not zero).
    shuffled = sum(
        sum(colour_hits(image, (other.layout.fg, other.layout.bg)).values())
        for (_, image, _, _), other in zip(samples, held[1:] + held[:1], strict=True)
    )
    result = {
        "held_out": len(held),
        "size": size,
        "steps": steps,
        "guidance": guidance,
        "colour_adherence": found / named,
        "both_colours": both / len(held),
        "colour_adherence_shuffled": shuffled / named,
        "motif_adherence": motif_hits / len(held),
        "detector_on_true_designs": truth_motif,
        "chance_motif": 1 / len(data.MOTIFS),
        "per_colour": {name: per_colour_found[name] / n for name, n in sorted(per_colour.items())},
        "brands": [],
    }
    rng = random.Random(seed)
    storefront_samples = []  # (brand, prompt, image, score, passes)
    for brand in brands:
        scores = []
        for j in range(per_brand):
            image = one(palette_prompt(brand, rng), seed + 10_000 + j)
            scores.append(brand_consistency(image, brand.palette) or 0.0)
        whole = []
        for j, (prompt, negative) in enumerate(brand.storefront):
            image = one(prompt, seed + 20_000 + j, negative)
            whole.append(brand_consistency(image, brand.palette) or 0.0)
            storefront_samples.append((brand.name, prompt, image, whole[-1], whole[-1] >= brand.min_score))
        result["brands"].append(
            {
                "name": brand.name,
                "min_score": brand.min_score,
                "designs": len(scores),
                "passing": sum(s >= brand.min_score for s in scores) / len(scores),
                "p10": _percentile(scores, 0.1),
                "median": statistics.median(scores),
                "p90": _percentile(scores, 0.9),
                "storefront": {
                    "designs": len(whole),
                    "passing": sum(s >= brand.min_score for s in whole) / len(whole),
                    "median": statistics.median(whole),
                    "example": brand.storefront[0][0],
                }
                if whole
                else None,
            }
        )
        progress(f"brand {brand.name}: {len(scores)} designs")
    result["samples"] = samples
    result["storefront_samples"] = storefront_samples
    return result


def sample_grid(samples, *, columns: int = 6, rows: int = 4, cell: int = 160) -> Image.Image:
    """Generated designs with their captions (the docs' picture)."""
    from PIL import ImageDraw

    chosen = samples[: columns * rows]
    grid = Image.new("RGB", (columns * cell, rows * (cell + 34)), "white")
    draw = ImageDraw.Draw(grid)
    for i, (design, image, hits, predicted) in enumerate(chosen):
        x, y = (i % columns) * cell, (i // columns) * (cell + 34)
        grid.paste(image.resize((cell - 8, cell - 8), Image.Resampling.NEAREST), (x + 4, y + 4))
        words = design.caption.split(", ")[0]
        found = sum(hits.values())
        draw.text((x + 4, y + cell - 2), words[:26], fill="black")
        verdict = f"colours {found}/{len(hits)}, seen: {predicted}"
        draw.text((x + 4, y + cell + 12), verdict, fill="#2E7D32" if found == len(hits) else "#C62828")
    return grid


def storefront_grid(samples, *, per_brand: int = 8, columns: int = 8, cell: int = 160) -> Image.Image:
    """The first ``per_brand`` whole storefront prompts of each brand as drawn: the customer's words,
    the product, the brand score and whether it passes (the docs' second picture)."""
    from PIL import ImageDraw

    shown: Counter = Counter()
    chosen = []
    for sample in samples:
        if shown[sample[0]] < per_brand:
            shown[sample[0]] += 1
            chosen.append(sample)
    rows = max(1, -(-len(chosen) // columns))
    grid = Image.new("RGB", (columns * cell, rows * (cell + 48)), "white")
    draw = ImageDraw.Draw(grid)
    for i, (brand, prompt, image, score, passes) in enumerate(chosen):
        x, y = (i % columns) * cell, (i // columns) * (cell + 48)
        grid.paste(image.resize((cell - 8, cell - 8), Image.Resampling.NEAREST), (x + 4, y + 4))
        words, _, rest = prompt.partition(", ")
        product = rest.split(", ")[0].removeprefix("printed on ").removeprefix("engraved on ")
        draw.text((x + 4, y + cell - 2), words[:26], fill="black")
        draw.text((x + 4, y + cell + 12), product[:26], fill="black")
        verdict = f"{brand.split()[0]} {score:.0f} {'passes' if passes else 'flagged'}"
        draw.text((x + 4, y + cell + 26), verdict, fill="#2E7D32" if passes else "#C62828")
    return grid


def format_report(result: dict) -> str:
    lines = [
        f"Held-out captions: {result['held_out']} (never trained on), {result['size']} px, "
        f"{result['steps']} steps, guidance {result['guidance']:g}",
        f"Colour adherence: {100 * result['colour_adherence']:.1f} % of named colours found "
        f"(CIEDE2000 <= {COLOR_MATCH_DELTA_E:g}); "
        f"both colours in {100 * result['both_colours']:.1f} % of designs; "
        f"against the next design's caption (chance): {100 * result['colour_adherence_shuffled']:.1f} %",
        f"Motif adherence: {100 * result['motif_adherence']:.1f} % (the detector on the true designs: "
        f"{100 * result['detector_on_true_designs']:.1f} %; chance {100 * result['chance_motif']:.1f} %)",
    ]
    for brand in result["brands"]:
        lines.append(
            f"Brand {brand['name']}: {100 * brand['passing']:.0f} % of {brand['designs']} designs "
            f"at or above its minimum {brand['min_score']:g} (score p10 {brand['p10']:.1f}, "
            f"median {brand['median']:.1f}, p90 {brand['p90']:.1f})"
        )
        if whole := brand.get("storefront"):
            lines.append(
                f"  whole storefront prompts (product, base colour, material, style): "
                f"{100 * whole['passing']:.0f} % of {whole['designs']} pass (median {whole['median']:.1f})"
            )
    return "\n".join(lines)
