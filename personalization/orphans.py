"""Stored customer files that no row references, found by their deterministic keys and removed.

Every customer file is written under ``storage.REQUEST_ROOT`` (a request's) or ``storage.LINE_ROOT``
(an ordered line's). A write that its row never follows leaves an object nothing points to: a submit
or an order rolled back after its file was written, a worker that stored a variation's design and
then failed on its mockup. The row is the truth: an object under those roots that no registered
file field (``files.REGISTRY``) names is an orphan, once it is older than a grace period (a write in
flight has not reached its row yet). ``orphan_files`` lists them through the storage's own
``listdir`` (local folders and S3 alike); ``orphan_files_delete`` removes them (each name checked
again just before); ``orphan_sweep`` does that from the periodic sweep, at most once per
ORPHAN_SWEEP_SECONDS. ``manage.py personalization_orphans`` prints or deletes them by hand.
"""

import itertools
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.apps import apps
from django.utils import timezone

from .conf import conf
from .files import REGISTRY
from .storage import LINE_ROOT, REQUEST_ROOT, private_storage

logger = logging.getLogger(__name__)
ROOTS = (REQUEST_ROOT, LINE_ROOT)
BATCH = 500  # stored names looked up in the rows per query


@dataclass(frozen=True)
class StoredObject:
    name: str
    size: int
    modified: datetime


def stored_names(*, roots=None):
    """Every object name under ``roots`` (None: ROOTS) in the private storage, folder by folder."""
    for root in roots or ROOTS:
        yield from _walk(root.rstrip("/"))


def _walk(path: str):
    try:
        folders, files = private_storage.listdir(path)
    except FileNotFoundError:  # local storage: nothing was ever written there
        return
    for name in files:
        yield f"{path}/{name}"
    for folder in folders:
        yield from _walk(f"{path}/{folder}")


def referenced(names) -> set[str]:
    """Those of ``names`` that a registered file field of some row holds (several rows may share one
    file: a cached answer names the earlier request's pictures)."""
    names = list(names)
    found: set[str] = set()
    for entry in REGISTRY:
        model = apps.get_model(entry.model)
        for field_name in entry.fields:
            found.update(
                model._default_manager.filter(**{f"{field_name}__in": names}).values_list(
                    field_name, flat=True
                )
            )
    return found


def orphan_files(*, older_than: float | None = None, now=None, roots=None) -> list[StoredObject]:
    """The objects under ``roots`` (None: ROOTS) that no row references, last written more than
    ``older_than`` seconds (None: ORPHAN_GRACE_SECONDS) before ``now``. The rows are asked about
    BATCH names at a time; only the unreferenced objects are asked their age and size (on S3 each is
    a request)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=conf.ORPHAN_GRACE_SECONDS if older_than is None else older_than)
    orphans = []
    names = stored_names(roots=roots)
    while batch := list(itertools.islice(names, BATCH)):
        kept = referenced(batch)
        for name in batch:
            if name in kept:
                continue
            try:
                modified = private_storage.get_modified_time(name)
                if modified < cutoff:
                    orphans.append(
                        StoredObject(name=name, size=private_storage.size(name), modified=modified)
                    )
            except FileNotFoundError:  # deleted meanwhile
                continue
    return sorted(orphans, key=lambda item: item.name)


def orphan_files_delete(*, older_than: float | None = None, now=None, roots=None) -> tuple[int, int]:
    """Delete the orphans ``orphan_files`` lists, each checked again first (a row that came to name
    it meanwhile keeps it); returns (files deleted, bytes)."""
    count = size = 0
    for item in orphan_files(older_than=older_than, now=now, roots=roots):
        if referenced([item.name]):
            continue
        private_storage.delete(item.name)
        count, size = count + 1, size + item.size
    if count:
        logger.warning("orphan files: %s deleted (%s bytes)", count, size)
    return count, size


_last_sweep: datetime | None = None  # when this process last deleted orphans (orphan_sweep)


def orphan_sweep(*, now=None) -> int | None:
    """``orphan_files_delete`` from the periodic sweep, at most once per ORPHAN_SWEEP_SECONDS in this
    process (0: never); returns the files deleted, None when it was not its time."""
    global _last_sweep
    now = now or timezone.now()
    every = float(conf.ORPHAN_SWEEP_SECONDS or 0)
    if every <= 0 or (_last_sweep is not None and now - _last_sweep < timedelta(seconds=every)):
        return None
    _last_sweep = now
    deleted, _ = orphan_files_delete(now=now)
    return deleted
