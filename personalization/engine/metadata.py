"""Generation parameters inside PNG files, the way AUTOMATIC1111 writes them. Pillow only, no torch.

The "parameters" text chunk is what A1111, ComfyUI, Civitai and most image viewers read:

    a red fox on a mug
    Negative prompt: blurry
    Steps: 25, Sampler: DPM++ 2M, CFG scale: 7.5, Seed: 123, Size: 768x768, Model: ..., Scheduler: ...

Each field is also written as its own text chunk ("prompt", "seed", ...) for simple readers.
"""

import io
import json

from PIL import Image, PngImagePlugin

# "Label in the parameters line" -> (key in read_parameters' result, type)
FIELDS = {
    "Steps": ("steps", int),
    "Sampler": ("sampler", str),
    "CFG scale": ("guidance_scale", float),
    "Seed": ("seed", int),
    "Size": ("size", str),
    "Model": ("model", str),
    "Scheduler": ("scheduler", str),
    # Written by personalization.recipe.Recipe.png_parameters (A1111 writes the img2img strength as
    # "Denoising strength" too).
    "Preset": ("preset", str),
    "Denoising strength": ("strength", float),
    "LoRA scale": ("lora_scale", float),
    "Reference fit": ("reference_fit", str),  # img2img: cover or contain
}


def quote(value) -> str:
    """A1111's quoting: values with a comma, colon or newline are written as JSON strings."""
    text = str(value)
    if "," not in text and ":" not in text and "\n" not in text:
        return text
    return json.dumps(text, ensure_ascii=False)


def unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    return text


# A1111's sampler names of the schedulers whose label's parenthesis is not one.
A1111_SAMPLERS = {"EulerDiscreteScheduler": "Euler"}


def sampler_name(scheduler: str) -> str:
    """ "DPMSolverMultistepScheduler (DPM++ 2M)" -> "DPM++ 2M", "EulerDiscreteScheduler (trailing
    timesteps)" -> "Euler"; other names are returned as they are."""
    if (name := scheduler.split(" (")[0]) in A1111_SAMPLERS:
        return A1111_SAMPLERS[name]
    if scheduler.endswith(")") and " (" in scheduler:
        return scheduler[scheduler.index(" (") + 2 : -1]
    return scheduler


def parameters_text(
    *,
    prompt: str,
    negative_prompt: str,
    seed: int,
    steps: int,
    guidance_scale: float,
    scheduler: str,
    model: str,
    width: int,
    height: int,
    extra: dict | None = None,
) -> str:
    fields = {
        "Steps": steps,
        "Sampler": sampler_name(scheduler),
        "CFG scale": float(guidance_scale),
        "Seed": seed,
        "Size": f"{width}x{height}",
        "Model": model,
        "Scheduler": scheduler,
        **(extra or {}),
    }
    line = ", ".join(f"{label}: {quote(value)}" for label, value in fields.items())
    negative = f"\nNegative prompt: {negative_prompt}" if negative_prompt else ""  # A1111 omits an empty one
    return f"{prompt}{negative}\n{line}"


def png_bytes(
    image: Image.Image,
    *,
    prompt: str,
    negative_prompt: str,
    seed: int,
    steps: int,
    guidance_scale: float,
    scheduler: str,
    model: str,
    width: int,
    height: int,
    extra: dict | None = None,
) -> bytes:
    """Encode `image` as PNG with the A1111 "parameters" chunk and one text chunk per field."""
    info = PngImagePlugin.PngInfo()
    info.add_text(
        "parameters",
        parameters_text(
            prompt=prompt,
            negative_prompt=negative_prompt,
            seed=seed,
            steps=steps,
            guidance_scale=guidance_scale,
            scheduler=scheduler,
            model=model,
            width=width,
            height=height,
            extra=extra,
        ),
    )
    fields = {
        "prompt": prompt,
        "negative_prompt": negative_prompt,
        "seed": seed,
        "steps": steps,
        "guidance_scale": float(guidance_scale),
        "scheduler": scheduler,
        "model": model,
        "width": width,
        "height": height,
        **(extra or {}),
    }
    for key, value in fields.items():
        info.add_text(key, str(value))  # Pillow writes iTXt (UTF-8) when the text is not Latin-1
    buffer = io.BytesIO()
    # Fast zlib level: lossless all the same, several times quicker than the default on noisy images.
    image.save(buffer, format="PNG", pnginfo=info, compress_level=1)
    return buffer.getvalue()


def split_fields(line: str) -> list[tuple[str, str]]:
    """Split 'A: 1, B: "x, y", C: 3' into pairs, honouring A1111's JSON-quoted values."""
    pairs = []
    rest = line.strip()
    while rest:
        label, sep, rest = rest.partition(": ")
        if not sep:
            break
        if rest.startswith('"'):
            value, end = json.JSONDecoder().raw_decode(rest)
            value, rest = json.dumps(value, ensure_ascii=False), rest[end:]
        else:
            value, _, rest = rest.partition(",")
        pairs.append((label.strip(), value.strip()))
        rest = rest.lstrip(", ")
    return pairs


def read_parameters(data: bytes) -> dict:
    """Parse the A1111 "parameters" chunk of a PNG into a dict.

    Keys: prompt, negative_prompt, steps, sampler, guidance_scale, seed, width, height, model, scheduler,
    preset, strength and reference_fit (img2img), lora_scale (with a LoRA), plus any other label as
    written. Returns {}
    when the PNG has no "parameters" chunk.
    """
    with Image.open(io.BytesIO(data)) as image:
        text = image.text.get("parameters")  # type: ignore[attr-defined]
    if text is None:
        return {}
    lines = text.split("\n")
    line = lines.pop()
    negative_lines = [i for i, item in enumerate(lines) if item.startswith("Negative prompt: ")]
    if negative_lines:
        first = negative_lines[0]
        prompt = "\n".join(lines[:first])
        negative = "\n".join(lines[first:])[len("Negative prompt: ") :]
    else:
        prompt, negative = "\n".join(lines), ""
    result: dict = {"prompt": prompt, "negative_prompt": negative}
    for label, raw in split_fields(line):
        value = unquote(raw)
        key, kind = FIELDS.get(label, (label, str))
        result[key] = kind(value)
    if "size" in result:
        width, _, height = result.pop("size").partition("x")
        result["width"], result["height"] = int(width), int(height)
    return result
