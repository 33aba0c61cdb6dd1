"""The fault-injection suite (issue 14; ``make faults``): each fault with the REAL GPU worker
(``manage.py run_gpu_worker``, the tiny random-weight pipeline) on a throwaway PostgreSQL database,
once with django-q2's ORM broker and once with Redis (a redis-server of its own, so it can be
restarted). After each fault the system is left to settle (bounded waits on the rows), then the
reconciliation (``personalization.reconcile``) and the case's own expectations are checked. The
result table goes to docs/RELIABILITY.md; the exit status is 1 when any case fails.

    .venv/bin/python scripts/faults.py                         # both brokers, every case
    .venv/bin/python scripts/faults.py --broker redis --only kill_worker,redis_restart
    .venv/bin/python scripts/faults.py --out /tmp/RELIABILITY.md

DATABASE_URL names the PostgreSQL server (default postgres://postgres@127.0.0.1:5432/postgres); the
suite creates its databases there and drops them at the end. Each broker runs in a child process
of its own (``--phase``), both at once. Faults are injected from outside: signals to the real
processes (the heartbeat rows say which process runs which request), a restarted redis-server, and
a private storage that fails writes or drops its database connection on demand
(``tests/faults/storage.py``, named by ``tests/faults/settings.py``): no hook in the plugin's code.
"""

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BROKERS = ("orm", "redis")
SETTINGS = "tests.faults.settings"
COMMAND = ".venv/bin/python scripts/faults.py"
# The worker's settings in every process of the suite (the runner reads the same through conf).
LEASE_SECONDS = 5
MAX_ATTEMPTS = 3
TASK_TIMEOUT = 15
STALE_SECONDS = 12
SWEEP_INTERVAL = 0.5
# Every wait is bounded; on a loaded machine (CI, others' tests) three times what an idle one needs.
SLOW = float(os.environ.get("FAULTS_SLOW", "3"))


# --- the cases: what each fault is, how it is injected, what must hold ----------------------------


@dataclass(frozen=True)
class Case:
    name: str
    fault: str
    injection: str
    expected: str
    brokers: tuple[str, ...] = BROKERS


CASES = (
    Case(
        "storage_retry",
        "The storage fails twice on write after generation.",
        "tests/faults/storage.py fails the next 2 design or mockup writes (OSError: disk full).",
        "The writes are retried with the pictures kept in memory; the request succeeds on attempt 1.",
    ),
    Case(
        "storage_down",
        "The storage fails every write after generation.",
        "tests/faults/storage.py fails every design and mockup write.",
        "After STORAGE_RETRIES the request fails `storage_error`, refunded, no file left behind.",
    ),
    Case(
        "reference_missing",
        "The reference picture is deleted before the worker starts.",
        "The reference file deleted from storage in the submit's transaction, before its wake-up.",
        "The request fails `input_missing`, refunded, on attempt 1, without running the GPU.",
    ),
    Case(
        "db_dropped",
        "The database connection drops between storing the image and committing its row.",
        "tests/faults/storage.py ends the worker's own connection (`pg_terminate_backend`) right after "
        "it stores a design.",
        "The write is retried on a fresh connection; the request succeeds; no file without its row.",
    ),
    Case(
        "double_delivery",
        "The same task is delivered twice at once.",
        "The request's wake-up enqueued twice in one commit, two worker processes idle.",
        "One worker claims it (compare-and-set); the other does nothing; one set of pictures, attempt 1.",
    ),
    Case(
        "double_checkout",
        "Checkout is submitted twice at once.",
        "Two concurrent POSTs of the real checkout view (two threads, two checkout tokens, one cart).",
        "One order, both answered with a redirect to it (no 500); its design files exist.",
    ),
    Case(
        "kill_worker",
        "A worker process is killed (`kill -9`) mid-generation.",
        "SIGKILL to the pid of the heartbeat row whose worker holds the running request.",
        "django-q2 starts another worker process; the sweeper requeues the row when its lease ends; it "
        "succeeds on attempt 2.",
    ),
    Case(
        "graceful_stop",
        "A worker process is stopped gracefully (`SIGTERM`) mid-generation.",
        "SIGTERM to the busy worker's pid.",
        "The batch stops at its next step and releases the row without using an attempt; it succeeds "
        "on attempt 1.",
    ),
    Case(
        "task_timeout",
        "A task runs past the GPU cluster's task timeout (on its last attempt).",
        f"tests/faults/storage.py makes the design's write hang (a storage call that never returns); "
        f"the task timeout is {TASK_TIMEOUT} s; the row's earlier attempts are marked used "
        "(MAX_ATTEMPTS - 1) in its submit's transaction.",
        "django-q2 stops the task and replaces its process; when the lease ends the sweeper fails the "
        "row `worker_lost` (no attempt left), its quota refunded.",
    ),
    Case(
        "hung_worker",
        "A worker process hangs mid-generation (`SIGSTOP`).",
        "SIGSTOP to the busy worker's pid.",
        "Its heartbeat goes silent; run_gpu_worker's watchdog kills and restarts its cluster after "
        "WORKER_STALE_SECONDS; the request succeeds on attempt 2.",
    ),
    Case(
        "timeout_below_load",
        "The task timeout is shorter than loading the model takes.",
        "`run_gpu_worker` started with PERSONALIZATION_TASK_TIMEOUT=1 after a worker measured its load.",
        "It refuses to start (exit status 1), naming the timeout it needs.",
    ),
    Case(
        "cluster_restart",
        "The whole GPU worker is stopped with requests queued, then started again.",
        "SIGTERM to `run_gpu_worker` while one request runs; three more submitted while it is down; "
        "then started again.",
        "The running request is released (no attempt used); all succeed on attempt 1 after the restart.",
    ),
    Case(
        "redis_restart",
        "Redis restarts with requests queued (its messages are lost); the broker is down meanwhile.",
        "Worker stopped; three requests queued; redis-server killed (no persistence); a studio POST "
        "while it is down; redis-server and the worker started again.",
        "The studio POST redirects (no 500); the sweeper wakes every lost request; all succeed on attempt 1.",
        ("redis",),
    ),
)
CASE_NAMES = tuple(case.name for case in CASES)


@dataclass
class Result:
    case: str
    broker: str
    passed: bool
    seconds: float = 0.0
    recovery_seconds: float | None = None
    attempts: str = ""
    reconcile: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    facts: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict) -> "Result":
        return cls(**data)


# --- pure parts: aggregation, the report, the exit status ------------------------------------------


def missing_results(results: list[Result], *, brokers, cases) -> list[Result]:
    """A failed result for every (case, broker) asked for that no phase reported (a phase that crashed
    or ran out of time)."""
    seen = {(r.case, r.broker) for r in results}
    by_name = {case.name: case for case in CASES}
    return [
        Result(case=name, broker=broker, passed=False, problems=["no result: the phase did not finish"])
        for broker in brokers
        for name in cases
        if broker in by_name[name].brokers and (name, broker) not in seen
    ]


def exit_code(results: list[Result]) -> int:
    return 0 if results and all(r.passed for r in results) else 1


def _cell(result: Result | None) -> str:
    if result is None:
        return "n/a"
    verdict = "pass" if result.passed else "**FAIL**"
    parts = [verdict]
    if result.recovery_seconds is not None:
        parts.append(f"{result.recovery_seconds:.1f} s")
    if result.attempts:
        parts.append(f"attempts {result.attempts}")
    return ", ".join(parts)


def render_markdown(results: list[Result], *, meta: dict) -> str:
    """docs/RELIABILITY.md: the faults, how each is injected, what is expected, then the results."""
    brokers = [b for b in BROKERS if any(r.broker == b for r in results)]
    by_key = {(r.case, r.broker): r for r in results}
    failed = [r for r in results if not r.passed]
    lines = [
        "# Reliability: the fault suite",
        "",
        "Written by `make faults` (`scripts/faults.py`); do not edit by hand. Each fault is injected "
        "into the REAL GPU worker (`manage.py run_gpu_worker`, django-q2 cluster `gpu`, the tiny "
        "random-weight pipeline on the CPU) on PostgreSQL, once with django-q2's ORM broker and once "
        "with Redis. After each, the suite waits for the rows to settle (bounded), then runs the "
        "reconciliation (`personalization.reconcile`, also `manage.py personalization_reconcile`): no "
        "request lost, none stuck, none run twice, no stored object without its row, no order line "
        "pointing at a missing file. How the worker handles each failure: "
        "[WORKER.md](WORKER.md#failure-modes).",
        "",
        f"**Result: {'all cases pass' if not failed else f'{len(failed)} case(s) FAIL'}.** "
        f"Run {meta.get('date', '?')} on {meta.get('machine', '?')}, {meta.get('seconds', 0):.0f} s "
        "in all.",
        "",
        "Reproduce: `make faults` (or `" + COMMAND + " --broker orm,redis --out docs/RELIABILITY.md`; "
        "`--only CASE,...` for some cases). Worker settings of the run: "
        + ", ".join(f"{k} {v}" for k, v in meta.get("settings", {}).items())
        + ".",
        "",
        "## Results",
        "",
        "Recovery: seconds from the fault to the last of the case's requests settling (or the case's "
        "answer). Attempts: the claims the case's requests used.",
        "",
        "| Case | " + " | ".join(brokers) + " |",
        "|---|" + "---|" * len(brokers),
    ]
    for case in CASES:
        if not any((case.name, b) in by_key for b in brokers):
            continue
        cells = [_cell(by_key.get((case.name, b))) for b in brokers]
        lines.append(f"| `{case.name}` | " + " | ".join(cells) + " |")
    lines += ["", "## The faults", "", "| Case | Fault | Injected by | Expected |", "|---|---|---|---|"]
    for case in CASES:
        if any((case.name, b) in by_key for b in brokers):
            lines.append(f"| `{case.name}` | {case.fault} | {case.injection} | {case.expected} |")
    lines += [
        "",
        "## Reconciliation after each case",
        "",
        "Seconds: the whole case, waits for worker processes to load included. Counts over the whole "
        "database after the case settled (every one must be 0): `running_stuck`, "
        "`queued_stuck` (stuck after 0 s: nothing may be left queued or running), `run_twice` (a request "
        "claimed more than MAX_ATTEMPTS times or with more pictures than variations), `orphan_files` "
        "(grace 0 s), `line_files_missing`, `print_files_failed`.",
        "",
        "| Case | Broker | Seconds | Reconciliation | Facts |",
        "|---|---|---|---|---|",
    ]
    for case in CASES:
        for broker in brokers:
            result = by_key.get((case.name, broker))
            if result is None:
                continue
            counts = ", ".join(f"{k} {v}" for k, v in result.reconcile.items()) or "not run"
            facts = "; ".join(f"{k}: {v}" for k, v in result.facts.items())
            lines.append(f"| `{case.name}` | {broker} | {result.seconds:.1f} | {counts} | {facts} |")
    if failed:
        lines += ["", "## Failures", ""]
        for result in failed:
            lines.append(f"- `{result.case}` ({result.broker}): " + "; ".join(map(str, result.problems)))
    return "\n".join(lines) + "\n"


# --- processes --------------------------------------------------------------------------------------


def wait_for(condition: Callable, *, timeout: float, interval: float = 0.2, what: str = "condition"):
    """Poll ``condition()`` until truthy, at most ``timeout`` seconds (x SLOW); raise TimeoutError."""
    deadline = time.monotonic() + timeout * SLOW
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout * SLOW:.0f} s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_group(proc: subprocess.Popen | None, *, sig=signal.SIGTERM, timeout: float = 20.0) -> None:
    """Stop ``proc`` and its process group: ``sig``, then SIGKILL after ``timeout`` seconds."""
    if proc is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGCONT)  # a stopped process takes no signal but SIGKILL
        os.killpg(proc.pid, sig)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # whatever of the group is left
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


class Redis:
    """A redis-server of the suite's own, without persistence: a restart loses every message."""

    def __init__(self, base: Path):
        self.port = free_port()
        self.base = base
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = (self.base / f"redis-{self.port}.log").open("ab")
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            cwd=self.base,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self._answers, timeout=10, what="redis-server to answer")

    def _answers(self) -> bool:
        import redis

        try:
            return redis.Redis.from_url(self.url, socket_timeout=1).ping()
        except redis.exceptions.ConnectionError:
            return False

    def kill(self) -> None:
        stop_group(self.proc, sig=signal.SIGKILL, timeout=5)
        self.proc = None


def admin_url(database_url: str) -> str:
    parts = urlsplit(database_url or "postgres://postgres@127.0.0.1:5432/postgres")
    if not parts.scheme.startswith("postgres"):
        parts = urlsplit("postgres://postgres@127.0.0.1:5432/postgres")
    return urlunsplit(parts._replace(path="/postgres"))


def database_url(admin: str, name: str) -> str:
    return urlunsplit(urlsplit(admin)._replace(path=f"/{name}"))


def sql(admin: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(statement)


# --- the parent: databases, models, one phase per broker, the report ------------------------------


def run_suite(args) -> int:
    started = time.monotonic()
    brokers = [b.strip() for b in args.broker.split(",") if b.strip()]
    cases = [c.strip() for c in args.only.split(",") if c.strip()] if args.only else list(CASE_NAMES)
    for name in cases:
        if name not in CASE_NAMES:
            print(f"unknown case {name!r}; cases: {', '.join(CASE_NAMES)}", file=sys.stderr)
            return 2
    for broker in brokers:
        if broker not in BROKERS:
            print(f"unknown broker {broker!r}; brokers: {', '.join(BROKERS)}", file=sys.stderr)
            return 2
    base = Path(tempfile.mkdtemp(prefix="faults-"))
    admin = admin_url(os.environ.get("DATABASE_URL", ""))
    tag = f"faults_{os.getpid()}"
    made: list[str] = []
    phases: list[tuple[str, subprocess.Popen, Path]] = []
    results: list[Result] = []
    interrupted = False
    try:
        print(f"fault suite: {', '.join(brokers)} x {len(cases)} cases, work folder {base}", flush=True)
        sql(admin, f'CREATE DATABASE "{tag}_tpl"')
        made.append(f"{tag}_tpl")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "DATABASE_URL": database_url(admin, f"{tag}_tpl"),
            "FAULTS_CONTROL_DIR": str(base),
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("REDIS_URL", None)
        env.pop("CACHE_URL", None)
        steps = [
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            [
                sys.executable,
                "-c",
                "import sys; from pathlib import Path; from personalization.engine.tiny import "
                "build_tiny_pipeline; from personalization.presets import BUILT_IN; "
                "[build_tiny_pipeline(Path(sys.argv[1]) / f'tiny-{n}', preset=n) for n in BUILT_IN]",
                str(base / "models"),
            ],
        ]
        with (base / "setup.log").open("wb") as log:  # both at once
            running = [subprocess.Popen(step, cwd=ROOT, env=env, stdout=log, stderr=log) for step in steps]
            try:
                for step, proc in zip(steps, running, strict=True):
                    if proc.wait(timeout=300 * SLOW):
                        raise RuntimeError(f"{step[:3]} failed: {(base / 'setup.log').read_text()[-3000:]}")
            finally:
                for proc in running:
                    if proc.poll() is None:
                        proc.kill()
        print(
            f"fault suite: migrated and built the tiny models in {time.monotonic() - started:.0f} s",
            flush=True,
        )
        for broker in brokers:
            name = f"{tag}_{broker}"
            sql(admin, f'CREATE DATABASE "{name}" TEMPLATE "{tag}_tpl"')
            made.append(name)
            out = base / f"{broker}.json"
            phase_env = {**env, "DATABASE_URL": database_url(admin, name)}
            log = (base / f"{broker}.log").open("wb")
            proc = subprocess.Popen(
                [sys.executable, __file__, "--phase", broker, "--only", ",".join(cases), "--json", str(out)],
                cwd=ROOT,
                env=phase_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            phases.append((broker, proc, out))
        deadline = time.monotonic() + args.timeout
        for broker, proc, out in phases:
            try:
                proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"fault suite: the {broker} phase ran past {args.timeout} s: stopped", flush=True)
                stop_group(proc, sig=signal.SIGINT, timeout=30)
            if out.exists():
                results += [Result.from_json(item) for item in json.loads(out.read_text())]
            if proc.returncode not in (0, 1) or not out.exists():
                print((base / f"{broker}.log").read_text(errors="replace")[-4000:], flush=True)
    except KeyboardInterrupt:
        interrupted = True
        print("fault suite: interrupted: everything it started is stopped, no report written", flush=True)
    finally:
        for _broker, proc, _out in phases:
            stop_group(proc, sig=signal.SIGINT, timeout=30)
        for name in reversed(made):
            with contextlib.suppress(Exception):
                sql(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    if interrupted:
        return 130
    results += missing_results(results, brokers=brokers, cases=cases)
    seconds = time.monotonic() - started
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()})",
        "seconds": seconds,
        "settings": {
            "LEASE_SECONDS": LEASE_SECONDS,
            "MAX_ATTEMPTS": MAX_ATTEMPTS,
            "TASK_TIMEOUT": TASK_TIMEOUT,
            "WORKER_STALE_SECONDS": STALE_SECONDS,
            "SWEEP_INTERVAL": SWEEP_INTERVAL,
            "GPU_WORKERS": 2,
        },
    }
    if args.out:
        Path(args.out).write_text(render_markdown(results, meta=meta))
    for result in sorted(results, key=lambda r: (CASE_NAMES.index(r.case), r.broker)):
        print(
            f"{'pass' if result.passed else 'FAIL'}  {result.case:<20} {result.broker:<6} "
            f"{'; '.join(map(str, result.problems))}"
        )
    print(
        f"fault suite: {sum(r.passed for r in results)}/{len(results)} passed in {seconds:.0f} s"
        + (f", written to {args.out}" if args.out else "")
    )
    return exit_code(results)


# --- a phase: one broker, one database, its own worker(s) -----------------------------------------


def worker_env(models: Path) -> dict:
    """The environment of the phase's processes: the tiny models, the CPU, short leases and sweeps."""
    return {
        "PERSONALIZATION_MODEL": str(models / "tiny-sd21"),
        "PERSONALIZATION_MODEL_SD21_BASE": str(models / "tiny-sd21-base"),
        "PERSONALIZATION_MODEL_SD_TURBO": str(models / "tiny-sd-turbo"),
        "PERSONALIZATION_DEVICE": "cpu",
        "PERSONALIZATION_DTYPE": "float32",
        "PERSONALIZATION_GPU_WORKERS": "2",
        "PERSONALIZATION_LEASE_SECONDS": str(LEASE_SECONDS),
        "PERSONALIZATION_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        "PERSONALIZATION_TASK_TIMEOUT": str(TASK_TIMEOUT),
        "PERSONALIZATION_MIN_TASK_TIMEOUT": "1",
        "PERSONALIZATION_SWEEP_INTERVAL": str(SWEEP_INTERVAL),
        "PERSONALIZATION_WORKER_HEARTBEAT_SECONDS": "1",
        "PERSONALIZATION_WORKER_STALE_SECONDS": str(STALE_SECONDS),
        "PERSONALIZATION_SAFETY_CHECK": "false",  # the nudity and OCR models: not what is tested here
        # One thread per process: two worker processes per phase and two phases share the CPUs.
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PERSONALIZATION_READY_EMAIL_AFTER_SECONDS": "0",
    }


def run_phase(args) -> int:
    """One broker's cases in this process (Django set up on the phase's database); the results as
    JSON in ``args.json``."""
    broker = args.phase
    work = Path(os.environ["FAULTS_CONTROL_DIR"])
    base = work / broker  # this phase's fault switches, media, logs
    base.mkdir(parents=True, exist_ok=True)
    redis = None
    if broker == "redis":
        redis = Redis(base)
        redis.start()
        os.environ["REDIS_URL"] = redis.url
    os.environ.update(worker_env(work / "models"))
    os.environ.update(
        FAULTS_CONTROL_DIR=str(base), MEDIA_ROOT=str(base / "media"), PRIVATE_MEDIA_ROOT=str(base / "private")
    )
    import django

    django.setup()
    from tests.faults import cases as fault_cases

    phase = fault_cases.Phase(broker=broker, base=base, redis=redis)
    results: list[Result] = []

    def write() -> None:
        Path(args.json).write_text(json.dumps([asdict(r) for r in results], indent=1))

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        phase.start_worker()
        for name in [c.strip() for c in args.only.split(",") if c.strip()] or CASE_NAMES:
            case = next(c for c in CASES if c.name == name)
            if broker not in case.brokers:
                continue
            t0 = time.monotonic()
            result = Result(case=name, broker=broker, passed=False)
            try:
                getattr(fault_cases, f"case_{name}")(phase, result)
                result.reconcile = phase.reconcile()
                result.problems += [f"{k} {v}" for k, v in result.reconcile.items() if v]
            except Exception as exc:
                result.problems.append(f"{type(exc).__name__}: {exc}")
                traceback.print_exc()
                with contextlib.suppress(Exception):
                    result.reconcile = phase.reconcile()
            result.passed = not result.problems
            result.seconds = round(time.monotonic() - t0, 1)
            print(
                f"[{broker}] {name}: {'pass' if result.passed else 'FAIL'} in {result.seconds} s "
                f"{result.problems} {result.facts}",
                flush=True,
            )
            results.append(result)
            write()
            try:
                phase.ensure_worker()
            except Exception as exc:  # the next case fails on its own; the phase goes on
                print(f"[{broker}] the worker cannot be started again: {exc}", flush=True)
    except KeyboardInterrupt:
        print(f"[{broker}] interrupted", flush=True)
    finally:
        signal.signal(signal.SIGINT, previous)
        phase.stop_worker()
        if redis is not None:
            redis.kill()
        write()
    return exit_code(results)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Run the fault-injection suite (docs/RELIABILITY.md).")
    parser.add_argument("--broker", default=",".join(BROKERS), help="Comma-separated: orm, redis.")
    parser.add_argument(
        "--only", default="", help=f"Comma-separated cases (default all): {', '.join(CASE_NAMES)}."
    )
    parser.add_argument("--out", default="", help="Write the report here (make faults: docs/RELIABILITY.md).")
    parser.add_argument("--timeout", type=float, default=600, help="Seconds the phases may run in all.")
    parser.add_argument("--keep", action="store_true", help="Keep the work folder (logs) for a look.")
    parser.add_argument("--phase", choices=BROKERS, help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    # Customer files stay in the suite's own folders (its FaultyStorage injects the storage faults):
    # S3 settings from the caller's environment (.ci/run's stage 2) are not the suite's.
    for name in [key for key in os.environ if key.startswith("AWS_")]:
        del os.environ[name]
    return run_phase(args) if args.phase else run_suite(args)


if __name__ == "__main__":
    sys.exit(main())
