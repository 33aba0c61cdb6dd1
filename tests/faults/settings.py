"""Settings of the fault suite's processes (``scripts/faults.py``): the test settings, the private
storage wrapped by ``tests.faults.storage.FaultyStorage`` (its faults asked for through files in
FAULTS_CONTROL_DIR) and small sizes and steps for the tiny pipeline. Only this module reads the
FAULTS_* variables (FAULTS_CONTROL_DIR, FAULTS_TASK_TIMEOUT_LOAD_MARGIN); production settings never
name them."""

import os

from config.settings_test import *  # noqa: F403
from config.settings_test import PERSONALIZATION, PRIVATE_MEDIA_ROOT, STORAGES

FAULTS_CONTROL_DIR = os.environ["FAULTS_CONTROL_DIR"]

STORAGES = {
    **STORAGES,
    "personalization_private": {
        "BACKEND": "tests.faults.storage.FaultyStorage",
        "OPTIONS": {
            "location": str(PRIVATE_MEDIA_ROOT),
            "base_url": "/private-media/",
            "allow_overwrite": True,
            "control_dir": FAULTS_CONTROL_DIR,
        },
    },
}

PERSONALIZATION = {
    **PERSONALIZATION,
    # Small and quick on the CPU; 512 px with many steps is the "task past its timeout".
    "PRESET_OVERRIDES": {
        "sd21": {"sizes": (64, 512), "default_size": 64, "default_steps": 2},
        "sd21-base": {"sizes": (64,), "default_size": 64, "default_steps": 2},
        "sd-turbo": {"sizes": (64,), "default_size": 64},
    },
    "STORAGE_RETRY_SECONDS": 0.1,
    # The suite counts every stored file no row references (grace 0) after each case: no sweep may
    # delete one first.
    "ORPHAN_SWEEP_SECONDS": 0,
    "PROGRESS_INTERVAL": 0.2,
    # Each worker process loads its model before it reads a task (django-q2's post_spawn), so a
    # timeout shorter than loading kills nothing here; on a crowded CI machine loading takes tens of
    # seconds, and the suite's short task timeout would be refused at every restart. The case
    # timeout_below_load checks the refusal with the default margin (FAULTS_TASK_TIMEOUT_LOAD_MARGIN=2).
    "TASK_TIMEOUT_LOAD_MARGIN": float(os.environ.get("FAULTS_TASK_TIMEOUT_LOAD_MARGIN", "0")),
}
