"""The print-file job, worker side: only the ``print_file_render`` task (run by the GPU worker's
cluster, see ``personalization.queue.enqueue_print_file``) calls it; the web process never does.

It reads the design frozen onto an order line (``services.line_design_create``) with its frozen
composition (``conditioning.artwork_spec_frozen``: logo, text and font as they were ordered),
renders the print files with ``printing.print_files`` (Lanczos, or the diffusers upscaler named by
PRINT_UPSCALER, which imports torch) and stores the PNG and the PDF next to the line's other files.

A print job is owed while the design's ``print_job_wake_at`` is set (``personalization.print_queue``);
storing the files here pays it off.
"""

from PIL import Image

from .conditioning import artwork_spec_frozen
from .conf import conf
from .models import LineDesign
from .printing import print_files
from .storage import line_prefix, store_bytes


def line_design_render_print_file(*, design_id: int) -> LineDesign:
    """Render (or re-render) the print-ready files of an ordered design: the artwork (design, logo,
    text) at the print area's physical size at its DPI plus bleed, sRGB, as ``print.png`` (DPI in
    the file) and ``print.pdf`` (TrimBox and BleedBox set); warnings stored (e.g. low effective DPI).
    A line ordered before compositions were frozen prints its design alone, cover-fitted."""
    design = LineDesign.objects.get(pk=design_id)
    owed = design.print_job_wake_at
    spec = artwork_spec_frozen(design)
    with design.image.open("rb") as fh:
        image = Image.open(fh, formats=["PNG"])  # written by the worker as PNG
        image.load()
    upscaler = None
    if conf.PRINT_UPSCALER:
        from .engine.upscale import diffusers_upscaler  # torch: imported only when configured

        upscaler = diffusers_upscaler(
            conf.PRINT_UPSCALER, device=conf.DEVICE, dtype=conf.DTYPE, steps=conf.PRINT_UPSCALER_STEPS
        )
    result = print_files(image.convert("RGB"), spec, bleed_mm=conf.PRINT_BLEED_MM, upscaler=upscaler)
    prefix = line_prefix(design.order_line_id)
    design.print_file.name = store_bytes(f"{prefix}/print.png", result.png_bytes)
    design.print_pdf.name = store_bytes(f"{prefix}/print.pdf", result.pdf_bytes)
    design.print_warnings = list(result.warnings)
    design.save(update_fields=["print_file", "print_pdf", "print_warnings"])
    # Paid off, unless it was owed again meanwhile (an approval while this ran): that one stays.
    LineDesign.objects.filter(pk=design.pk, print_job_wake_at=owed).update(print_job_wake_at=None)
    design.print_job_wake_at = None if owed == design.print_job_wake_at else design.print_job_wake_at
    return design
