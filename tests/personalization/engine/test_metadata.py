import io
import subprocess
import sys
from pathlib import Path

from PIL import Image

from personalization.engine.metadata import png_bytes, read_parameters

ROOT = Path(__file__).resolve().parents[3]

PARAMS = {
    "prompt": "a red fox on a mug",
    "negative_prompt": "blurry, text",
    "seed": 123,
    "steps": 25,
    "guidance_scale": 7.5,
    "scheduler": "DPMSolverMultistepScheduler (DPM++ 2M)",
    "model": "stabilityai/stable-diffusion-2-1",
    "width": 768,
    "height": 768,
}


def test_png_has_the_automatic1111_parameters_chunk():
    data = png_bytes(Image.new("RGB", (8, 8)), **PARAMS)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        text = image.text
    assert text["parameters"] == (
        "a red fox on a mug\n"
        "Negative prompt: blurry, text\n"
        "Steps: 25, Sampler: DPM++ 2M, CFG scale: 7.5, Seed: 123, Size: 768x768, "
        "Model: stabilityai/stable-diffusion-2-1, Scheduler: DPMSolverMultistepScheduler (DPM++ 2M)"
    )
    assert (
        text["prompt"] == "a red fox on a mug" and text["seed"] == "123" and text["guidance_scale"] == "7.5"
    )


def test_parameters_round_trip_with_extras_quoting_and_unicode():
    params = {**PARAMS, "prompt": 'Café: a "fox", on a mug\nsecond line', "negative_prompt": ""}
    extra = {"Brand": "Acme, Inc.", "Denoising strength": 0.6, "Lora": "acme_v2"}
    data = png_bytes(Image.new("RGB", (8, 8)), **params, extra=extra)
    assert "Negative prompt" not in Image.open(io.BytesIO(data)).text["parameters"]  # A1111 omits empty
    read = read_parameters(data)
    assert read == {
        "prompt": params["prompt"],
        "negative_prompt": "",
        "steps": 25,
        "sampler": "DPM++ 2M",
        "guidance_scale": 7.5,
        "seed": 123,
        "width": 768,
        "height": 768,
        "model": "stabilityai/stable-diffusion-2-1",
        "scheduler": "DPMSolverMultistepScheduler (DPM++ 2M)",
        "Brand": "Acme, Inc.",
        "strength": 0.6,  # a known label (the Recipe writes it), read back as a number
        "Lora": "acme_v2",
    }


def test_read_parameters_without_chunk_is_empty():
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="PNG")
    assert read_parameters(buffer.getvalue()) == {}


def test_metadata_does_not_import_torch():
    code = (
        "import sys, personalization.engine.metadata\n"
        "print('torch' in sys.modules, 'diffusers' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False False"
