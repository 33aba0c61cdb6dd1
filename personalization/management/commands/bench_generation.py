"""Benchmarks per model preset: the bare pipeline (the preset's tiny demo model, or the full-size SD
2.x architecture with random weights), and the whole product path (submit -> queue -> worker ->
stored images) against a bare call on the same model.

    python manage.py bench_generation --preset sd21,sd21-base,sd-turbo --batch 1,2,4 --device cpu
    python manage.py bench_generation --arch sd21 --preset sd21 --batch 1,2,4 --device cuda
    python manage.py bench_generation --end-to-end --preset sd21,sd-turbo --size 512 --requests 5

Size, steps and guidance default to each preset's (personalization.presets); given, they apply to
every preset and must lie in its ranges. Prints one block (a heading and a table) per preset, then
one JSON line. See docs/PERFORMANCE.md for figures.
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

from personalization.engine.options import ATTENTION_NAMES, COMPILE_MODE, COMPILE_MODES, size_ok

ROOT = Path(__file__).resolve().parents[3]
# The environment variable that points config/settings.py at each preset's weights.
MODEL_ENV = {
    "sd21": "PERSONALIZATION_MODEL",
    "sd21-base": "PERSONALIZATION_MODEL_SD21_BASE",
    "sd-turbo": "PERSONALIZATION_MODEL_SD_TURBO",
}
TINY_LABEL = "demo model (tiny, random weights)"


def preset_names(value: str) -> list[str]:
    """The presets of --preset ("" : DEFAULT_PRESET), in order, each once; CommandError if unknown."""
    from personalization import presets
    from personalization.conf import conf

    names = list(dict.fromkeys(n.strip() for n in (value or conf.DEFAULT_PRESET).split(",") if n.strip()))
    if unknown := [n for n in names if n not in presets.BUILT_IN]:
        raise CommandError(f"unknown preset(s) {', '.join(unknown)}; use {', '.join(presets.BUILT_IN)}")
    return names


def settings_for(preset, o) -> tuple[int, int, float]:
    """(size, steps, guidance) for one preset: the options given, else the preset's defaults."""
    size = o["size"] or preset.default_size
    steps = o["steps"] or preset.default_steps
    guidance = preset.default_guidance if o["guidance"] is None else o["guidance"]
    if not preset.min_steps <= steps <= preset.max_steps:
        raise CommandError(
            f"--steps {steps} is outside preset {preset.name}'s {preset.min_steps}..{preset.max_steps}"
        )
    if not preset.min_guidance <= guidance <= preset.max_guidance:
        raise CommandError(
            f"--guidance {guidance:g} is outside preset {preset.name}'s "
            f"{preset.min_guidance:g}..{preset.max_guidance:g}"
        )
    if not size_ok(size, size):
        raise CommandError(f"--size {size}: width and height must be multiples of 8 between 64 and 2048")
    return size, steps, guidance


def heading(preset, *, size: int, steps: int, guidance: float, model: str) -> str:
    return (
        f"== preset {preset.name}: {preset.label}; {preset.scheduler_label}; {size} px, {steps} steps, "
        f"guidance {guidance:g}; {model}"
    )


class Command(BaseCommand):
    help = (
        "Benchmark generation per model preset: bare pipeline (--arch tiny|sd21) or end-to-end "
        "through queue and worker."
    )

    def add_arguments(self, parser):
        parser.add_argument("--arch", choices=["tiny", "sd21"], default="tiny")
        parser.add_argument(
            "--preset",
            default="",
            help="Comma-separated model presets, e.g. sd21,sd21-base,sd-turbo (default: DEFAULT_PRESET).",
        )
        parser.add_argument("--size", type=int, default=None, help="Default: each preset's default size.")
        parser.add_argument("--steps", type=int, default=None, help="Default: each preset's default steps.")
        parser.add_argument(
            "--guidance", type=float, default=None, help="Default: each preset's default guidance."
        )
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
        from personalization import presets

        names = preset_names(o["preset"])
        chosen = [(presets.get(name), *settings_for(presets.get(name), o)) for name in names]
        if o["end_to_end"]:
            return self.end_to_end_outer(o, names) if not o["inner"] else self.end_to_end_inner(o, chosen)
        from personalization.engine.bench import bench_pipeline, format_table

        try:
            batches = [int(b) for b in o["batch"].split(",")]
        except ValueError:
            raise CommandError("--batch takes comma-separated integers, e.g. 1,2,4") from None
        if o["arch"] == "sd21" and any(size not in (512, 768) for _, size, _, _ in chosen):
            raise CommandError("--arch sd21 runs 512 or 768 px")
        blocks = {}
        for preset, size, steps, guidance in chosen:
            model = TINY_LABEL if o["arch"] == "tiny" else "full-size SD 2.x architecture, random weights"
            results = bench_pipeline(
                arch=o["arch"],
                preset=preset.name,
                size=size,
                steps=steps,
                guidance_scale=guidance,
                batches=batches,
                device=o["device"],
                dtype=o["dtype"],
                compile=o["compile"],
                compile_mode=o["compile_mode"],
                attention=o["attention"],
                repeats=o["repeats"],
            )
            self.stdout.write(heading(preset, size=size, steps=steps, guidance=guidance, model=model))
            self.stdout.write(format_table(results))
            blocks[preset.name] = results
        all_results = [result for results in blocks.values() for result in results]
        self.stdout.write(json.dumps({"mode": "pipeline", "presets": blocks, "results": all_results}))

    # --- end to end ---------------------------------------------------------------------------

    def end_to_end_outer(self, o, names: list[str]):
        """Re-run this command against a throwaway SQLite database and the tiny models (of the
        presets whose weights are not given in the environment), so the benchmark never touches the
        shop's data."""
        if o["arch"] != "tiny":
            raise CommandError(
                "--end-to-end runs the tiny models (on a GPU machine, point PERSONALIZATION_MODEL, "
                "PERSONALIZATION_MODEL_SD21_BASE or PERSONALIZATION_MODEL_SD_TURBO at real weights)."
            )
        with tempfile.TemporaryDirectory() as tmp:
            env = {
                **os.environ,
                "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
                "MEDIA_ROOT": f"{tmp}/media",
                "PERSONALIZATION_DEVICE": o["device"],
                "PERSONALIZATION_DTYPE": o["dtype"],
                "DEBUG": "1",
            }
            env.pop("REDIS_URL", None)
            manage = [sys.executable, str(ROOT / "manage.py")]
            labels = []
            for name in names:
                if os.environ.get(MODEL_ENV[name]):
                    labels.append(f"{name}=")
                    continue
                model = Path(tmp) / f"tiny-{name}"
                env[MODEL_ENV[name]] = str(model)
                subprocess.run(
                    [*manage, "build_tiny_pipeline", str(model), "--preset", name],
                    env=env,
                    check=True,
                    capture_output=True,
                )
                labels.append(f"{name}={TINY_LABEL}")
            subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
            argv = [*manage, "bench_generation", "--end-to-end", "--inner", "--preset", ",".join(names)]
            for option in ("size", "steps", "guidance"):
                if o[option] is not None:
                    argv += [f"--{option}", str(o[option])]
            argv += ["--requests", str(o["requests"]), "--device", o["device"], "--dtype", o["dtype"]]
            argv += ["--model-label", "|".join(labels)]
            subprocess.run(argv, env=env, check=True)

    def end_to_end_inner(self, o, chosen):
        from brand_guides.models import Brand
        from personalization import presets
        from personalization.conf import conf
        from personalization.engine.core import Job, get_engine
        from personalization.models import GenerationRequest
        from personalization.services import generation_request_create

        labels = dict(label.split("=", 1) for label in o["model_label"].split("|") if "=" in label)
        product = self._bench_product(None)
        worker_env = {**os.environ, "PERSONALIZATION_PROGRESS_INTERVAL": "1.0"}
        log = open(Path(tempfile.gettempdir()) / "bench-worker.log", "wb")  # noqa: SIM115
        worker = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "run_gpu_worker"],
            env=worker_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        e2e: dict[str, list[float]] = {}
        last: dict[str, GenerationRequest] = {}
        try:

            def submit(preset, size, steps, guidance, seed: int):
                req = generation_request_create(
                    product=product,
                    base_color="White",
                    description="Sunset landscape with mountains",
                    steps=steps,
                    guidance_scale=guidance,
                    size=size,
                    seed=seed,
                )
                if req.preset != preset.name:
                    raise CommandError(f"the benchmark product uses preset {req.preset}, not {preset.name}")
                return req

            def wait(req, timeout=600):
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    status = GenerationRequest.objects.filter(pk=req.pk).values_list("status", flat=True)[0]
                    if status in GenerationRequest.TERMINAL:
                        if status != GenerationRequest.Status.SUCCEEDED:
                            raise CommandError(f"request ended {status}")
                        return req
                    time.sleep(0.05)  # a client polling every 50 ms (the storefront polls every 1 s)
                raise CommandError("timed out waiting for the worker")

            for preset, size, steps, guidance in chosen:
                Brand.objects.update(model_preset=preset.name)  # the product's brand chooses the preset
                wait(submit(preset, size, steps, guidance, 10_000))  # warm-up: start, model load, first call
                e2e[preset.name] = []
                for i in range(o["requests"]):
                    t0 = time.perf_counter()
                    last[preset.name] = wait(submit(preset, size, steps, guidance, 20_000 + i))
                    e2e[preset.name].append(time.perf_counter() - t0)
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
            log.close()

        for preset, size, steps, guidance in chosen:
            model = presets.model_for(preset.name)
            engine = get_engine(model, preset=preset.name, device=conf.DEVICE, dtype=conf.DTYPE)
            req = last[preset.name]
            job = Job(
                prompt=req.optimized_prompt,
                negative_prompt=req.negative_prompt,
                seeds=[1],
                steps=steps,
                guidance_scale=req.guidance_scale,
                width=size,
                height=size,
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
                "preset": preset.name,
                "scheduler": engine.scheduler_name,
                "model": labels.get(preset.name) or model,
                "device": str(engine.device),
                "size": size,
                "steps": steps,
                "guidance_scale": guidance,
                "requests": o["requests"],
                "end_to_end_median_s": round(statistics.median(e2e[preset.name]), 3),
                "bare_pipeline_median_s": round(statistics.median(bare), 3),
                "ratio": round(statistics.median(e2e[preset.name]) / statistics.median(bare), 3),
            }
            block = heading(preset, size=size, steps=steps, guidance=guidance, model=result["model"])
            self.stdout.write(block)
            self.stdout.write(
                f"{'path':<34}{'median s':>10}\n"
                f"{'submit -> succeeded (queue+worker)':<34}{result['end_to_end_median_s']:>10.3f}\n"
                f"{'bare pipeline call':<34}{result['bare_pipeline_median_s']:>10.3f}\n"
                f"ratio end-to-end / bare: {result['ratio']:.3f}"
            )
            self.stdout.write(json.dumps(result))

    def _bench_product(self, size):
        from brand_guides.models import Brand

        call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
        # Measure the pipeline + queue + storage path, not the off-brand re-seed (which doubles work
        # by design): no minimum score for the benchmark's brand.
        Brand.objects.update(min_consistency_score=0)
        from personalization.hosts import host

        # The host's first personalizable product made in white (the benchmark's colour).
        rows = list(host().products())
        infos = host().product_infos(rows)
        return next((row for row, info in zip(rows, infos, strict=True) if info.base_color("White")), None)
