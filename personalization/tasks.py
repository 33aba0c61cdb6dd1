"""django-q2 task entry points: thin wrappers, routed to the "gpu" cluster by personalization.queue."""


def generation_run(request_id: str) -> str:
    from .worker import run

    return run(request_id)


def sweep() -> dict:
    from .lifecycle import sweep_expired_leases

    return sweep_expired_leases()


def print_file_render(design_id: int) -> str:
    from .print_jobs import line_design_render_print_file

    design = line_design_render_print_file(design_id=design_id)
    return design.print_file.name
