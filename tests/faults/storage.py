"""A local private storage whose writes fail on demand, for the fault suite (``scripts/faults.py``).

The suite asks for a fault by writing a counter file in the control folder; every process of the
suite (the runner, the worker processes) reads it on each write, under a lock:

- ``fail_writes``: that many writes of a design or mockup raise ``OSError`` (disk full) first;
- ``hang_writes``: that many writes of a design or mockup hang (HANG_SECONDS) first, like a storage
  call that never returns: the task runs past its timeout;
- ``drop_db``: that many writes of a design are followed by the end of this process's database
  connection (``pg_terminate_backend``): the connection is gone between the stored file and its row.

Only a request's design and mockup files are failed (never a live preview, a reference picture or an
ordered line's copy)."""

import fcntl
import logging
import os
import time
from pathlib import Path

from django.core.files.storage import FileSystemStorage
from django.db import DatabaseError, connection

from personalization.storage import REQUEST_ROOT

logger = logging.getLogger(__name__)
HANG_SECONDS = 600.0


def take(control_dir: str | Path, name: str) -> bool:
    """Use one of the fault ``name``'s count in ``control_dir``; False when none is left."""
    path = Path(control_dir) / name
    with open(Path(control_dir) / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            left = int(path.read_text() or 0)
        except (FileNotFoundError, ValueError):
            return False
        if left <= 0:
            return False
        path.write_text(str(left - 1))
        return True


def arm(control_dir: str | Path, name: str, count: int) -> None:
    """Ask for ``count`` faults ``name`` (0: none)."""
    with open(Path(control_dir) / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        (Path(control_dir) / name).write_text(str(count))


def left(control_dir: str | Path, name: str) -> int:
    try:
        return int((Path(control_dir) / name).read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0


class FaultyStorage(FileSystemStorage):
    def __init__(self, *, control_dir: str, **kwargs):
        self.control_dir = control_dir
        super().__init__(**kwargs)

    def _save(self, name, content):
        design = name.startswith(f"{REQUEST_ROOT}/") and name.endswith(("/design.png", "/mockup.png"))
        if design and take(self.control_dir, "fail_writes"):
            raise OSError(28, f"No space left on device (fault suite: {name})")
        if design and take(self.control_dir, "hang_writes"):
            logger.warning("fault suite: the write of %s hangs", name)
            time.sleep(HANG_SECONDS)  # django-q2's timeout (SIGALRM) ends it
        saved = super()._save(name, content)
        if design and name.endswith("/design.png") and take(self.control_dir, "drop_db"):
            drop_connection()
        return saved


def drop_connection() -> None:
    """End this process's own PostgreSQL connection from the server side, as a failover or a
    restarted pooler would."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    except DatabaseError as exc:  # the server ends the connection while answering
        logger.warning("fault suite: database connection of pid %s dropped (%s)", os.getpid(), exc)
