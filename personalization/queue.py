"""The queue only wakes the worker: the database row is the source of truth."""

from .conf import conf


def enqueue_generation(request_id) -> None:
    from django_q.tasks import async_task

    async_task(
        "personalization.tasks.generation_run",
        str(request_id),
        cluster=conf.GPU_CLUSTER,
        task_name=f"generation-{request_id}",
        group="generation",
    )


def enqueue_print_file(design_id) -> None:
    from django_q.tasks import async_task

    async_task(
        "personalization.tasks.print_file_render",
        design_id,
        cluster=conf.GPU_CLUSTER,
        task_name=f"print-file-{design_id}",
        group="print_file",
    )
