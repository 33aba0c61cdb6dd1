"""The print-file job, worker side: only the ``print_file_render`` task (run by the GPU worker's
cluster, see ``personalization.queue.enqueue_print_file``) calls it; the web process never does.

It reads the design frozen onto an order line (``services.line_design_create``), renders the print
file with ``printing.print_file`` (Lanczos, or the diffusers upscaler named by PRINT_UPSCALER,
which imports torch) and stores it next to the line's other files.
"""

from PIL import Image

from .conf import conf
from .models import LineDesign
from .printing import print_file
from .specs import PrintAreaSpec
from .storage import line_prefix, store_bytes


def line_design_render_print_file(*, design_id: int) -> LineDesign:
    """Render (or re-render) the print-ready file of an ordered design: the print area's physical
    size at its DPI plus bleed, sRGB, DPI in the file; warnings stored (e.g. low effective DPI).
    Upscaled with Lanczos, or with the diffusers upscaler named by PRINT_UPSCALER."""
    design = LineDesign.objects.get(pk=design_id)
    area = design.print_area
    with design.image.open("rb") as fh:
        image = Image.open(fh, formats=["PNG"])  # written by the worker as PNG
        image.load()
    upscaler = None
    if conf.PRINT_UPSCALER:
        from .engine.upscale import diffusers_upscaler  # torch: imported only when configured

        upscaler = diffusers_upscaler(
            conf.PRINT_UPSCALER, device=conf.DEVICE, dtype=conf.DTYPE, steps=conf.PRINT_UPSCALER_STEPS
        )
    result = print_file(
        design=image.convert("RGB"),
        print_area=PrintAreaSpec(
            width_mm=area["width_mm"],
            height_mm=area["height_mm"],
            dpi=area["dpi"],
            safe_margin_mm=area.get("safe_margin_mm", 0),
            min_dpi=area.get("min_dpi", 150),
        ),
        bleed_mm=conf.PRINT_BLEED_MM,
        upscaler=upscaler,
    )
    design.print_file.name = store_bytes(f"{line_prefix(design.order_line_id)}/print.png", result.png_bytes)
    design.print_warnings = list(result.warnings)
    design.save(update_fields=["print_file", "print_warnings"])
    return design
