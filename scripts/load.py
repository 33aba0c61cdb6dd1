"""`make load`: the loopback load test of the production web tier, bounded in time.

    .venv/bin/python scripts/load.py [--levels 50,100,200] [--duration 50] [--out docs]

1. A throwaway environment: its own PostgreSQL database on 127.0.0.1:5432 (SQLite when none
   answers: it cannot take many concurrent writers, and the script says so), its own Redis (the
   queue and the cache) when `redis-server` is installed, its own media folders; migrate,
   collectstatic, seed_demo, the demo model (`build_tiny_pipeline`, kept in var/models as `make run`
   does), one account per simulated customer with an API token and a logged-in session.
2. gunicorn (gunicorn.conf.py, DJANGO_ENV=production, DEBUG off) and the GPU worker
   (`run_gpu_worker`, the demo model, small designs: --steps, --size), each in its own process group.
3. locust, headless, once per level (scripts/locustfile.py: customers submit through the API and the
   studio, and poll the job card and the API detail every 1-2 s).
4. The reconciliation (every acknowledged submit is exactly one row, none lost, none stuck) and the
   ETA error (the eta_seconds the API promised at submit against the measured time to finish).
5. docs/SCALING.md (table) and docs/scaling.png (response time against users).

Exit status 1 on any 5xx, lost, duplicated or stuck request; 2 when the environment cannot start.
Children are stopped (process groups) and the database dropped whatever happens.
"""

import argparse
import contextlib
import csv
import datetime
import json
import os
import platform
import resource
import secrets
import shutil
import signal
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import load_report  # noqa: E402  (scripts/ is not a package)

PY = os.environ.get("PY") or sys.executable
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REQUESTS_FILE = ROOT.parent / "shared" / "data" / "requests.jsonl"


def log(message: str) -> None:
    print(f"[load {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Children:
    """The processes this script started, each in its own process group; stop() signals each group
    once, then kills what is left after ``grace`` seconds."""

    def __init__(self):
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(
        self, name: str, args, *, env, log_path: Path, nice: int = 0, cpus: str = ""
    ) -> subprocess.Popen:
        out = open(log_path, "wb")  # noqa: SIM115  (closed with the process)
        prefix = (["taskset", "-c", cpus] if cpus else []) + (["nice", "-n", str(nice)] if nice else [])
        proc = subprocess.Popen(
            prefix + list(args),
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        proc.log_file = out
        self.procs.append((name, proc))
        return proc

    def stop(self, grace: float = 30) -> None:
        """Newest first (the worker releases its claims while the queue's Redis still runs)."""
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                with _suppress():
                    os.killpg(proc.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=grace)
            with _suppress():
                os.killpg(proc.pid, signal.SIGKILL)  # the group: a cluster's children too
            proc.wait()
            proc.log_file.close()
        self.procs.clear()


class _suppress:
    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        return kind is not None and issubclass(kind, ProcessLookupError | PermissionError)


def create_database() -> tuple[str, str | None]:
    """(DATABASE_URL, name to drop): a fresh PostgreSQL database, or None and a SQLite file."""
    try:
        import psycopg

        name = f"load_{os.getpid()}_{secrets.token_hex(3)}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgres://postgres@127.0.0.1:5432/{name}", name
    except Exception as exc:  # noqa: BLE001  (any reason PostgreSQL is not there)
        log(f"PostgreSQL at 127.0.0.1:5432 is not available ({exc}): SQLite, expect lock waits.")
        return "", None


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(*args, env) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True)


def wait_ready(port: int, procs, *, timeout: float) -> None:
    """Until /readyz counts a live GPU worker (and gunicorn answers), or a process has died."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        for name, proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode} while starting (see its log)")
        try:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/readyz", headers={"X-Forwarded-Proto": "https"}
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            body = json.loads(exc.read() or b"{}")
        except OSError as exc:
            last = str(exc)
            time.sleep(0.5)
            continue
        workers = body.get("checks", {}).get("workers", {})
        if workers.get("status") == "ok":
            return
        last = json.dumps(workers)
        time.sleep(0.5)
    raise RuntimeError(f"the site or the GPU worker was not ready in {timeout:.0f} s: {last}")


def make_customers(count: int, *, steps: int, size: int) -> dict:
    """Accounts, tokens and logged-in sessions for the simulated customers, and the submit payloads
    (the customer requests of requests.jsonl matched to the demo catalogue). Runs inside Django."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.utils.module_loading import import_string
    from django.utils.text import slugify
    from rest_framework.authtoken.models import Token

    from brand_guides.models import MaterialPreset, StylePreset
    from personalization.hosts import host
    from personalization.management.commands.load_demo_requests import _find_product, _match
    from personalization.visitors import SESSION_KEY as VISITOR_KEY

    store_class = import_string(settings.SESSION_ENGINE + ".SessionStore")
    user_model = get_user_model()
    alphabet = string.ascii_letters + string.digits
    customers = []
    for i in range(count):
        user = user_model(username=f"load-customer-{i}")
        user.set_unusable_password()  # never logs in by password: the session is made here
        user.save()
        session = store_class()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session[VISITOR_KEY] = secrets.token_hex(16)
        session.create()
        customers.append(
            {
                "username": user.username,
                "token": Token.objects.create(user=user).key,
                "sessionid": session.session_key,
                # An unmasked CSRF secret: Django accepts it as both cookie and header.
                "csrftoken": "".join(secrets.choice(alphabet) for _ in range(32)),
            }
        )
    rows = list(host().products())
    catalogue = list(zip(rows, host().product_infos(rows), strict=True))
    payloads = []
    for line in REQUESTS_FILE.read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        category = slugify((row.get("category") or "").replace("_", "-"))
        product, info = _find_product(catalogue, str(row.get("product_type") or ""), category)
        if product is None:
            continue
        color = info.base_color(str(row.get("base_color") or "")) or next(iter(info.base_colors), None)
        allowed = info.material_ids
        materials = MaterialPreset.objects.filter(pk__in=allowed) if allowed else MaterialPreset.objects.all()
        material = _match(materials, row.get("material", ""))
        style = _match(StylePreset.objects.all(), row.get("style", ""))
        payload = {"product": info.slug, "description": row["description"], "steps": steps, "size": size}
        payload["base_color"] = color.name if color else ""
        if material:
            payload["material"] = material.slug
        if style:
            payload["style"] = style.slug
        payloads.append(payload)
    if not payloads:
        raise RuntimeError(f"no line of {REQUESTS_FILE} matched a product of the demo catalogue")
    return {"customers": customers, "payloads": payloads}


def reconcile(submits: list[dict], *, drain_s: float) -> load_report.Reconciliation:
    """Wait (at most ``drain_s``) for the queue to empty, then compare the rows with what the clients
    were told. Runs inside Django."""
    from django.db.models import Count

    from personalization.models import GenerationRequest
    from personalization.reconcile import reconcile as reconcile_counts

    Status = GenerationRequest.Status
    busy = GenerationRequest.objects.filter(status__in=[Status.QUEUED, Status.RUNNING])
    deadline = time.monotonic() + drain_s
    while busy.exists() and time.monotonic() < deadline:
        time.sleep(1)
    result = load_report.Reconciliation(acknowledged=len(submits), unfinished=busy.count())
    ids = [s["id"] for s in submits]
    rows = set(map(str, GenerationRequest.objects.filter(pk__in=ids).values_list("pk", flat=True)))
    result.lost = len(set(ids) - rows)
    ours = GenerationRequest.objects.filter(customer__username__startswith="load-customer-")
    groups = ours.values("customer", "seed").annotate(n=Count("pk")).filter(n__gt=1)
    result.duplicated = sum(group["n"] - 1 for group in groups) + (len(ids) - len(set(ids)))
    result.unacknowledged = ours.exclude(pk__in=ids).count()
    result.stuck = {
        name: count
        for name, count in reconcile_counts().items()
        if name in ("running_stuck", "queued_stuck", "run_twice", "line_files_missing")
    }
    return result


def eta_errors(submits: list[dict], *, since, until, dump: Path | None = None) -> dict:
    """The ETA the API gave at submit against the time the request took to finish (succeeded rows),
    and the project's own summary (``personalization.eta.eta_error_summary``) when it has one."""
    from personalization.models import GenerationRequest

    promised = {s["id"]: s["eta_seconds"] for s in submits if s.get("eta_seconds") is not None}
    rows = GenerationRequest.objects.filter(
        pk__in=list(promised), status=GenerationRequest.Status.SUCCEEDED, finished_at__isnull=False
    ).values_list("pk", "created_at", "finished_at")
    pairs = [(promised[str(pk)], (done - made).total_seconds()) for pk, made, done in rows]
    if dump is not None:  # every request of the run, for a closer look (kept with --keep)
        fields = ["pk", "preset", "width", "height", "steps", "variations", "status", "created_at"]
        fields += ["started_at", "finished_at", "eta_at_submit", "work_seconds", "gpu_seconds", "worker"]
        with dump.open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(fields)
            for values in GenerationRequest.objects.order_by("created_at").values_list(*fields):
                writer.writerow(values)
    errors = load_report.abs_pct_errors(pairs)
    ratios = sorted(actual / predicted for predicted, actual in pairs if predicted and actual > 0)
    summary = {
        "count": len(errors),
        "median_abs_pct_error": round(statistics.median(errors), 1) if errors else None,
        "p90_abs_pct_error": round(load_report.percentile(errors, 90), 1) if errors else None,
        # actual / promised: above 1 the ETAs were too short, below 1 too long.
        "median_actual_over_promised": round(statistics.median(ratios), 2) if ratios else None,
    }
    try:
        from personalization.eta import eta_error_summary
    except ImportError:
        return {"clients": summary}
    return {"clients": summary, "project": eta_error_summary(since=since, until=until)}


def cpu_seconds(children: Children) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each started process and its descendants, and by
    every PostgreSQL server process on the machine (the database is shared with other work)."""
    import psutil

    def tree(pid: int) -> float:
        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0.0
        total = 0.0
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
        return total

    used = {name: tree(proc.pid) for name, proc in children.procs}
    used["postgres"] = 0.0
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] == "postgres":
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                used["postgres"] += times.user + times.system
    return used


def run_level(users: int, *, args, port: int, config_path: Path, work: Path, env, children=None) -> dict:
    result_path = work / f"result_{users}.json"
    spawn = max(1, users // max(1, args.ramp))
    command = [
        PY, "-m", "locust", "-f", str(ROOT / "scripts" / "locustfile.py"), "--headless",
        "-u", str(users), "-r", str(spawn), "-t", f"{args.duration}s", "--stop-timeout", "3",
        "--host", f"http://127.0.0.1:{port}", "--csv", str(work / f"locust_{users}"),
        "--only-summary", "--exit-code-on-error", "0", "--loglevel", "WARNING",
    ]  # fmt: skip
    level_env = env | {"LOAD_CONFIG": str(config_path), "LOAD_RESULT": str(result_path)}
    log(f"{users} users for {args.duration} s (ramp {spawn}/s)")
    before = cpu_seconds(children) if children else {}
    locust_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    clock = time.monotonic()
    with open(work / f"locust_{users}.log", "wb") as out:
        subprocess.run(
            command, cwd=ROOT, env=level_env, stdout=out, stderr=subprocess.STDOUT, check=True,
            timeout=args.duration + 60, start_new_session=True,
        )  # fmt: skip
    wall = time.monotonic() - clock
    locust_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(result_path.read_text())
    if children:
        after = cpu_seconds(children)
        used = {name: after[name] - before.get(name, 0.0) for name in after}
        used["locust"] = (locust_after.ru_utime + locust_after.ru_stime) - (
            locust_before.ru_utime + locust_before.ru_stime
        )
        # The share of the machine's CPUs each part used while the level ran.
        cpus = os.cpu_count() or 1
        result["cpu_share"] = {name: round(100 * sec / wall / cpus, 1) for name, sec in used.items()}
        log("  CPU share: " + ", ".join(f"{name} {share} %" for name, share in result["cpu_share"].items()))
    return result


def write_report(
    *, out: Path, rows, reconciliation, eta, args, started, database: str, elapsed: float, cpu_shares=None
):
    out.mkdir(parents=True, exist_ok=True)
    load_report.plot(rows, out / "scaling.png")
    cpu = _cpu_name()
    options = " ".join(args.argv)
    command = f'make load LOAD_ARGS="{options}"' if options else "make load"
    client_eta = eta.get("clients", {})
    eta_line = (
        f"median {client_eta['median_abs_pct_error']} %, p90 {client_eta['p90_abs_pct_error']} % "
        f"over {client_eta['count']} succeeded API submits (goal: median within 25 %)"
        if client_eta.get("count")
        else "no API submit finished with an ETA"
    )
    if eta.get("project"):
        eta_line += f"; `personalization.eta.eta_error_summary`: {eta['project']}"
    worker_threads = f"{args.worker_threads} thread(s)" if args.worker_threads else "torch's threads"
    pinned = f", pinned to CPU {args.worker_cpus}" if args.worker_cpus else ""
    text = f"""# Scaling: response time against concurrent users

Generated by `make load` (`scripts/load.py`; the customers: `scripts/locustfile.py`) on
{started:%Y-%m-%d %H:%M} UTC, {elapsed:.0f} s in all. Machine: {os.cpu_count()} CPUs ({cpu}),
{platform.system()} {platform.release()}, Python {platform.python_version()}; database: {database};
load average when it started: {args.load_at_start:.1f} (other work on the machine slows every figure).
Rerun it with:

```
{command}
```

![Response time against concurrent users](scaling.png)

{load_report.goal_verdict(rows)}

{load_report.markdown_table(rows)}

- **Set-up** (what `make load` starts): gunicorn with `gunicorn.conf.py` (DJANGO_ENV=production,
  DEBUG off, {args.web_concurrency or "the default number of"} processes × {args.threads} threads,
  `DATABASE_URL` with `conn_max_age={args.conn_max_age}`), the GPU worker (`run_gpu_worker`, the demo
  model on the CPU at `nice` {args.worker_nice} with {worker_threads}{pinned}: on a real deployment it
  has its own machine and GPU, here it gets what the web tier leaves),
  a Redis of its own (queue and cache) and a PostgreSQL database of its own; everything on loopback.
- **Customers** (`scripts/locustfile.py`, locust `FastHttpUser`): each looks around for 1–10 s,
  asks for a design ({args.steps} steps, {args.size} px; one of the {len(_payload_lines())} customer
  requests of `../shared/data/requests.jsonl`) through the API (70 %) or the studio's form with its
  CSRF token (30 %), polls the HTMX job card (`HX-Request`) and the API detail in turn at the pace
  they ask for (the card's `hx-trigger`, the API's `poll_after_seconds`: every second while running
  or next in line, about a tenth of the ETA further back, at most 10 s; plus up to a second) until
  it is finished, looks at it for 10–30 s, and asks for another. Levels: {args.levels}, each
  {args.duration} s with a {args.ramp} s ramp; the queue carries over from one level to the next.
- **Columns**: percentiles over the answers that were not 429 (throttled answers are counted apart);
  "other errors" are 4xx other than 429 and requests with no answer. The per-address submit throttle
  is lifted (`THROTTLE_GENERATION_IP`): every simulated customer comes from 127.0.0.1, which real
  customers do not; the per-account throttle and the daily quota are the shipped defaults.
- **Reconciliation**: {reconciliation.acknowledged} submits acknowledged (201/202);
  {reconciliation.lost} lost, {reconciliation.duplicated} duplicated, {reconciliation.unacknowledged}
  rows without an acknowledgement (a client timeout); {reconciliation.unfinished} still queued or
  running after the {args.drain} s drain wait; `personalization_reconcile` counts: {reconciliation.stuck}.
- **ETA error** (|promised − actual| / actual; promised: `eta_seconds` of the 202 answer, actual:
  submit to finish): {eta_line}.
- The figures depend on the machine: on a shared 2-core box, locust, PostgreSQL, Redis, the worker and
  gunicorn all share the two cores. The raw locust CSV files stay in the run's temporary folder.

{load_report.cpu_table(cpu_shares or {})}
"""
    (out / "SCALING.md").write_text(text)


def _payload_lines() -> list[str]:
    return [line for line in REQUESTS_FILE.read_text().splitlines() if line.strip()]


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="50,100,200", help="Concurrent users, comma-separated.")
    parser.add_argument("--duration", type=int, default=60, help="Seconds per level.")
    parser.add_argument(
        "--ramp", type=int, default=30, help="Seconds to start a level's users (200 in 30 s: 7 a second)."
    )
    parser.add_argument("--drain", type=int, default=60, help="Seconds to wait for the queue to empty.")
    parser.add_argument("--steps", type=int, default=4, help="Denoising steps of each design.")
    parser.add_argument("--size", type=int, default=512, help="Pixel budget of each design.")
    parser.add_argument("--web-concurrency", type=int, default=0, help="gunicorn processes (0: its default).")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per process.")
    parser.add_argument("--conn-max-age", type=int, default=60, help="Persistent database connections (s).")
    parser.add_argument("--worker-nice", type=int, default=19, help="nice of the GPU worker on the CPU.")
    parser.add_argument(
        "--worker-cpus", default="", help="CPUs the GPU worker is pinned to (taskset -c), e.g. 1; '' = any."
    )
    parser.add_argument(
        "--worker-threads", type=int, default=1, help="Threads of the worker's torch (0: torch's own choice)."
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "docs", help="Where SCALING.md and scaling.png go."
    )
    parser.add_argument("--keep", action="store_true", help="Keep the temporary folder (logs, CSV files).")
    args = parser.parse_args(argv)
    args.argv = list(argv)
    args.load_at_start = os.getloadavg()[0]
    args.user_levels = [int(n) for n in args.levels.split(",") if n.strip()]
    if not args.user_levels or min(args.user_levels) < 1:
        parser.error("--levels: positive numbers, e.g. 50,100,200")
    return args


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = datetime.datetime.now(datetime.UTC)
    clock = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="load-"))
    children = Children()
    database_url, database_name = create_database()
    if not database_url:
        database_url = f"sqlite:///{work / 'db.sqlite3'}"
    try:
        return _run(
            args, work=work, children=children, database_url=database_url, started=started, clock=clock
        )
    except (RuntimeError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        log(f"FAILED to run: {exc} (logs in {work})")
        args.keep = True
        return 2
    finally:
        children.stop()
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if database_name:
            drop_database(database_name)
        if args.keep:
            log(f"logs and CSV files kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _run(args, *, work: Path, children: Children, database_url: str, started, clock) -> int:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "CACHE_URL")}
    env |= {
        "DJANGO_ENV": "production",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url
        + (f"?conn_max_age={args.conn_max_age}" if "postgres" in database_url else ""),
        "MEDIA_ROOT": str(work / "media"),
        "PRIVATE_MEDIA_ROOT": str(work / "private"),
        "STATIC_ROOT": str(work / "static"),
        "PORT": str(port),
        "GUNICORN_THREADS": str(args.threads),
        "LOG_LEVEL": "WARNING",
        "EMAIL_URL": "dummymail://",
        # Every simulated customer comes from 127.0.0.1: the per-address limits would refuse them as
        # one crowd. The per-account throttle and the daily quota stay as shipped.
        "THROTTLE_GENERATION_IP": "1000000/min",
        "PERSONALIZATION_DAILY_QUOTA_PER_IP": "0",
        "PYTHONUNBUFFERED": "1",
    }
    if args.web_concurrency:
        env["WEB_CONCURRENCY"] = str(args.web_concurrency)
    if shutil.which("redis-server"):
        redis_port = free_port()
        redis = children.start(
            "redis",
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no"],
            env=env,
            log_path=work / "redis.log",
        )
        env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        env["CACHE_URL"] = f"redis://127.0.0.1:{redis_port}/1"
        if redis.poll() is not None:
            raise RuntimeError("redis-server did not start")
    else:
        log("redis-server is not installed: the database broker and cache.")

    log(f"setting up in {work} ({database_url.rsplit('/', 1)[-1]})")
    manage("migrate", "--no-input", "-v0", env=env)
    manage("collectstatic", "--no-input", "-v0", env=env)
    manage("seed_demo", env=env)
    for preset in ("sd21", "sd21-base", "sd-turbo"):
        if not (ROOT / "var" / "models" / f"tiny-{preset}" / "model_index.json").exists():
            manage("build_tiny_pipeline", "--preset", preset, env=env)

    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connections

    config = make_customers(max(args.user_levels), steps=args.steps, size=args.size)
    config["origin"] = f"https://127.0.0.1:{port}"
    config_path = work / "customers.json"
    config_path.write_text(json.dumps(config))
    connections.close_all()

    gunicorn = children.start(
        "gunicorn", [PY, "-m", "gunicorn", "-c", "gunicorn.conf.py"], env=env, log_path=work / "gunicorn.log"
    )
    worker_env = env | (
        {"OMP_NUM_THREADS": str(args.worker_threads), "MKL_NUM_THREADS": str(args.worker_threads)}
        if args.worker_threads
        else {}
    )
    worker = children.start(
        "run_gpu_worker",
        [PY, "manage.py", "run_gpu_worker"],
        env=worker_env,
        log_path=work / "worker.log",
        nice=args.worker_nice,
        cpus=args.worker_cpus,
    )
    wait_ready(port, [("gunicorn", gunicorn), ("run_gpu_worker", worker)], timeout=180)
    log(f"gunicorn on 127.0.0.1:{port} and the GPU worker are ready")

    rows, submits, cpu_shares = [], [], {}
    for users in args.user_levels:
        result = run_level(
            users, args=args, port=port, config_path=config_path, work=work, env=env, children=children
        )
        cpu_shares[users] = result.get("cpu_share", {})
        level_rows = load_report.endpoint_rows(users=users, result=result)
        rows += level_rows
        submits += result["submits"]
        for row in level_rows:
            log(
                f"  {row.endpoint:16} {row.requests:6} req  p50 {load_report.ms(row.p50):>5} ms  "
                f"p95 {load_report.ms(row.p95):>5} ms  p99 {load_report.ms(row.p99):>5} ms  "
                f"5xx {row.server_errors}  429 {row.throttled}  other {row.other_errors}"
            )
        for name, proc in children.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode} during the load")

    until = datetime.datetime.now(datetime.UTC)
    log(f"reconciling (drain wait up to {args.drain} s)")
    reconciliation = reconcile(submits, drain_s=args.drain)
    eta = eta_errors(submits, since=started, until=until, dump=work / "requests.csv")
    connections.close_all()
    log(f"reconciliation: {reconciliation}")
    log(f"ETA error: {eta}")
    database = "PostgreSQL (its own database)" if "postgres" in database_url else "SQLite"
    write_report(
        out=args.out,
        rows=rows,
        reconciliation=reconciliation,
        eta=eta,
        args=args,
        started=started,
        database=database,
        elapsed=time.monotonic() - clock,
        cpu_shares=cpu_shares,
    )
    log(f"wrote {args.out / 'SCALING.md'} and {args.out / 'scaling.png'}")
    reasons = load_report.failures(rows, reconciliation)
    for reason in reasons:
        log(f"FAIL: {reason}")
    return 1 if reasons else 0


if __name__ == "__main__":
    sys.exit(main())
