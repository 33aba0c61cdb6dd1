import json
import statistics
import sys

import pytest

from personalization.engine import bench
from personalization.engine.bench import bench_pipeline, build_sd21_random_pipeline


def test_bench_tiny_returns_sane_figures():
    results = bench_pipeline(
        arch="tiny", size=64, steps=2, batches=[1, 2], device="cpu", dtype="float32", repeats=2, warmup=0
    )
    assert [r["batch"] for r in results] == [1, 2]
    for r in results:
        assert r["arch"] == "tiny" and r["size"] == 64 and r["steps"] == 2 and r["guidance_scale"] == 7.5
        assert r["seconds_per_call"] > 0 and len(r["times"]) == 2
        assert r["seconds_per_image"] == pytest.approx(r["seconds_per_call"] / r["batch"], rel=1e-2)
        assert r["images_per_second"] == pytest.approx(r["batch"] / r["seconds_per_call"], rel=1e-2)
        assert r["peak_memory_mb"] > 10
        assert r["device"] == "cpu" and r["device_name"].startswith("cpu") and r["dtype"] == "float32"
        assert set(r["stages"]) == {"denoise", "vae_decode", "to_pil"}
        assert all(seconds > 0 for seconds in r["stages"].values())
        # Each stage is a part of the call: with 2 repeats the medians are means, so they sum to at most
        # the mean call time (give or take the rounding to 0.1 ms).
        assert sum(r["stages"].values()) <= statistics.mean(r["times"]) + 1e-3
        assert r["denoise_seconds_per_step"] == pytest.approx(r["stages"]["denoise"] / 2, abs=1e-4)
        assert r["achieved_tflops"] is None  # the tiny model's compute is not counted
        assert r["attention"] == "default" and r["inductor_tuning"] is False


def test_sd21_compute_per_image_matches_the_counted_figures():
    # ../shared/sd21/README.md: 113.3 TFLOP at 768 px and 42.8 at 512 px, 25 steps with CFG.
    assert bench.sd21_tflop_per_image(768, 25) == pytest.approx(113.3, abs=0.2)
    assert bench.sd21_tflop_per_image(512, 25) == pytest.approx(42.8, abs=0.2)


def test_bench_runs_with_another_attention_backend():
    [result] = bench_pipeline(
        arch="tiny",
        size=64,
        steps=1,
        batches=[1],
        device="cpu",
        dtype="float32",
        repeats=1,
        warmup=0,
        attention="math",
    )
    assert result["attention"] == "math"


def test_bench_cli_prints_a_table_and_one_json_line(capsys, tmp_path):
    jsonl = tmp_path / "results.jsonl"
    argv = ["--arch", "tiny", "--size", "64", "--steps", "1", "--batch", "1", "--device", "cpu"]
    assert bench.main([*argv, "--repeats", "1", "--warmup", "0", "--jsonl-out", str(jsonl)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split()[:3] == ["batch", "s/call", "s/image"]
    assert json.loads(lines[-1])[0]["batch"] == 1
    assert json.loads(jsonl.read_text())["arch"] == "tiny"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"arch": "sdxl"},
        {"arch": "tiny", "steps": 0},
        {"arch": "tiny", "batches": []},
        {"arch": "tiny", "batches": [0]},
        {"arch": "tiny", "attention": "xformers"},
    ],
)
def test_bench_rejects_bad_arguments(kwargs):
    args = {
        "arch": "tiny",
        "size": 64,
        "steps": 2,
        "batches": [1],
        "device": "cpu",
        "dtype": "float32",
    } | kwargs
    with pytest.raises(ValueError):
        bench_pipeline(**args)


def test_sd21_random_pipeline_only_knows_512_and_768():
    with pytest.raises(ValueError, match="512 or 768"):
        build_sd21_random_pipeline(device="cpu", dtype="float32", size=1024)


def test_gpu_check_quick_runs_every_section_on_cpu(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(bench.SD21_CONFIGS.parents[2] / "scripts"))
    import gpu_check

    status = gpu_check.main(["--quick", "--device", "cpu", "--out", str(tmp_path), "--budget", "300"])
    results = json.loads((tmp_path / "gpu_results.json").read_text())
    assert status == 0, {name: s.get("error") for name, s in results["sections"].items()}
    sections = {"env", "tiny_engine", "sd21_finite", "attention", "to_pil", "bench_eager"}
    assert set(results["sections"]) == sections
    assert all(section["ok"] for section in results["sections"].values())
    assert (tmp_path / "gpu_log.txt").read_text().count("---") >= len(sections)
    assert results["sections"]["tiny_engine"]["lora_unloaded"] is True
    assert results["sections"]["to_pil"]["identical"] is True
    attention = results["sections"]["attention"]
    assert attention["fastest"] == "flash_attention"  # on a CPU: the only fused kernel there
    assert "unavailable" in attention["backends"]["cudnn_attention"]
    assert results["attention_for_compile"] == "default"
    assert results["summary"]["target_met"] is False  # no sd21 figures in a quick run
    assert sys.modules["gpu_check"].summarize  # the module imported from scripts/


def test_gpu_check_end_to_end_section_runs_the_product_path(tmp_path, monkeypatch):
    """The GPU check's end-to-end section, on the demo model on the CPU: same commands, same parsing."""
    monkeypatch.syspath_prepend(str(bench.SD21_CONFIGS.parents[2] / "scripts"))
    import gpu_check

    check = gpu_check.Check(tmp_path, budget=600)
    record = check.section(
        "e2e", gpu_check.e2e_section, "cpu", size=512, steps=2, requests=1, arch="tiny", minimum=30
    )
    assert record["ok"], record.get("stderr_tail") or record
    result = record["result"]
    assert result["mode"] == "end_to_end" and result["model"] == "demo model (tiny, random weights)"
    assert result["size"] == 512 and result["steps"] == 2 and result["requests"] == 1
    assert result["end_to_end_median_s"] > 0 and result["bare_pipeline_median_s"] > 0
    assert result["ratio"] == pytest.approx(
        result["end_to_end_median_s"] / result["bare_pipeline_median_s"], rel=0.01
    )


def test_the_full_size_pipeline_writer_needs_a_known_size(tmp_path):
    with pytest.raises(ValueError, match="512 or 768"):
        bench.write_sd21_random_pipeline(tmp_path / "sd21", size=640, device="cpu")


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (None, "default"),
        ({"ok": True, "fastest": "flash_attention", "backends": {"flash_attention": {"ms": 1.0}}}, "default"),
        (
            {
                "ok": True,
                "fastest": "cudnn_attention",
                "unet_outputs_finite": True,
                "backends": {"flash_attention": {"ms": 1.0}, "cudnn_attention": {"ms": 0.7}},
            },
            "cudnn",
        ),
        (  # within 5 %: not worth leaving PyTorch's order
            {
                "ok": True,
                "fastest": "cudnn_attention",
                "backends": {"flash_attention": {"ms": 1.0}, "cudnn_attention": {"ms": 0.97}},
            },
            "default",
        ),
        (  # faster, but the UNet is not finite with it
            {
                "ok": True,
                "fastest": "cudnn_attention",
                "unet_outputs_finite": False,
                "backends": {"flash_attention": {"ms": 1.0}, "cudnn_attention": {"ms": 0.5}},
            },
            "default",
        ),
        (
            {
                "ok": True,
                "fastest": "efficient_attention",
                "backends": {"flash_attention": {"unavailable": "no"}, "efficient_attention": {"ms": 0.5}},
            },
            "efficient",
        ),
    ],
)
def test_gpu_check_chooses_the_attention_backend_from_kernel_timings(section, expected, monkeypatch):
    monkeypatch.syspath_prepend(str(bench.SD21_CONFIGS.parents[2] / "scripts"))
    import gpu_check

    assert gpu_check.choose_attention(section) == expected
