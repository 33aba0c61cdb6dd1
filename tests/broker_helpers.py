"""django-q2's async_task replaced by a broker that can be down, for the "broker down" faults."""

from datetime import timedelta

import redis


class Broker:
    """async_task as the queue sees it: raises redis' ConnectionError while ``up`` is False; records
    the task names it accepted in ``sent``."""

    def __init__(self):
        self.up = False
        self.sent: list[str] = []
        self.refused = 0

    def __call__(self, func, *args, task_name=None, **kwargs):
        if not self.up:
            self.refused += 1
            raise redis.exceptions.ConnectionError(
                "Error 111 connecting to 127.0.0.1:6379. Connection refused."
            )
        self.sent.append(task_name)
        return "task-id"


def broken_broker(monkeypatch) -> Broker:
    """django-q2's async_task replaced by a Broker, down to begin with."""
    fake = Broker()
    monkeypatch.setattr("django_q.tasks.async_task", fake)
    return fake


def sweeps(start, *, every: float, count: int):
    """The times of ``count`` sweeps, ``every`` seconds apart, from ``start``."""
    return [start + timedelta(seconds=every * n) for n in range(count)]
