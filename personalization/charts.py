"""The dashboard's charts (docs/DASHBOARD.md), drawn on the server with pygal as SVG text: no
JavaScript, nothing loaded from elsewhere (pygal's tooltip script and its inline config script are
left out; its CSS is inlined), no XML declaration, so the SVG can sit inside an HTML page or be
written to a file as is. Each chart comes with a title, a caption and a text alternative; empty data
gives a chart that says "No data"."""

import math
from dataclasses import dataclass

import pygal
from pygal.style import Style

STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1f2937",
    foreground_strong="#111827",
    foreground_subtle="#6b7280",
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif",
    colors=("#2563eb", "#f59e0b", "#15803d", "#b91c1c", "#7c3aed", "#0891b2"),
    title_font_size=18,
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=13,
    value_font_size=12,
    no_data_font_size=28,
)
NO_DATA = "No data"


@dataclass(frozen=True)
class Chart:
    name: str  # a file-name part: "requests", "timeline" ...
    title: str
    caption: str  # what is drawn, for the <figcaption>
    description: str  # the data in words: the text alternative
    svg: str


def _without_scripts(root):
    """pygal always writes a <script> with its tooltip config, and comments naming its web site:
    drop both."""
    for parent in list(root.iter()):
        for child in list(parent):
            if not isinstance(child.tag, str) or child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return root


def _chart(kind, **options):
    config = pygal.Config()
    config.js = []
    config.disable_xml_declaration = True
    config.no_data_text = NO_DATA
    config.style = STYLE
    config.width, config.height = 800, 400
    config.legend_at_bottom = True
    config.truncate_legend = -1
    config.truncate_label = -1
    config.margin = 16
    chart = kind(config, **options)
    chart.add_xml_filter(_without_scripts)
    return chart


def _words(pairs, unit: str = "") -> str:
    parts = [f"{label}: {value}{unit}" for label, value in pairs if value is not None]
    return "; ".join(parts) + "." if parts else "No data for this period."


# --- Table 2 as bars ------------------------------------------------------------------------------

CATEGORY_METRICS = {
    # name: (row key, title, y axis title, unit in words)
    "requests": ("requests", "Requests per category", "Requests", ""),
    "generation-time": (
        "avg_generation_seconds",
        "Average generation time per category",
        "Seconds per request",
        " s",
    ),
    "brand-consistency": (
        "avg_brand_consistency",
        "Average brand consistency per category",
        "Brand consistency (0-100)",
        "",
    ),
}


CAPTION_NOTES = {
    "generation-time": " Succeeded requests that ran on the GPU, from start to finish; cache hits excluded.",
    "brand-consistency": " Over every generated image of the category's requests.",
}


def category_chart(rows: list[dict], name: str) -> Chart:
    key, title, y_title, unit = CATEGORY_METRICS[name]
    pairs = [(row["category"], row[key]) for row in rows]
    chart = _chart(pygal.Bar, title=title, x_title="Product category", y_title=y_title, x_label_rotation=20)
    if any(value is not None for _, value in pairs):
        chart.x_labels = [label for label, _ in pairs]
        chart.add(y_title, [value for _, value in pairs])
    if name == "brand-consistency":
        chart.range = (0, 100)
    caption = f"{title} (the paper's Table 2), over the chosen period and brand." + CAPTION_NOTES.get(
        name, ""
    )
    return Chart(name, title, caption, _words(pairs, unit), chart.render())


# --- the queue over time ----------------------------------------------------------------------------


def timeline_chart(points: list[dict], bucket: str) -> Chart:
    per = "hour" if bucket == "hour" else "day"
    title = f"Queue depth and throughput per {per}"
    chart = _chart(
        pygal.Line,
        title=title,
        x_title="Hour (local time)" if per == "hour" else "Day",
        y_title="Requests",
        x_label_rotation=30,
        show_minor_x_labels=False,
        dots_size=2,
    )
    if points:
        fmt = "%d %b %H:00" if per == "hour" else "%d %b"
        chart.x_labels = [point["start"].strftime(fmt) for point in points]
        chart.x_labels_major_every = max(1, len(points) // 12)
        chart.add("Queue depth", [point["queue_depth"] for point in points])
        chart.add("Submitted", [point["submitted"] for point in points])
        chart.add("Finished (throughput)", [point["finished"] for point in points])
        chart.add("Succeeded", [point["succeeded"] for point in points])
    caption = (
        f"Requests waiting (submitted, not started) at the end of each {per}, and the requests "
        f"submitted, finished and succeeded in it."
    )
    description = (
        f"{len(points)} {per}s; most waiting at once: {max(p['queue_depth'] for p in points)}; "
        f"submitted: {sum(p['submitted'] for p in points)}; finished: {sum(p['finished'] for p in points)}; "
        f"succeeded: {sum(p['succeeded'] for p in points)}."
        if points
        else "No data for this period."
    )
    return Chart("timeline", title, caption, description, chart.render())


# --- failures, cache, cost ----------------------------------------------------------------------------


def _count_ticks(top: int, *, most: int = 10) -> list[int]:
    """Whole-number ticks from 0 to at least ``top`` (counts have no fractions), at most ``most``+1."""
    step = max(1, -(-top // most))
    return list(range(0, top + step, step))


def failures_chart(reasons: list[dict]) -> Chart:
    title = "Failures and rejections by reason"
    chart = _chart(pygal.HorizontalBar, title=title, y_title="Count", show_legend=False)
    if reasons:
        chart.x_labels = [row["label"] for row in reasons]
        chart.add("Count", [row["count"] for row in reasons])
        chart.y_labels = _count_ticks(max(row["count"] for row in reasons))
    caption = (
        "Failed and rejected requests by status and error code, and ordered designs the shop "
        "rejected in review."
    )
    return Chart(
        "failures", title, caption, _words((r["label"], r["count"]) for r in reasons), chart.render()
    )


def cache_chart(cache: dict) -> Chart:
    title = "Result cache: hits and misses"
    chart = _chart(pygal.Pie, title=title, inner_radius=0.45)
    if cache["succeeded"]:
        chart.add("Cache hits (no GPU)", cache["hits"])
        chart.add("Generated on the GPU", cache["misses"])
    rate = cache["hit_rate"]
    caption = "Succeeded requests answered from the result cache vs generated."
    description = (
        f"{cache['hits']} of {cache['succeeded']} succeeded requests were cache hits ({rate:.1f}%)."
        if rate is not None
        else "No data for this period."
    )
    return Chart("cache", title, caption, description, chart.render())


def cost_chart(cost: dict) -> Chart:
    prices = cost["prices"]
    title = "Cost per design: AI vs a human designer"
    rows = [row for row in [*cost["rows"], cost["total"]] if row["ai_cost_per_design"] is not None]
    chart = _chart(
        pygal.Bar,
        title=title,
        x_title="Product category",
        y_title=f"{prices.currency} per design",
        logarithmic=True,
        print_values=True,
        x_label_rotation=20,
        value_formatter=lambda value: f"{value:.2g}",
    )
    if rows:
        ai = [float(row["ai_cost_per_design"]) or None for row in rows]
        designer = [float(row["designer_cost_per_design"]) or None for row in rows]
        drawn = [value for value in [*ai, *designer] if value]
        if drawn:  # bars rise from a whole decade below the smallest value; one label per decade
            low, high = math.floor(math.log10(min(drawn))) - 1, math.ceil(math.log10(max(drawn)))
            chart.range = (10.0**low, 10.0**high)
            chart.zero = 10.0**low
            chart.y_labels = [10.0**power for power in range(low, high + 1)]
        chart.x_labels = [row["category"] for row in rows]
        chart.add("AI (GPU time)", ai)
        chart.add("Human designer", designer)
    caption = (
        f"Measured GPU seconds per design x {prices.gpu_price_per_hour} {prices.currency} per GPU hour, "
        f"against {prices.designer_cost_per_design} {prices.currency} per design by a designer "
        "(logarithmic scale: the two differ by orders of magnitude)."
    )
    description = _words(
        (row["category"], f"AI {row['ai_cost_per_design']:.4f} vs designer {row['designer_cost_per_design']}")
        for row in rows
    )
    return Chart("cost", title, caption, description, chart.render())


def dashboard_charts(figures: dict) -> list[Chart]:
    """Every chart of ``analytics.dashboard(...)``'s figures, in the page's order."""
    period = figures["period"]
    return [
        *(category_chart(figures["categories"], name) for name in CATEGORY_METRICS),
        timeline_chart(figures["timeline"], period.bucket),
        failures_chart(figures["failures"]),
        cache_chart(figures["cache"]),
        cost_chart(figures["cost"]),
    ]
