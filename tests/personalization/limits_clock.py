"""Keep a test's few requests inside one window of the rate limits.

The windows of ``personalization.limits`` are aligned to the clock (a per-minute rate starts afresh
at every full minute), so three requests sent at 12:00:59.9 may see two windows. This shifts the
clock ``limits`` reads so that it starts at 00:00:00 UTC of today, when every window (second,
minute, hour, day) begins, and then runs at the real pace: a test has a full window before the
first edge, and waiting still works.
"""

from datetime import UTC, datetime

from django.utils import timezone

from personalization import limits


def start_at_window_edge(monkeypatch) -> datetime:
    real_start = timezone.now()
    shifted_start = datetime.combine(real_start.astimezone(UTC).date(), datetime.min.time(), tzinfo=UTC)
    monkeypatch.setattr(limits, "now", lambda: shifted_start + (timezone.now() - real_start))
    return shifted_start
