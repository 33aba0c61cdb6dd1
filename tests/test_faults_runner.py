"""The fault suite's runner (scripts/faults.py, ``make faults``): its pure parts only (the report, the
aggregation, the exit status). The suite itself runs real workers for minutes: never inside pytest."""

import json
from dataclasses import asdict

from scripts import faults
from scripts.faults import CASES, Result, exit_code, missing_results, render_markdown

META = {
    "date": "2026-12-03 22:00 UTC",
    "machine": "ci (x86_64, 2 CPUs)",
    "seconds": 201.4,
    "settings": {"LEASE_SECONDS": 5},
}


def passed(case: str, broker: str, **kw) -> Result:
    return Result(case=case, broker=broker, passed=True, **kw)


def test_every_case_is_written_with_its_result_per_broker_and_the_figures():
    results = [
        passed(
            "kill_worker",
            "orm",
            seconds=9.0,
            recovery_seconds=7.25,
            attempts="2",
            reconcile={"orphan_files": 0},
        ),
        passed("kill_worker", "redis", recovery_seconds=6.0, attempts="2", facts={"answers": "302 / 302"}),
        passed("redis_restart", "redis", recovery_seconds=12.0, attempts="1,1,1,1"),
    ]
    text = render_markdown(results, meta=META)
    assert "| Case | orm | redis |" in text
    assert "| `kill_worker` | pass, 7.2 s, attempts 2 | pass, 6.0 s, attempts 2 |" in text
    assert "| `redis_restart` | n/a | pass, 12.0 s, attempts 1,1,1,1 |" in text  # Redis only
    assert "| `kill_worker` | orm | 9.0 | orphan_files 0 |  |" in text
    assert "answers: 302 / 302" in text
    assert "**Result: all cases pass.**" in text and "2026-12-03 22:00 UTC" in text and "201 s" in text
    assert "make faults" in text and "LEASE_SECONDS 5" in text
    assert "## Failures" not in text
    assert "`storage_down`" not in text  # a case not run is not listed
    kill = next(case for case in CASES if case.name == "kill_worker")
    assert kill.injection in text and kill.expected in text


def test_a_failed_case_is_marked_listed_with_its_problems_and_fails_the_run():
    results = [
        passed("kill_worker", "orm"),
        Result(case="storage_down", broker="orm", passed=False, problems=["orphan_files 1", "attempts 2"]),
    ]
    text = render_markdown(results, meta=META)
    assert "| `storage_down` | **FAIL** |" in text
    assert "**Result: 1 case(s) FAIL.**" in text
    assert "- `storage_down` (orm): orphan_files 1; attempts 2" in text
    assert exit_code(results) == 1
    assert exit_code(results[:1]) == 0
    assert exit_code([]) == 1  # nothing ran: not a pass


def test_a_phase_that_reported_nothing_counts_as_failed_for_each_of_its_cases():
    reported = [passed("kill_worker", "orm")]
    missing = missing_results(reported, brokers=["orm", "redis"], cases=["kill_worker", "redis_restart"])
    assert {(r.case, r.broker) for r in missing} == {("kill_worker", "redis"), ("redis_restart", "redis")}
    assert all(not r.passed and r.problems for r in missing)  # redis_restart is not asked of orm
    assert exit_code(reported + missing) == 1


def test_results_travel_between_the_phase_and_the_parent_as_json():
    result = Result(case="db_dropped", broker="redis", passed=True, recovery_seconds=3.5, facts={"x": 1})
    assert Result.from_json(json.loads(json.dumps(asdict(result)))) == result


def test_an_unknown_case_or_broker_is_refused_before_anything_starts(capsys):
    assert faults.main(["--only", "kill_worker,nope"]) == 2
    assert "unknown case 'nope'" in capsys.readouterr().err
    assert faults.main(["--broker", "rabbit"]) == 2
    assert "unknown broker 'rabbit'" in capsys.readouterr().err


def test_each_case_has_an_implementation():
    from importlib.util import find_spec

    assert find_spec("tests.faults.cases") is not None
    source = (faults.ROOT / "tests" / "faults" / "cases.py").read_text()
    for case in CASES:
        assert f"def case_{case.name}(" in source
