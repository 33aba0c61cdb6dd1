"""Benchmarks: the bare pipeline (tiny or full-size SD 2.1 with random weights), and the whole
product path (submit -> queue -> worker -> stored images) against a bare call on the same model.

    python manage.py bench_generation --arch sd21 --size 768 --steps 25 --batch 1,2,4 --device auto
    python manage.py bench_generation --end-to-end --size 512 --steps 20 --requests 5

Prints a table and one JSON line. See docs/PERFORMANCE.md for figures.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from personalization.engine.options import ATTENTION_NAMES, COMPILE_MODE, COMPILE_MODES

ROOT = Path(__file__).resolve().parents[3]


class Command(BaseCommand):
    help = "Benchmark generation: bare pipeline (--arch tiny|sd21) or end-to-end through queue and worker."

    def add_arguments(self, parser):
        parser.add_argument("--arch", choices=["tiny", "sd21"], default="tiny")
        parser.add_argument("--size", type=int, choices=[512, 768], default=512)
        parser.add_argument("--steps", type=int, default=25)
        parser.add_argument("--batch", default="1", help="Comma-separated batch sizes, e.g. 1,2,4.")
        parser.add_argument("--device", default="auto")
        parser.add_argument("--dtype", default="auto")
        parser.add_argument("--compile", action="store_true")
        parser.add_argument("--compile-mode", default=COMPILE_MODE, choices=COMPILE_MODES)
        parser.add_argument("--attention", default="default", choices=ATTENTION_NAMES)
        parser.add_argument("--repeats", type=int, default=3)
        parser.add_argument(
            "--end-to-end", action="store_true", help="Time submit -> succeeded via the real worker."
        )
        parser.add_argument(
            "--requests", type=int, default=5, help="End-to-end: requests timed one after another."
        )
        parser.add_argument(
            "--inner", action="store_true", help="(internal) run inside the throwaway database."
        )
        parser.add_argument("--model-label", default="", help="(internal) the model's name in the result.")

    def handle(self, *args, **o):
        if o["end_to_end"]:
            return self.end_to_end_outer(o) if not o["inner"] else self.end_to_end_inner(o)
        from personalization.engine.bench import bench_pipeline, format_table

        try:
            batches = [int(b) for b in o["batch"].split(",")]
        except ValueError:
            raise CommandError("--batch takes comma-separated integers, e.g. 1,2,4") from None
        results = bench_pipeline(
            arch=o["arch"],
            size=o["size"],
            steps=o["steps"],
            batches=batches,
            device=o["device"],
            dtype=o["dtype"],
            compile=o["compile"],
            compile_mode=o["compile_mode"],
            attention=o["attention"],
            repeats=o["repeats"],
        )
        self.stdout.write(format_table(results))
        self.stdout.write(json.dumps({"mode": "pipeline", "results": results}))

    # --- end to end ---------------------------------------------------------------------------

    def end_to_end_outer(self, o):
        """Re-run this command against a throwaway SQLite database and the tiny model, so the
        benchmark never touches the shop's data."""
        if o["arch"] != "tiny":
            raise CommandError(
                "--end-to-end runs the tiny model (on a GPU machine, point PERSONALIZATION_MODEL at SD 2.1)."
            )
        with tempfile.TemporaryDirectory() as tmp:
            model = os.environ.get("PERSONALIZATION_MODEL") or str(Path(tmp) / "tiny-sd21")
            env = {
                **os.environ,
                "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
                "MEDIA_ROOT": f"{tmp}/media",
                "PERSONALIZATION_MODEL": model,
                "PERSONALIZATION_DEVICE": o["device"],
                "PERSONALIZATION_DTYPE": o["dtype"],
                "DEBUG": "1",
            }
            env.pop("REDIS_URL", None)
            manage = [sys.executable, str(ROOT / "manage.py")]
            label = "" if os.environ.get("PERSONALIZATION_MODEL") else "demo model (tiny, random weights)"
            if not Path(model).exists():
                subprocess.run(
                    [*manage, "build_tiny_pipeline", model], env=env, check=True, capture_output=True
                )
            subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
            argv = [
                *manage,
                "bench_generation",
                "--end-to-end",
                "--inner",
                "--size",
                str(o["size"]),
                "--steps",
                str(o["steps"]),
                "--requests",
                str(o["requests"]),
                "--device",
                o["device"],
                "--dtype",
                o["dtype"],
                "--model-label",
                label,
            ]
            subprocess.run(argv, env=env, check=True)

    def end_to_end_inner(self, o):
        from personalization.conf import conf
        from personalization.engine.core import Job, get_engine
        from personalization.models import GenerationRequest
        from personalization.services import generation_request_create

        product = self._bench_product(o["size"])
        worker_env = {**os.environ, "PERSONALIZATION_PROGRESS_INTERVAL": "1.0"}
        log = open(Path(tempfile.gettempdir()) / "bench-worker.log", "wb")  # noqa: SIM115
        worker = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "run_gpu_worker"],
            env=worker_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:

            def submit(seed: int):
                return generation_request_create(
                    product=product,
                    base_color="White",
                    description="Sunset landscape with mountains",
                    steps=o["steps"],
                    size=o["size"],
                    seed=seed,
                )

            def wait(req, timeout=600):
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    status = GenerationRequest.objects.filter(pk=req.pk).values_list("status", flat=True)[0]
                    if status in GenerationRequest.TERMINAL:
                        if status != GenerationRequest.Status.SUCCEEDED:
                            raise CommandError(f"request ended {status}")
                        return
                    time.sleep(0.05)  # a client polling every 50 ms (the storefront polls every 1 s)
                raise CommandError("timed out waiting for the worker")

            wait(submit(10_000))  # warm-up: worker start, model load, first call
            e2e = []
            for i in range(o["requests"]):
                t0 = time.perf_counter()
                wait(submit(20_000 + i))
                e2e.append(time.perf_counter() - t0)
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
            log.close()

        engine = get_engine(str(conf.MODEL), device=conf.DEVICE, dtype=conf.DTYPE)
        req = GenerationRequest.objects.order_by("-created_at").first()
        job = Job(
            prompt=req.optimized_prompt,
            negative_prompt=req.negative_prompt,
            seeds=[1],
            steps=o["steps"],
            guidance_scale=req.guidance_scale,
            width=o["size"],
            height=o["size"],
        )
        engine.generate([job])  # warm-up
        bare = []
        for i in range(o["requests"]):
            job.seeds = [30_000 + i]
            t0 = time.perf_counter()
            engine.generate([job])
            bare.append(time.perf_counter() - t0)
        result = {
            "mode": "end_to_end",
            "model": o["model_label"] or str(conf.MODEL),
            "device": str(engine.device),
            "size": o["size"],
            "steps": o["steps"],
            "requests": o["requests"],
            "end_to_end_median_s": round(statistics.median(e2e), 3),
            "bare_pipeline_median_s": round(statistics.median(bare), 3),
            "ratio": round(statistics.median(e2e) / statistics.median(bare), 3),
        }
        self.stdout.write(
            f"{'path':<34}{'median s':>10}\n"
            f"{'submit -> succeeded (queue+worker)':<34}{result['end_to_end_median_s']:>10.3f}\n"
            f"{'bare pipeline call':<34}{result['bare_pipeline_median_s']:>10.3f}\n"
            f"ratio end-to-end / bare: {result['ratio']:.3f}"
        )
        self.stdout.write(json.dumps(result))

    def _bench_product(self, size):
        from brand_guides.models import Brand
        from personalization.conf import conf

        call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
        if size not in conf.SIZES:
            raise CommandError(f"size {size} is not in PERSONALIZATION['SIZES'] {conf.SIZES}")
        # Measure the pipeline + queue + storage path, not the off-brand re-seed (which doubles work
        # by design): no minimum score for the benchmark's brand.
        Brand.objects.update(min_consistency_score=0)
        from django.apps import apps

        Product = apps.get_model(conf.PRODUCT_MODEL)
        return Product.objects.filter(is_published=True, base_colors__name="White").first()
