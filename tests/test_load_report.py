"""The pure parts of `make load` (scripts/load_report.py): percentiles, the per-endpoint rows, the
markdown table, the verdict and the plot. locust itself never runs in the test suite."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import load_report  # noqa: E402


def test_percentile_interpolates_between_ranks():
    samples = [40, 10, 30, 20]  # unsorted on purpose
    assert load_report.percentile(samples, 0) == 10
    assert load_report.percentile(samples, 50) == 25
    assert load_report.percentile(samples, 100) == 40
    assert load_report.percentile(list(range(1, 101)), 95) == pytest.approx(95.05)
    assert load_report.percentile([], 50) is None
    with pytest.raises(ValueError, match="0..100"):
        load_report.percentile([1], 101)


def _result(**endpoints):
    return {"duration_s": 10, "endpoints": endpoints}


def test_rows_count_429_apart_and_keep_them_out_of_the_latencies():
    result = _result(
        **{
            "status api": {"times_ms": [10, 20, 30], "statuses": {"200": 3}},
            "submit api": {"times_ms": [100, 300], "statuses": {"202": 2, "429": 4, "0": 1, "403": 1}},
        }
    )
    rows = {row.endpoint: row for row in load_report.endpoint_rows(users=50, result=result)}
    assert set(rows) == {"status api", "submit api"}
    submit = rows["submit api"]
    assert (submit.requests, submit.throttled, submit.server_errors, submit.other_errors) == (8, 4, 0, 2)
    assert submit.p50 == 200
    assert submit.per_second == pytest.approx(0.8)
    assert rows["status api"].p99 == pytest.approx(29.8)


def test_markdown_table_has_one_line_per_level_and_endpoint():
    rows = load_report.endpoint_rows(
        users=200, result=_result(**{"status job card": {"times_ms": [120.4], "statuses": {"286": 1}}})
    )
    table = load_report.markdown_table(rows).splitlines()
    assert table[0].startswith("| users | endpoint | requests | p50 ms | p95 ms | p99 ms | 5xx | 429 |")
    assert table[2] == "| 200 | status job card | 1 | 120 | 120 | 120 | 0 | 0 | 0 | 0.1 |"
    assert "**met**" in load_report.goal_verdict(rows)
    assert "No status poll" in load_report.goal_verdict(rows, users=100)


def test_any_server_error_or_lost_request_fails_the_run_and_429s_do_not():
    ok = load_report.endpoint_rows(
        users=50, result=_result(**{"submit api": {"times_ms": [5], "statuses": {"202": 1, "429": 9}}})
    )
    clean = load_report.Reconciliation(acknowledged=1, stuck={"queued_stuck": 0})
    assert load_report.failures(ok, clean) == []

    broken = load_report.endpoint_rows(
        users=50, result=_result(**{"status api": {"times_ms": [5, 9], "statuses": {"200": 1, "502": 1}}})
    )
    assert load_report.failures(broken, clean) == ["1 server errors (5xx)"]
    lost = load_report.Reconciliation(acknowledged=3, lost=1, duplicated=2, stuck={"queued_stuck": 1})
    reasons = load_report.failures(ok, lost)
    assert len(reasons) == 3
    assert "lost" in reasons[0] and "duplicated" in reasons[1] and "queued_stuck" in reasons[2]


def test_abs_pct_errors_skip_missing_predictions():
    assert load_report.abs_pct_errors([(12, 10), (None, 10), (5, 0), (10, 20)]) == [20.0, 50.0]


def test_plot_writes_a_png(tmp_path):
    rows = []
    for users, base in ((50, 20), (100, 40), (200, 90)):
        rows += load_report.endpoint_rows(
            users=users,
            result=_result(**{"status api": {"times_ms": [base, base * 2], "statuses": {"200": 2}}}),
        )
    load_report.plot(rows, tmp_path / "scaling.png")
    assert (tmp_path / "scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cpu_table_shows_each_parts_share_per_level_and_the_total():
    table = load_report.cpu_table({50: {"gunicorn": 40.0, "locust": 10.5}, 200: {"gunicorn": 80.0}})
    lines = table.splitlines()
    assert lines[3] == "| users | gunicorn | locust | total |"
    assert lines[5] == "| 50 | 40.0 % | 10.5 % | 50.5 % |"
    assert lines[6] == "| 200 | 80.0 % | 0.0 % | 80.0 % |"
    assert load_report.cpu_table({}) == ""
