"""The plugin's settings: one namespaced dict, ``settings.PERSONALIZATION``, with defaults.

Read lazily on every access (never at import time), so ``override_settings`` works in tests.
"""

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # The host (no default: `manage.py check` names what is missing). Its product and order-line
    # models, named like AUTH_USER_MODEL ("app_label.ModelName"), and the dotted path of its
    # personalization.hosts.HostAdapter subclass, which tells the plugin what it needs about a
    # product. docs/PLUGIN.md.
    "PRODUCT_MODEL": "",
    "ORDER_LINE_MODEL": "",
    "HOST_ADAPTER": "",
    # The model presets (personalization.presets): the fallback preset when neither the product nor
    # its brand chooses one, where each preset's weights are ({name: hub id or local directory}),
    # and narrower ranges or other defaults per preset ({name: {field: value}}).
    "DEFAULT_PRESET": "sd21",
    "MODELS": {},
    "PRESET_OVERRIDES": {},
    # The weights of the "sd21" preset when MODELS has none (the older single-model setting).
    "MODEL": "",
    # The presets whose weights are the demo model (random weights, pictures are noise): the site
    # banner shows while a preset in use is one of them, and the studio says it next to the model.
    # None: every preset when DEMO_MODEL is on, none when it is off (the older single-model setting).
    "DEMO_PRESETS": None,
    # The default preset runs on demo weights (kept for compatibility; DEMO_PRESETS is per preset).
    "DEMO_MODEL": True,
    # Of the DEMO_PRESETS, those whose demo weights are the trained pattern model (train_demo_model,
    # docs/DEMO_MODEL.md), not random weights: the banner and the studio say what they draw.
    "TRAINED_DEMO_PRESETS": (),
    "DEVICE": "auto",
    "DTYPE": "auto",
    "COMPILE": False,
    # torch.compile mode when COMPILE is on: "reduce-overhead" (Inductor + CUDA graphs), "default",
    # "max-autotune", "max-autotune-no-cudagraphs".
    "COMPILE_MODE": "reduce-overhead",
    # Scaled-dot-product-attention backends first tried: "default" (PyTorch's order), "cudnn",
    # "flash", "efficient", "math".
    "ATTENTION": "default",
    # Shapes the worker runs once before it claims work ("WIDTHxHEIGHTxIMAGES" strings or
    # (width, height, images) tuples), so compiling and CUDA-graph recording never happen inside a
    # customer's request. Empty: none, or, with COMPILE on, each of the preset's sizes at one image.
    "WARMUP_SHAPES": (),
    # The generation parameters' ranges and defaults are the model presets' (personalization.presets;
    # narrowed per preset with PRESET_OVERRIDES above).
    "DESCRIPTION_MAX_LENGTH": 500,
    "REFERENCE_MAX_BYTES": 10 * 1024 * 1024,
    "REFERENCE_MAX_PIXELS": 4096 * 4096,
    # Policy: global banned terms and third-party trademarks (None: the built-in lists).
    "BANNED_TERMS": None,
    "TRADEMARKS": None,
    # Worker: leases, attempts, progress, batching.
    "GPU_CLUSTER": "gpu",
    "LEASE_SECONDS": 60,
    "MAX_ATTEMPTS": 3,
    "PROGRESS_INTERVAL": 1.0,
    "PREVIEW_SIZE": 128,
    # Live previews of a text or monogram (studio and API; each composes a mockup, ~100-300 ms of
    # CPU): per account or visitor, in DRF's rate syntax. None: unlimited.
    "DESIGN_PREVIEW_RATE": "120/min",
    "MAX_BATCH_IMAGES": 8,
    "SWEEP_INTERVAL_SECONDS": 10,
    # run_gpu_worker refuses a GPU cluster task timeout (Q_CLUSTER["ALT_CLUSTERS"]["gpu"]["timeout"])
    # below the larger of MIN_TASK_TIMEOUT_SECONDS and the newest measured load and warm-up time of a
    # worker x TASK_TIMEOUT_LOAD_MARGIN (personalization.startup; loading itself happens before any
    # task, but a task that loads another preset, and the restart after a kill, must fit).
    "MIN_TASK_TIMEOUT_SECONDS": 120,
    "TASK_TIMEOUT_LOAD_MARGIN": 2.0,
    # The sweeper's wake-ups of work still waiting (a queued request, an owed print file) back off
    # exponentially from two leases up to this many seconds (docs/WORKER.md, "Failure modes").
    "WAKE_MAX_SECONDS": 30 * 60,
    # Storing a finished design's pictures: tries after the first, waiting STORAGE_RETRY_SECONDS x
    # 2^(try - 1) between them, the pictures kept in memory; then the request fails (storage_error).
    "STORAGE_RETRIES": 3,
    "STORAGE_RETRY_SECONDS": 0.5,
    # Orphan files (personalization.orphans): a stored customer file that no row references (a
    # rolled-back submit or order, a worker that failed between a design and its mockup) is deleted by
    # the periodic sweep at most once per ORPHAN_SWEEP_SECONDS (0: never; `manage.py
    # personalization_orphans --delete` by hand), once it is older than ORPHAN_GRACE_SECONDS, so a
    # write whose row is still on its way is never touched (keep it above the GPU task timeout).
    "ORPHAN_SWEEP_SECONDS": 3600,
    "ORPHAN_GRACE_SECONDS": 3600,
    # Health (personalization.health: GET /readyz, `manage.py personalization_health`; docs/WORKER.md).
    # Each GPU worker process writes its heartbeat row every WORKER_HEARTBEAT_SECONDS from a thread;
    # a worker not seen for WORKER_STALE_SECONDS is stopped, wedged or gone (keep it several beats
    # long, so one slow database write is not a death).
    "WORKER_HEARTBEAT_SECONDS": 5,
    "WORKER_STALE_SECONDS": 60,
    # run_gpu_worker kills (SIGKILL) a process of its own cluster whose heartbeat is stale; django-q2
    # starts a new one and the lease sweeper requeues its request. False: only report it.
    "WORKER_WATCHDOG": True,
    # run_gpu_worker's stop (SIGTERM, Ctrl-C): each cluster gets SIGTERM and this many seconds to end
    # (a running task is given back); then whatever is left of its process tree is killed (SIGKILL).
    "WORKER_STOP_SECONDS": 30,
    # The oldest queued request: degraded at WARN, failing at FAIL (seconds waited since submit).
    "QUEUE_AGE_WARN_SECONDS": 120,
    "QUEUE_AGE_FAIL_SECONDS": 600,
    # Running requests whose newest heartbeat (the lease renewal) is older than this: degraded. The
    # sweeper requeues them when their lease ends; a value that lasts means a sweeper that is not running.
    "RUNNING_STALE_SECONDS": 120,
    # ETAs from measured throughput (personalization.eta; docs/WORKER.md, "Queue position and ETA"):
    # per (preset, size, steps), the last ETA_WINDOW_SIZE succeeded runs finished within
    # ETA_WINDOW_HOURS (of the newest ETA_WINDOW_ROWS in all), scaled by the workers' speed now
    # (the newest ETA_SPEED_RUNS runs against their configurations' medians); the table and the
    # queue's schedule are kept in the cache for ETA_CACHE_SECONDS. ETA_DEFAULT_SECONDS_PER_STEP:
    # one 512x512 image, one step, when nothing was measured at all.
    "ETA_WINDOW_SIZE": 20,
    "ETA_WINDOW_HOURS": 6,
    "ETA_WINDOW_ROWS": 1000,
    "ETA_SPEED_RUNS": 10,
    "ETA_CACHE_SECONDS": 5,
    "ETA_DEFAULT_SECONDS_PER_STEP": 0.25,
    # The longest a waiting client is asked to wait between polls (eta.poll_after_seconds: every
    # second while its request runs, about a tenth of its ETA while queued).
    "POLL_SECONDS_MAX": 10,
    # The output safety check (personalization.safety), run in the worker on every variation before
    # anyone can see it. Off only on purpose: the worker then warns at start and on every request,
    # and the admin shows a red banner.
    "SAFETY_CHECK": True,
    # Part of it: read the text in each picture (OCR) and apply the content policy to it.
    "TEXT_CHECK": True,
    # NudeNet-compatible ONNX detector ("" is the 320n.onnx inside the nudenet wheel), the labels that
    # make a picture unsafe, and the detector score from which they count.
    "SAFETY_NUDITY_MODEL": "",
    "SAFETY_UNSAFE_LABELS": (
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "FEMALE_BREAST_EXPOSED",
        "BUTTOCKS_EXPOSED",
        "ANUS_EXPOSED",
    ),
    "SAFETY_THRESHOLD": 0.5,
    # A folder holding the three RapidOCR ONNX models under their packaged names ("" is the folder
    # inside the rapidocr wheel), and the OCR confidence from which a line of text counts.
    "SAFETY_OCR_MODEL_DIR": "",
    "TEXT_MIN_SCORE": 0.5,
    # Quotas (per UTC day; 0 disables): designs per account or anonymous visitor, and per client
    # address for anonymous visitors (None: 3 x DAILY_QUOTA), so a new cookie does not reset it.
    "DAILY_QUOTA": 200,
    "DAILY_QUOTA_PER_IP": None,
    # Customer files (reference photos, previews, designs, mockups, print files): the alias in
    # settings.STORAGES of a storage that is never served publicly, and how long a signed URL to one
    # of them (S3) stays valid.
    "PRIVATE_STORAGE": "personalization_private",
    "PRIVATE_URL_SECONDS": 300,
    # Print files.
    "PRINT_BLEED_MM": 3.0,
    # A print job that fails (or whose worker is lost) is tried again by the sweeper after
    # 2 x LEASE_SECONDS x 2^(attempt - 1) (WAKE_MAX_SECONDS at most); after PRINT_MAX_ATTEMPTS tries
    # the design's print file is marked failed (the owner sees it in the admin and may retry it).
    "PRINT_MAX_ATTEMPTS": 3,
    # The print upscaler: "" is Lanczos; else a hub id or local directory of a diffusers
    # StableDiffusionUpscalePipeline (e.g. stabilityai/stable-diffusion-x4-upscaler), run in the worker.
    "PRINT_UPSCALER": "",
    "PRINT_UPSCALER_STEPS": 20,
    # Customer emails (personalization.emails), sent by a django-q2 task after the commit, never
    # inside a request. EMAIL_CLUSTER: the cluster that runs them (None: the host's default cluster,
    # settings.Q_CLUSTER["name"]; never the GPU cluster). A failed send is tried again after
    # EMAIL_RETRY_SECONDS x 2^(attempt - 1), up to EMAIL_MAX_ATTEMPTS tries.
    "EMAIL_CLUSTER": None,
    "EMAIL_MAX_ATTEMPTS": 5,
    "EMAIL_RETRY_SECONDS": 60,
    # The email sweeper (personalization.emails.email_sweep), a django-q2 schedule on the email
    # cluster every EMAIL_SWEEP_MINUTES (0: none; made after migrate). It queues again an email still
    # pending EMAIL_PENDING_GRACE_SECONDS after it was recorded (its task was lost), one "sending" for
    # longer than EMAIL_SENDING_STALE_SECONDS (its worker died mid-send: keep this above the cluster's
    # task timeout, or a slow send still running is taken again), and a failed one whose retry is due
    # but was never scheduled.
    "EMAIL_SWEEP_MINUTES": 1,
    "EMAIL_PENDING_GRACE_SECONDS": 120,
    "EMAIL_SENDING_STALE_SECONDS": 900,
    # "Your design is ready": only for a request that took longer than this many seconds from submit
    # to finish, to a customer with an account and an email address (None or 0: never).
    "READY_EMAIL_AFTER_SECONDS": 60,
    # The shop's public address ("https://shop.example.com"): links in emails. "": no links.
    "SITE_URL": "",
    # The longest side, in pixels, of a design thumbnail inside an email (inline PNG).
    "EMAIL_THUMBNAIL_SIZE": 240,
    # The cost report (admin dashboard, `personalization_report --cost`; docs/DASHBOARD.md): the AI
    # cost per design is the measured GPU seconds per design x GPU_PRICE_PER_HOUR / 3600, set against
    # DESIGNER_COST_PER_DESIGN; both in COST_CURRENCY, read as Decimal (give strings, not floats).
    # GPU_PRICE_PER_HOUR assumes one H200-class GPU (141 GB) rented on demand from a GPU cloud, about
    # 3.50 USD an hour (list prices there range roughly 3-4 USD; a hyperscaler's 8-GPU machine costs
    # more per GPU). Not what this shop pays: set your own.
    "GPU_PRICE_PER_HOUR": "3.50",
    # Assumption: what a freelance designer charges for one simple custom print design.
    "DESIGNER_COST_PER_DESIGN": "25.00",
    "COST_CURRENCY": "USD",
}


class PersonalizationSettings:
    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown PERSONALIZATION setting {name!r}")
        user = getattr(settings, "PERSONALIZATION", {}) or {}
        return user.get(name, DEFAULTS[name])


conf = PersonalizationSettings()


def demo_presets() -> frozenset[str]:
    """The names of the presets running on demo weights (``DEMO_PRESETS``; unset: all of them when
    ``DEMO_MODEL`` is on)."""
    names = conf.DEMO_PRESETS
    if names is None:
        if not conf.DEMO_MODEL:
            return frozenset()
        from .presets import names as preset_names

        return frozenset(preset_names())
    if isinstance(names, str):
        names = [names]
    return frozenset(names)


def trained_demo_presets() -> frozenset[str]:
    """The demo presets that run the trained pattern model (``TRAINED_DEMO_PRESETS``)."""
    names = conf.TRAINED_DEMO_PRESETS or ()
    if isinstance(names, str):
        names = [names]
    return frozenset(names) & demo_presets()
