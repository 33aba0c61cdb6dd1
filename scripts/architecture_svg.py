"""Writes docs/architecture.svg (one generation, from the form to the order line): python scripts/architecture_svg.py docs/architecture.svg"""
# ruff: noqa: E501  (SVG markup lines)

import html
import sys

W, BOX_W, BOX_H, GAP = 980, 400, 58, 22
web = [
    ("Customer", "studio form (forms.StudioForm) or API (api.serializers): types only"),
    ("services.generation_request_create", "the one submit: quota, policy, host adapter"),
    ("hosts.product_info(product)", "ProductInfo from the host's HOST_ADAPTER"),
    ("presets.choose + recipe.build", "Recipe validated once against its preset"),
    ("prompting.build_prompts", "prompt + negative prompt from product, brand, material"),
    ("models.GenerationRequest", "the row: source of truth (status queued)"),
    ("queue.enqueue_generation", "django-q2 only wakes the worker"),
]
worker = [
    ("lifecycle.generation_claim", "compare-and-set claim, lease, heartbeats"),
    ("worker.job_for -> recipe.job()", "engine Job; one engine per preset"),
    ("engine.core.Engine", "diffusers pipeline, the preset's scheduler"),
    ("worker.finish_request", "safety.py, quality.py, PNG metadata (recipe)"),
    ("postprocess -> mockups.compositing", "design on the product in its colour"),
    ("models.GenerationImage", "variations the customer chooses from"),
]
order = [
    ("interface.freeze_design", "the host's order hook (cart, oscar signal)"),
    ("services.line_design_create", "LineDesign: file copies + Recipe"),
    ("print_jobs (worker side)", "print file at the print area's DPI"),
]


def box(x, y, title, sub, fill):
    return (
        f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="{fill}" stroke="#334155"/>'
        f'<text x="{x + 12}" y="{y + 24}" font-family="monospace" font-size="15" font-weight="bold" fill="#0f172a">{html.escape(title)}</text>'
        f'<text x="{x + 12}" y="{y + 45}" font-family="sans-serif" font-size="13" fill="#334155">{html.escape(sub)}</text>'
    )


def arrow(x1, y1, x2, y2):
    return f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#475569" stroke-width="2" marker-end="url(#a)"/>'


parts, lx, rx, top = [], 40, 540, 70
for i, (t, s) in enumerate(web):
    y = top + i * (BOX_H + GAP)
    parts.append(box(lx, y, t, s, "#e0f2fe"))
    if i:
        parts.append(arrow(lx + BOX_W / 2, y - GAP, lx + BOX_W / 2, y - 2))
for i, (t, s) in enumerate(worker):
    y = top + i * (BOX_H + GAP)
    parts.append(box(rx, y, t, s, "#fef3c7"))
    if i:
        parts.append(arrow(rx + BOX_W / 2, y - GAP, rx + BOX_W / 2, y - 2))
last_web_y = top + (len(web) - 1) * (BOX_H + GAP)
parts.append(arrow(lx + BOX_W, last_web_y + BOX_H / 2, rx - 2, top + BOX_H / 2))
oy = top + len(web) * (BOX_H + GAP) + 30
for i, (t, s) in enumerate(order):
    x = 40 + i * (280 + 30)
    parts.append(
        f'<rect x="{x}" y="{oy}" width="280" height="{BOX_H}" rx="8" fill="#dcfce7" stroke="#334155"/>'
        f'<text x="{x + 10}" y="{oy + 24}" font-family="monospace" font-size="13" font-weight="bold" fill="#0f172a">{html.escape(t)}</text>'
        f'<text x="{x + 10}" y="{oy + 45}" font-family="sans-serif" font-size="12" fill="#334155">{html.escape(s)}</text>'
    )
    if i:
        parts.append(arrow(x - 30, oy + BOX_H / 2, x - 2, oy + BOX_H / 2))
last_worker_y = top + (len(worker) - 1) * (BOX_H + GAP)
parts.append(arrow(rx + BOX_W / 2, last_worker_y + BOX_H, 180, oy - 2))
H = oy + BOX_H + 30
head = (
    f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}">'
    '<defs><marker id="a" markerWidth="10" markerHeight="8" refX="9" refY="4" orient="auto">'
    '<path d="M0,0 L10,4 L0,8 z" fill="#475569"/></marker></defs>'
    f'<rect width="{W}" height="{H}" fill="#ffffff"/>'
    '<text x="40" y="40" font-family="sans-serif" font-size="18" font-weight="bold" fill="#0369a1">Web process (no torch)</text>'
    '<text x="540" y="40" font-family="sans-serif" font-size="18" font-weight="bold" fill="#b45309">GPU worker process</text>'
)
with open(sys.argv[1], "w") as out:
    out.write(head + "".join(parts) + "</svg>\n")
