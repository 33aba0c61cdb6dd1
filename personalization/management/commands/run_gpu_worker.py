"""Run the GPU worker: a django-q2 cluster named "gpu" (one worker process per GPU, the model
loaded inside that process, no recycling) plus the lease sweeper, supervised together.

    python manage.py run_gpu_worker                # one GPU (or the CPU)
    python manage.py run_gpu_worker --gpus 0,1     # one cluster per GPU, pinned by CUDA_VISIBLE_DEVICES

It first checks the engine settings, the GPU cluster's task timeout against what loading takes
(personalization.startup: it refuses a timeout below that floor), and loads the output safety
check (personalization.safety) once: if the detectors cannot load it refuses to start, unless
PERSONALIZATION_SAFETY_CHECK=false. A preset whose weights are a local directory that does not
exist is only warned about: the worker serves the other presets, and that preset's requests fail
with ``model_unavailable``.

Each tick (the sweep interval) it also runs the watchdog (personalization.watchdog): a cluster of its
own whose worker has a heartbeat older than WORKER_STALE_SECONDS (stopped, wedged) is killed and
started again, and the sweeper requeues the request that worker held when its lease ends.

SIGTERM or Ctrl-C stops it: SIGTERM to each cluster (a running task gives its request back), and
WORKER_STOP_SECONDS later whatever is left of each cluster's process tree is killed (``stop``).

Equivalent by hand: `Q_CLUSTER_NAME=gpu python manage.py qcluster` and
`python manage.py sweep_generations --loop 10`.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from personalization import heartbeat, startup, watchdog
from personalization.conf import conf
from personalization.tasks import sweep
from personalization.worker import check_safety, check_settings, models_in_use


class Command(BaseCommand):
    help = "Start the GPU worker (django-q2 cluster 'gpu') and the lease sweeper; Ctrl-C stops both."

    def add_arguments(self, parser):
        parser.add_argument(
            "--gpus", default="", help="Comma-separated GPU indices: one worker process each."
        )
        parser.add_argument("--sweep-interval", type=float, default=None, help="Seconds between sweeps.")

    def handle(self, *args, gpus: str, sweep_interval: float | None, **options):
        interval = sweep_interval if sweep_interval is not None else float(conf.SWEEP_INTERVAL_SECONDS)
        try:
            # A bad engine setting stops here, not in every task of every worker; weights that are
            # missing only warn: the worker serves the other presets, that preset's requests fail
            # with model_unavailable (worker.load).
            warnings = check_settings()
            check_safety()  # fail closed: no worker without the output safety check (unless turned off)
            # A task timeout below what loading takes would kill the worker again and again.
            startup.check_task_timeout()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        children = []
        for gpu in [g.strip() for g in gpus.split(",") if g.strip()] or [None]:
            env = {**os.environ, "Q_CLUSTER_NAME": conf.GPU_CLUSTER}
            if gpu is not None:
                env["CUDA_VISIBLE_DEVICES"] = gpu
            children.append(self.spawn(env))
        models = "; ".join(
            f"{name} {model}" + (" (default)" if name == conf.DEFAULT_PRESET else "")
            for name, model in models_in_use().items()
        )
        self.stdout.write(
            f"GPU worker: {len(children)} cluster(s) '{conf.GPU_CLUSTER}', presets: {models}"
            + (_demo_note() if conf.DEMO_MODEL else "")
            + ("" if conf.SAFETY_CHECK else " (OUTPUT SAFETY CHECK OFF)")
        )
        for warning in warnings:
            self.stderr.write(f"WARNING: {warning}")
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            while not stopping and all(child.poll() is None for child in children):
                close_old_connections()
                self.tick(children)
                deadline = time.monotonic() + interval
                while not stopping and time.monotonic() < deadline:
                    time.sleep(0.2)
        finally:
            self.stop(children)

    def stop(self, children: list) -> None:
        """SIGTERM to each cluster (its workers give their requests back), then, WORKER_STOP_SECONDS
        later, SIGKILL to whatever is left of each cluster's process tree: a stopped or wedged worker
        must not outlive run_gpu_worker. The trees are read before the signal, because a qcluster that
        exits leaves its children to init, where ``descendants`` no longer finds them."""
        trees = {child.pid: watchdog.descendants(child.pid) for child in children}
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + conf.WORKER_STOP_SECONDS
        for child in children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            # Started since the snapshot (a worker the sentinel replaced while stopping) or left over.
            tree = {**trees[child.pid], **watchdog.descendants(child.pid)}
            left = watchdog.still_running(tree)
            if child.poll() is None or left:
                self.stderr.write(
                    f"stopping: cluster {child.pid} did not end within {conf.WORKER_STOP_SECONDS:g} s: "
                    f"killed with {len(left)} process(es) below it"
                )
                # Its own pid only while it is not reaped (a reaped pid may already be another's).
                if child.poll() is None:
                    watchdog.kill_tree(child.pid, left)
                else:
                    watchdog.kill_pids(left)
                child.wait()

    def spawn(self, env: dict) -> subprocess.Popen:
        """One cluster: ``manage.py qcluster`` with the GPU cluster's name (and its GPU) in ``env``."""
        child = subprocess.Popen([sys.executable, sys.argv[0], "qcluster"], env=env)
        child.cluster_env = env  # what the watchdog starts it again with
        return child

    def tick(self, children: list, *, now=None) -> None:
        """One round of supervision: the lease sweep, the watchdog (a cluster with a stale worker is
        killed and started again in its place in ``children``), old heartbeat rows pruned. A database
        hiccup stops none of them for good: the next tick tries again."""
        try:
            sweep()  # leases, waiting requests, owed print files, regenerations
        except Exception as exc:  # a database hiccup must not stop the worker
            self.stderr.write(f"sweep failed: {exc}")
        try:
            if conf.WORKER_WATCHDOG:
                for index, child in enumerate(children):
                    children[index] = self.watch(child, now=now)
            heartbeat.heartbeats_prune()
        except Exception as exc:
            self.stderr.write(f"watchdog failed: {exc}")

    def watch(self, child: subprocess.Popen, *, now=None) -> subprocess.Popen:
        """``child`` if its workers beat; else a new cluster started after killing its whole tree."""
        tree = watchdog.descendants(child.pid)
        stale = watchdog.find_stale(host=socket.gethostname(), processes=tree, now=now)
        if not stale:
            return child
        watchdog.kill_tree(child.pid, tree)
        child.wait(timeout=30)
        watchdog.mark_killed(stale, now=now)
        self.stderr.write(f"watchdog: restarted the cluster of {', '.join(row.worker for row in stale)}")
        return self.spawn(child.cluster_env)


def _demo_note() -> str:
    from personalization.conf import trained_demo_presets

    if conf.DEFAULT_PRESET in trained_demo_presets():
        return " (DEMO MODEL: a small model trained on simple patterns, docs/DEMO_MODEL.md)"
    return " (DEMO MODEL: random weights, pictures are noise)"
