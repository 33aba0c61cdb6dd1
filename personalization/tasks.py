"""django-q2 task entry points: thin wrappers. Generations and print files are routed to the "gpu"
cluster by personalization.queue; emails to the host's default cluster by personalization.emails."""


def generation_run(request_id: str) -> str:
    from .worker import run

    return run(request_id)


def sweep(*, now=None) -> dict:
    """The sweeper (run_gpu_worker's loop, sweep_generations, or a schedule): leases, waiting
    requests and owed print jobs whose queue message was lost, owners' regenerations, and (once an
    hour, ORPHAN_SWEEP_SECONDS) stored files that no row references."""
    from .approval import line_regeneration_settle
    from .lifecycle import sweep_expired_leases
    from .orphans import orphan_sweep
    from .print_queue import print_jobs_wake

    counts = sweep_expired_leases(now=now)
    # Print jobs whose wake-up was lost (the broker was down at checkout or approval).
    counts["print_jobs_woken"] = print_jobs_wake(now=now)
    # Owners' regenerations that ended without the worker settling them (a failure, a lost worker).
    counts["regenerations_settled"] = line_regeneration_settle()
    # Files whose row never came (a rolled-back submit or order, a failure mid-store); rate-limited.
    counts["orphans_deleted"] = orphan_sweep(now=now)
    return counts


def print_file_render(design_id: int) -> str:
    from . import heartbeat
    from .print_jobs import line_design_print_job

    with heartbeat.busy():  # the worker's row says busy while it renders (the dashboard, health)
        design = line_design_print_job(design_id=design_id)
    return design.print_job_error_code or design.print_file.name


def email_send(kind: str, key: str) -> str:
    """A customer email, at most once (personalization.emails); runs on the default cluster."""
    from .emails import email_deliver

    return email_deliver(kind=kind, key=key)


def email_sweep() -> dict:
    """Queue again the emails whose task was lost (personalization.emails); scheduled on the same
    cluster every EMAIL_SWEEP_MINUTES."""
    from .emails import email_sweep as sweep_emails

    return sweep_emails()
