"""The pure parts of `make load` (scripts/load.py): percentiles of the recorded response times, one
summary row per endpoint and level, the reconciliation and ETA-error figures, the verdict (exit
status), the markdown table of docs/SCALING.md and the response-time-versus-users plot.

No Django, no locust: the load script feeds it what the clients recorded (scripts/locustfile.py
writes one JSON file per level) and what the database said afterwards.
"""

import math
from dataclasses import dataclass, field

# The endpoints the simulated customers call, in the order of the table and the plot's legend.
ENDPOINTS = ("submit api", "submit studio", "status api", "status job card")
PERCENTILES = (50, 95, 99)
STATUS_GOAL_MS = 150.0  # issue 14: status poll p95 under 150 ms at 200 users


def percentile(samples, pct: float) -> float | None:
    """The ``pct``-th percentile by linear interpolation between closest ranks (numpy's default);
    None when there are no samples."""
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile must lie in 0..100, not {pct}")
    values = sorted(samples)
    if not values:
        return None
    rank = (len(values) - 1) * pct / 100
    low, high = math.floor(rank), math.ceil(rank)
    return values[low] + (values[high] - values[low]) * (rank - low)


@dataclass
class EndpointRow:
    """One endpoint at one concurrency level."""

    users: int
    endpoint: str
    requests: int
    p50: float | None
    p95: float | None
    p99: float | None
    server_errors: int  # 5xx
    throttled: int  # 429, counted apart from the errors
    other_errors: int  # connection errors, timeouts, 4xx other than 429
    per_second: float


def endpoint_rows(*, users: int, result: dict) -> list[EndpointRow]:
    """The rows of one level from the locustfile's result: ``{"duration_s", "endpoints": {name:
    {"times_ms": [...], "statuses": {"202": n, ...}}}}``. Latency percentiles are taken over the
    answers that were not 429 (a throttled request is counted apart); status "0" is a request that
    got no HTTP answer (connection error, timeout)."""
    duration = max(float(result.get("duration_s") or 0), 1e-9)
    rows = []
    for name in ENDPOINTS:
        data = result.get("endpoints", {}).get(name)
        if not data:
            continue
        statuses = {int(code): int(count) for code, count in data.get("statuses", {}).items()}
        times = data.get("times_ms", [])
        total = sum(statuses.values())
        rows.append(
            EndpointRow(
                users=users,
                endpoint=name,
                requests=total,
                p50=percentile(times, 50),
                p95=percentile(times, 95),
                p99=percentile(times, 99),
                server_errors=sum(n for code, n in statuses.items() if code >= 500),
                throttled=statuses.get(429, 0),
                other_errors=sum(
                    n for code, n in statuses.items() if code == 0 or (400 <= code < 500 and code != 429)
                ),
                per_second=total / duration,
            )
        )
    return rows


def abs_pct_errors(pairs) -> list[float]:
    """|predicted - actual| / actual in percent, for (predicted_s, actual_s) pairs with a prediction
    and a positive actual duration."""
    return [
        100 * abs(predicted - actual) / actual
        for predicted, actual in pairs
        if predicted is not None and actual is not None and actual > 0
    ]


@dataclass
class Reconciliation:
    """Every submit a client got a 201/202 for must be exactly one row; none may be stuck."""

    acknowledged: int = 0  # submits the clients got 201/202 for
    lost: int = 0  # acknowledged ids with no row
    duplicated: int = 0  # rows beyond the first for one submit (same customer and seed)
    unacknowledged: int = 0  # rows the clients got no 201/202 for (a timeout, a 5xx after the write)
    stuck: dict = field(default_factory=dict)  # personalization_reconcile's counts
    unfinished: int = 0  # queued or running when the drain wait ended


def failures(rows: list[EndpointRow], reconciliation: Reconciliation) -> list[str]:
    """Why `make load` fails (empty: it passes): any 5xx, any lost or duplicated request, any stuck
    one. Throttled requests (429) and slow answers are reported, never a failure."""
    reasons = []
    server_errors = sum(row.server_errors for row in rows)
    if server_errors:
        reasons.append(f"{server_errors} server errors (5xx)")
    if reconciliation.lost:
        reasons.append(f"{reconciliation.lost} acknowledged submits have no row (lost)")
    if reconciliation.duplicated:
        reasons.append(f"{reconciliation.duplicated} submits made more than one row (duplicated)")
    stuck = sum(reconciliation.stuck.values())
    if stuck:
        reasons.append(f"reconciliation counts are not zero: {reconciliation.stuck}")
    return reasons


def ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def markdown_table(rows: list[EndpointRow]) -> str:
    """The table of docs/SCALING.md: one line per level and endpoint."""
    lines = [
        "| users | endpoint | requests | p50 ms | p95 ms | p99 ms | 5xx | 429 | other errors | req/s |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.users} | {row.endpoint} | {row.requests} | {ms(row.p50)} | {ms(row.p95)} | "
            f"{ms(row.p99)} | {row.server_errors} | {row.throttled} | {row.other_errors} | "
            f"{row.per_second:.1f} |"
        )
    return "\n".join(lines)


def goal_verdict(rows: list[EndpointRow], *, users: int = 200, goal_ms: float = STATUS_GOAL_MS) -> str:
    """One sentence: the status endpoints' p95 at ``users`` against the goal."""
    status = [r for r in rows if r.users == users and r.endpoint.startswith("status") and r.p95 is not None]
    if not status:
        return f"No status poll was measured at {users} users."
    worst = max(status, key=lambda r: r.p95)
    met = worst.p95 < goal_ms and not any(r.server_errors for r in rows if r.users == users)
    return (
        f"Status poll p95 at {users} users: {worst.p95:.0f} ms ({worst.endpoint}, the slower of the two) "
        f"against the {goal_ms:.0f} ms goal: **{'met' if met else 'not met'}**."
    )


def plot(rows: list[EndpointRow], path, *, goal_ms: float = STATUS_GOAL_MS) -> None:
    """Response time versus concurrent users, one colour per endpoint, p50/p95/p99 as solid, dashed
    and dotted lines, the goal as a grey dashed line (the manner of the paper's Figure 6). Only
    positive times can be drawn on the log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5), dpi=120)
    styles = {50: "-", 95: "--", 99: ":"}
    colours = dict(zip(ENDPOINTS, ("#d62728", "#9467bd", "#1f77b4", "#2ca02c"), strict=True))
    for endpoint in ENDPOINTS:
        mine = sorted((r for r in rows if r.endpoint == endpoint), key=lambda r: r.users)
        if not mine:
            continue
        for pct in PERCENTILES:
            points = [(r.users, getattr(r, f"p{pct}")) for r in mine if (getattr(r, f"p{pct}") or 0) > 0]
            if points:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, styles[pct], marker="o", color=colours[endpoint], label=f"{endpoint} p{pct}")
    goal = f"goal: status p95 < {goal_ms:.0f} ms"
    ax.axhline(goal_ms, color="grey", linestyle="--", linewidth=1, label=goal)
    ax.set_xlabel("concurrent users")
    # A log scale: the goal (150 ms) and submits of seconds on one readable axis.
    ax.set_yscale("log")
    ax.set_ylabel("response time (ms, log scale)")
    ax.set_title("Response time vs concurrent users (gunicorn, loopback)")
    levels = sorted({r.users for r in rows})
    if levels:
        ax.set_xticks(levels)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def cpu_table(cpu_shares: dict) -> str:
    """Where the CPU went, per level: each part's share of all the machine's CPUs (100 % = every
    core busy) while the level ran."""
    names = sorted({name for shares in cpu_shares.values() for name in shares})
    if not names:
        return ""
    lines = [
        "Where the CPU went (share of all the machine's CPUs while each level ran; `postgres` counts every",
        "PostgreSQL process on the machine):",
        "",
        "| users | " + " | ".join(names) + " | total |",
        "|---:|" + "---:|" * (len(names) + 1),
    ]
    for users, shares in cpu_shares.items():
        cells = [f"{shares.get(name, 0.0):.1f} %" for name in names]
        lines.append(f"| {users} | " + " | ".join(cells) + f" | {sum(shares.values()):.1f} % |")
    return "\n".join(lines)
