"""The print-file job, worker side: only the ``print_file_render`` task (run by the GPU worker's
cluster, see ``personalization.queue.enqueue_print_file``) calls it; the web process never does.

It reads the design frozen onto an order line (``services.line_design_create``) with its frozen
composition (``conditioning.artwork_spec_frozen``: logo, text and font as they were ordered),
renders the print files with ``printing.print_files`` (Lanczos, or the diffusers upscaler named by
PRINT_UPSCALER, which imports torch) and stores the PNG and the PDF next to the line's other files.

A print job is owed while the design's ``print_job_wake_at`` is set (``personalization.print_queue``);
storing the files here pays it off. Each job of an owed design is a try, counted when it starts (so a
worker lost mid-job counts too). A try that fails records its code and message and is woken again
after 2 x LEASE_SECONDS x 2^(try - 1) (WAKE_MAX_SECONDS at most); after PRINT_MAX_ATTEMPTS tries the
design's print file is failed (``print_job_failed_at``): no longer owed, never given out, shown to the
owner in the admin, who may retry it (``print_queue.line_design_print_retry``). Codes:

- ``design_file_missing``: the design's picture cannot be read from the storage;
- ``print_render_error``: rendering or storing the print files raised;
- ``worker_lost``: the tries were used up by jobs that never finished (a worker killed mid-job).
"""

import logging
from datetime import timedelta

from django.db.models import F
from django.utils import timezone
from PIL import Image

from .conditioning import artwork_spec_frozen
from .conf import conf
from .models import LineDesign
from .printing import print_files
from .storage import line_prefix, store_bytes

logger = logging.getLogger(__name__)


class DesignFileMissing(Exception):
    """The design's picture cannot be read from the storage."""


def retry_delay(attempts: int) -> timedelta:
    """How long after its ``attempts``-th failed try an owed print job is woken again."""
    seconds = conf.LEASE_SECONDS * 2 * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, max(conf.WAKE_MAX_SECONDS, conf.LEASE_SECONDS * 2)))


def line_design_print_job(*, design_id: int) -> LineDesign:
    """The print job (the task's entry point): one counted try of an owed design's print files, given
    up after PRINT_MAX_ATTEMPTS tries. A design whose print file failed is left alone (only the
    owner's retry owes it again); one not owed (a message delivered twice) is rendered again."""
    design = LineDesign.objects.get(pk=design_id)
    owed = design.print_job_wake_at
    if owed is None:
        if design.print_job_failed_at is not None:
            return design
        return line_design_render_print_file(design_id=design_id)
    if design.print_job_attempts >= conf.PRINT_MAX_ATTEMPTS:
        message = f"{design.print_job_attempts} print job(s) started and none finished (worker lost)."
        _give_up(design, match={"print_job_wake_at": owed}, code="worker_lost", message=message)
        return design
    rows = LineDesign.objects.filter(pk=design.pk)
    rows.update(print_job_attempts=F("print_job_attempts") + 1)
    attempts = rows.values_list("print_job_attempts", flat=True).get()
    try:
        return line_design_render_print_file(design_id=design_id)
    except DesignFileMissing as exc:
        code, message = "design_file_missing", str(exc)
    except Exception as exc:
        logger.exception("print job of design %s failed (try %s)", design.pk, attempts)
        code, message = "print_render_error", f"{type(exc).__name__}: {exc}"
    design.refresh_from_db()
    # This try's own row, unless the job was owed anew meanwhile (an approval resets the tries) or
    # another try started (a message delivered twice): the sweeper may have moved its wake-up.
    match = {"print_job_attempts": attempts, "print_job_wake_at__isnull": False}
    if attempts >= conf.PRINT_MAX_ATTEMPTS:
        _give_up(design, match=match, code=code, message=message)
    else:
        # Tried again by the sweeper when this time comes.
        LineDesign.objects.filter(pk=design.pk, **match).update(
            print_job_wake_at=timezone.now() + retry_delay(attempts),
            print_job_error_code=code,
            print_job_error_message=message,
        )
        logger.warning("print job of design %s failed (try %s): %s: %s", design.pk, attempts, code, message)
    design.refresh_from_db()
    return design


def _give_up(design: LineDesign, *, match: dict, code: str, message: str) -> None:
    """No more tries: the design's print file is failed (if its row still ``match``es)."""
    failed = LineDesign.objects.filter(pk=design.pk, **match).update(
        print_job_wake_at=None,
        print_job_failed_at=timezone.now(),
        print_job_error_code=code,
        print_job_error_message=message,
    )
    if failed:
        logger.error(
            "print file of design %s FAILED after %s tries (%s: %s): the shop may retry it in the admin",
            design.pk,
            design.print_job_attempts,
            code,
            message,
        )
    design.refresh_from_db()


def line_design_render_print_file(*, design_id: int) -> LineDesign:
    """Render (or re-render) the print-ready files of an ordered design: the artwork (design, logo,
    text) at the print area's physical size at its DPI plus bleed, sRGB, as ``print.png`` (DPI in
    the file) and ``print.pdf`` (TrimBox and BleedBox set); warnings stored (e.g. low effective DPI).
    A line ordered before compositions were frozen prints its design alone, cover-fitted."""
    design = LineDesign.objects.get(pk=design_id)
    owed = design.print_job_wake_at
    spec = artwork_spec_frozen(design)
    try:
        with design.image.open("rb") as fh:
            image = Image.open(fh, formats=["PNG"])  # written by the worker as PNG
            image.load()
    except OSError as exc:  # gone from the storage, unreadable, not a PNG
        raise DesignFileMissing(f"The design's picture {design.image.name!r} cannot be read: {exc}") from exc
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
    LineDesign.objects.filter(pk=design.pk, print_job_wake_at=owed).update(
        print_job_wake_at=None, print_job_error_code="", print_job_error_message=""
    )
    design.print_job_wake_at = None if owed == design.print_job_wake_at else design.print_job_wake_at
    return design
