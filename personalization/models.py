import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from . import presets
from .storage import get_private_storage, line_prefix, request_prefix

# The widest ranges any model preset allows: the database constraints below (one source, presets.py).
ENVELOPE = presets.ENVELOPE


def _host_model(key: str) -> str:
    """The host model named in settings ("app_label.ModelName", read when models load, as Django
    does for AUTH_USER_MODEL). There is no default: unset or malformed, the relation points at a
    placeholder that exists nowhere, so models still load and ``manage.py check`` says what to set
    (personalization.E001 / E002, personalization/checks.py)."""
    label = (getattr(settings, "PERSONALIZATION", None) or {}).get(key)
    if isinstance(label, str) and label.count(".") == 1 and all(label.split(".")):
        return label
    return f"personalization.{key.title().replace('_', '')}NotSet"  # e.g. ProductModelNotSet


PRODUCT_MODEL = _host_model("PRODUCT_MODEL")
ORDER_LINE_MODEL = _host_model("ORDER_LINE_MODEL")


def reference_upload_to(instance: "GenerationRequest", filename: str) -> str:
    return f"{request_prefix(instance.id)}/reference.png"


def preview_upload_to(instance: "GenerationRequest", filename: str) -> str:
    return f"{request_prefix(instance.id)}/preview.png"


class GenerationRequestQuerySet(models.QuerySet):
    def owned_by(self, *, user=None, session_key: str | None = None):
        owner = Q(pk__in=[])
        if user is not None and user.is_authenticated:
            owner |= Q(customer=user)
        if session_key:
            owner |= Q(session_key=session_key)
        return self.filter(owner)

    def waiting(self):
        return self.filter(status=GenerationRequest.Status.QUEUED)


class GenerationRequest(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"

    class ReviewState(models.TextChoices):
        NONE = "", "Not held"
        PENDING = "pending_review", "Held for review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    class Phase(models.TextChoices):
        """Where a request is in its run (``status`` says whether it runs at all): set by the worker
        at each transition. A finished request keeps the phase it finished in; "" for one that
        never waited for a worker (refused at submit, answered from the cache)."""

        NONE = "", "Never queued"
        QUEUED = "queued", "Waiting in the queue"
        GENERATING = "generating", "Generating"
        RESEEDING = "reseeding", "Re-drawing an off-brand variation"
        POSTPROCESSING = "postprocessing", "Checking brand colours and content"
        STORING = "storing", "Drawing the mockups and saving"

    TERMINAL = (Status.SUCCEEDED, Status.FAILED, Status.REJECTED, Status.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="generations"
    )
    session_key = models.CharField(max_length=64, blank=True, db_index=True)

    # What the customer chose.
    product = models.ForeignKey(PRODUCT_MODEL, on_delete=models.PROTECT, related_name="generations")
    brand = models.ForeignKey("brand_guides.Brand", on_delete=models.PROTECT, related_name="generations")
    base_color_name = models.CharField(max_length=40)
    base_color_hex = models.CharField(max_length=7)
    material = models.ForeignKey(
        "brand_guides.MaterialPreset",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="generations",
    )
    style = models.ForeignKey(
        "brand_guides.StylePreset",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="generations",
    )
    description = models.TextField()
    reference_image = models.ImageField(
        upload_to=reference_upload_to, storage=get_private_storage, max_length=255, db_index=True, blank=True
    )
    reference_sha256 = models.CharField(max_length=64, blank=True)
    reference_fit = models.CharField(
        max_length=8,
        choices=[("cover", "Cover (crop to fill)"), ("contain", "Contain (fit whole, pad)")],
        default="cover",
        help_text="How the reference image is fitted to the design's size before encoding.",
    )
    transparent_background = models.BooleanField(
        default=False,
        help_text="Generated on a plain background that is cut out: the product's colour shows through.",
    )
    strength = models.FloatField(
        default=0.6,
        validators=[MinValueValidator(ENVELOPE.min_strength), MaxValueValidator(ENVELOPE.max_strength)],
    )

    # Generation parameters (together: the request's Recipe, see ``recipe``).
    preset = models.CharField(
        max_length=20,
        choices=presets.CHOICES,
        default="sd21",
        help_text="The model preset it was made with (personalization.presets).",
    )
    steps = models.PositiveSmallIntegerField(default=25)
    guidance_scale = models.FloatField(default=7.5)
    seed = models.BigIntegerField(help_text="Seed of the first variation; variation i uses seed + i.")
    variations = models.PositiveSmallIntegerField(default=1)
    width = models.PositiveSmallIntegerField(default=512)
    height = models.PositiveSmallIntegerField(default=512)
    model_name = models.CharField(max_length=300, blank=True)
    scheduler_name = models.CharField(max_length=120, blank=True)

    # What the system built.
    optimized_prompt = models.TextField(blank=True)
    negative_prompt = models.TextField(blank=True)

    # State machine and worker bookkeeping.
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress_step = models.PositiveSmallIntegerField(default=0)
    progress_total = models.PositiveSmallIntegerField(default=0)
    phase = models.CharField(max_length=16, choices=Phase.choices, default=Phase.QUEUED, blank=True)
    preview = models.ImageField(
        upload_to=preview_upload_to, storage=get_private_storage, max_length=255, db_index=True, blank=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    worker = models.CharField(max_length=120, blank=True)
    cancel_requested = models.BooleanField(default=False)
    cache_source = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cache_hits",
        help_text="The earlier identical request whose images answered this one.",
    )
    cache_key = models.CharField(max_length=64, blank=True, db_index=True)
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)

    # A person's look before the customer sees the images (protected names, text in the picture).
    review_state = models.CharField(max_length=16, choices=ReviewState.choices, blank=True, db_index=True)
    review_reason = models.TextField(blank=True)
    # The usage counters charged at submit, refunded when the request fails for the shop's reasons.
    quota_charges = models.JSONField(default=list, blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Measured by the worker when it succeeds (personalization.eta reads them): the worker seconds
    # this request cost (its share of the batch's pipeline call, its re-seeds, its post-processing
    # and storing), and the GPU part of them (the pipeline share and the re-seeds).
    work_seconds = models.FloatField(null=True, blank=True)
    gpu_seconds = models.FloatField(null=True, blank=True)
    # The ETA given at submit (seconds from created_at to done): eta.eta_error_summary compares it.
    eta_at_submit = models.FloatField(null=True, blank=True)
    rating = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )

    objects = GenerationRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="genreq_status_created"),
            models.Index(fields=["status", "finished_at"], name="genreq_status_finished"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(steps__gte=ENVELOPE.min_steps) & Q(steps__lte=ENVELOPE.max_steps),
                name="genreq_steps_range",
            ),
            models.CheckConstraint(
                condition=Q(guidance_scale__gte=ENVELOPE.min_guidance)
                & Q(guidance_scale__lte=ENVELOPE.max_guidance),
                name="genreq_guidance_range",
            ),
            models.CheckConstraint(
                condition=Q(variations__gte=1) & Q(variations__lte=ENVELOPE.max_variations),
                name="genreq_variations_range",
            ),
            models.CheckConstraint(
                condition=Q(strength__gte=ENVELOPE.min_strength) & Q(strength__lte=ENVELOPE.max_strength),
                name="genreq_strength_range",
            ),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | (Q(rating__gte=1) & Q(rating__lte=5)),
                name="genreq_rating_1_5",
            ),
            models.CheckConstraint(
                condition=Q(width__gte=ENVELOPE.min_size) & Q(height__gte=ENVELOPE.min_size),
                name="genreq_size_min",
            ),
            models.CheckConstraint(
                condition=Q(width__lte=ENVELOPE.max_size) & Q(height__lte=ENVELOPE.max_size),
                name="genreq_size_max",
            ),
            models.CheckConstraint(condition=Q(seed__gte=0), name="genreq_seed_gte_0"),
            models.CheckConstraint(
                condition=Q(progress_step__lte=models.F("progress_total")) | Q(progress_total=0),
                name="genreq_progress_le_total",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.description[:40]} ({self.get_status_display()})"

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL

    @property
    def progress(self) -> float:
        if self.status == self.Status.SUCCEEDED:
            return 1.0
        if not self.progress_total:
            return 0.0
        return min(1.0, self.progress_step / self.progress_total)

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    @property
    def pixel_budget(self) -> int:
        """The ``size`` asked for (one of the preset's sizes): the pixel budget that the print
        area's shape turned into ``width`` x ``height`` (``sizing.budget_of``)."""
        from .sizing import budget_of

        sizes = presets.get(self.preset).sizes if self.preset in presets.BUILT_IN else ()
        return budget_of(self.width, self.height, sizes)

    @property
    def recipe(self):
        """The request's :class:`personalization.recipe.Recipe`, read from its columns (the brand's
        LoRA as the brand has it now, as the worker applies it). ``width`` and ``height`` are the
        shaped size (the pixel budget in the print area's shape); ``reference_fit`` counts with a
        reference image only."""
        from .recipe import Recipe

        brand = self.brand
        lora = (brand.lora_weights.name or "") if brand is not None else ""
        return Recipe(
            preset=self.preset,
            model=self.model_name,
            prompt=self.optimized_prompt,
            negative_prompt=self.negative_prompt,
            seed=self.seed,
            variations=self.variations,
            steps=self.steps,
            guidance_scale=float(self.guidance_scale),
            width=self.width,
            height=self.height,
            strength=float(self.strength) if self.reference_sha256 else None,
            reference_sha256=self.reference_sha256,
            lora=lora,
            lora_scale=float(brand.lora_scale) if lora else 1.0,
            reference_fit=self.reference_fit if self.reference_sha256 else "cover",
        )


def image_upload_to(instance: "GenerationImage", filename: str) -> str:
    return f"{request_prefix(instance.request_id)}/{instance.index}/{filename}"


class GenerationImage(models.Model):
    """One generated variation: deterministic storage keys per request and index."""

    request = models.ForeignKey(GenerationRequest, on_delete=models.CASCADE, related_name="images")
    index = models.PositiveSmallIntegerField()
    seed = models.BigIntegerField()
    image = models.ImageField(
        upload_to=image_upload_to, storage=get_private_storage, max_length=255, db_index=True
    )
    mockup = models.ImageField(
        upload_to=image_upload_to, storage=get_private_storage, max_length=255, db_index=True, blank=True
    )
    width = models.PositiveSmallIntegerField()
    height = models.PositiveSmallIntegerField()
    brand_consistency = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    quality_flags = models.JSONField(default=list, blank=True)
    reseeded_from = models.BigIntegerField(
        null=True, blank=True, help_text="Seed replaced by an automatic re-seed."
    )
    flagged = models.BooleanField(
        default=False, help_text="Below the brand's minimum score: needs a merchant's look."
    )
    generation_seconds = models.FloatField(null=True, blank=True)
    safety = models.JSONField(
        default=dict, blank=True, help_text="What the output safety check found (detections, text read)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["request", "index"]
        constraints = [
            models.UniqueConstraint(fields=["request", "index"], name="genimage_unique_index"),
            models.CheckConstraint(
                condition=Q(brand_consistency__isnull=True)
                | (Q(brand_consistency__gte=0) & Q(brand_consistency__lte=100)),
                name="genimage_score_0_100",
            ),
        ]

    def __str__(self) -> str:
        return f"Variation {self.index + 1} of {self.request_id} (seed {self.seed})"


def line_design_upload_to(instance: "LineDesign", filename: str) -> str:
    return f"{line_prefix(instance.order_line_id)}/{filename}"


class LineDesign(models.Model):
    """A frozen copy of a design on a placed order line: everything needed to re-render or print it,
    unaffected by later edits of brands, presets or products."""

    class ReviewState(models.TextChoices):
        PENDING = "pending_review", "Waiting for the shop's approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    order_line = models.OneToOneField(ORDER_LINE_MODEL, on_delete=models.CASCADE, related_name="design")
    source_image = models.ForeignKey(
        GenerationImage, on_delete=models.SET_NULL, null=True, blank=True, related_name="line_designs"
    )
    # Who may read its files (the customer who ordered it) and which brand's staff.
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="line_designs",
    )
    session_key = models.CharField(max_length=64, blank=True, db_index=True)
    brand = models.ForeignKey(
        "brand_guides.Brand", on_delete=models.SET_NULL, null=True, blank=True, related_name="line_designs"
    )
    image = models.ImageField(
        upload_to=line_design_upload_to, storage=get_private_storage, max_length=255, db_index=True
    )
    mockup = models.ImageField(
        upload_to=line_design_upload_to,
        storage=get_private_storage,
        max_length=255,
        db_index=True,
        blank=True,
    )
    print_file = models.FileField(
        upload_to=line_design_upload_to,
        storage=get_private_storage,
        max_length=255,
        db_index=True,
        blank=True,
    )
    print_pdf = models.FileField(
        upload_to=line_design_upload_to,
        storage=get_private_storage,
        max_length=255,
        db_index=True,
        blank=True,
        help_text="The print file as PDF: TrimBox and BleedBox set, image embedded losslessly, sRGB.",
    )
    print_warnings = models.JSONField(default=list, blank=True)
    # A print job is owed (set with the order and the approval, cleared when the files are stored):
    # the time the sweeper wakes it again if no worker has made the files by then (a lost message).
    print_job_wake_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The owed job's tries (counted when each starts; reset when a job is owed anew), the last
    # failure's code and message, and when the job was given up after PRINT_MAX_ATTEMPTS tries
    # (personalization.print_jobs): a failed print file is never given out; the owner may retry it.
    print_job_attempts = models.PositiveSmallIntegerField(default=0)
    print_job_error_code = models.CharField(max_length=40, blank=True)
    print_job_error_message = models.TextField(blank=True)
    print_job_failed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # What is composed onto the design (personalization.artwork.ArtworkSpec.as_dict(), without the
    # binary parts): fit, transparent background, logo placement, the text layer.
    composition = models.JSONField(default=dict, blank=True)
    logo = models.ImageField(
        upload_to=line_design_upload_to,
        storage=get_private_storage,
        max_length=255,
        db_index=True,
        blank=True,
        help_text="The brand logo as it was when ordered.",
    )
    text_font = models.FileField(
        upload_to=line_design_upload_to,
        storage=get_private_storage,
        max_length=255,
        db_index=True,
        blank=True,
        help_text="The font of the text layer as it was when ordered (TTF/OTF).",
    )
    preflight = models.JSONField(default=dict, blank=True, help_text="The preflight the customer saw.")

    description = models.TextField()
    optimized_prompt = models.TextField()
    negative_prompt = models.TextField(blank=True)
    seed = models.BigIntegerField()
    steps = models.PositiveSmallIntegerField()
    guidance_scale = models.FloatField()
    width = models.PositiveSmallIntegerField()
    height = models.PositiveSmallIntegerField()
    strength = models.FloatField(null=True, blank=True)
    reference_image = models.ImageField(
        upload_to=line_design_upload_to,
        storage=get_private_storage,
        max_length=255,
        db_index=True,
        blank=True,
    )
    model_name = models.CharField(max_length=300)
    scheduler_name = models.CharField(max_length=120)
    preset = models.CharField(
        max_length=20,
        choices=presets.CHOICES,
        default="sd21",
        help_text="The model preset the design was made with.",
    )
    recipe = models.JSONField(
        default=dict,
        blank=True,
        help_text="The design's Recipe when ordered (personalization.recipe.Recipe.as_dict(): this "
        "variation's seed, one variation).",
    )
    brand_name = models.CharField(max_length=120)
    brand_palette = models.JSONField(default=list, blank=True)
    material_name = models.CharField(max_length=80, blank=True)
    style_name = models.CharField(max_length=80, blank=True)
    base_color_name = models.CharField(max_length=40)
    base_color_hex = models.CharField(max_length=7)
    brand_consistency = models.FloatField(null=True, blank=True)
    print_area = models.JSONField(
        default=dict, blank=True, help_text="The product's print area when ordered (mm, dpi, margins)."
    )

    # The shop's approval before printing (personalization.approval): a brand with the manual policy
    # holds each ordered design in the approval queue; the automatic policy approves it at checkout.
    review_state = models.CharField(
        max_length=16,
        choices=ReviewState.choices,
        default=ReviewState.PENDING,
        db_index=True,
        help_text="Nothing goes to fulfilment before it is approved.",
    )
    review_reason = models.TextField(blank=True, help_text="Why it was rejected (the customer sees it).")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    regeneration = models.ForeignKey(
        GenerationRequest,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="regenerated_lines",
        help_text="The owner's regeneration in progress (its first image replaces the design).",
    )
    review_log = models.JSONField(
        default=list,
        blank=True,
        help_text="What happened in review, oldest first: approvals, rejections, the owner's prompt "
        "edits and regenerations ({at, by, action, ...}).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Design for {self.order_line} (seed {self.seed})"

    @property
    def owner_prompt(self) -> str:
        """The shop owner's last prompt edit ("" when the customer's prompt was kept)."""
        for entry in reversed(self.review_log or []):
            if entry.get("action") == "regenerate":
                return entry.get("prompt", "")
        return ""


class UsageCounter(models.Model):
    """One rate-limit or quota window of one subject (a user, a visitor, an address), counted with
    a single conditional UPDATE so that parallel requests can never both take the last unit."""

    key = models.CharField(max_length=200)
    window_start = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-window_start"]
        constraints = [models.UniqueConstraint(fields=["key", "window_start"], name="usage_counter_unique")]

    def __str__(self) -> str:
        return f"{self.key} @ {self.window_start:%Y-%m-%d %H:%M}: {self.count}"


class EmailNotification(models.Model):
    """One customer email, sent at most once: (kind, key) is unique, and the sending task claims the
    row (pending/failed -> sending) with a conditional UPDATE before it sends. ``builder`` is the
    dotted path of the function that makes the message from ``key`` when the task runs (the host's
    for its own emails, e.g. the order confirmation)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (will be retried)"
        GAVE_UP = "gave_up", "Failed (gave up)"
        SKIPPED = "skipped", "Nothing to send"

    kind = models.CharField(max_length=40)
    key = models.CharField(
        max_length=100, help_text="What the email is about: an order number, a request id."
    )
    builder = models.CharField(max_length=200)
    to = models.EmailField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="email_notification_once")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}: {self.get_status_display()}"


class WorkerHeartbeat(models.Model):
    """The liveness of one GPU worker process: a thread in the process (``heartbeat.HeartbeatThread``)
    writes ``last_seen`` every WORKER_HEARTBEAT_SECONDS whatever the process is doing, so a row not
    seen for WORKER_STALE_SECONDS is a process that is stopped (SIGSTOP), wedged with the interpreter
    held, or gone. ``run_gpu_worker``'s watchdog kills such a process of its own cluster
    (``watchdog``) and django-q2 starts a new one; the health checks (``health``) read the rows."""

    class State(models.TextChoices):
        IDLE = "idle", "Idle"
        BUSY = "busy", "Busy"
        KILLED = "killed", "Killed by the watchdog"

    worker = models.CharField(max_length=120, unique=True, help_text='"host:pid", as on the requests.')
    host = models.CharField(max_length=100)
    pid = models.PositiveIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.IDLE)
    started_at = models.DateTimeField(help_text="When the process started (tells a reused pid apart).")
    last_seen = models.DateTimeField(db_index=True)
    load_seconds = models.FloatField(
        null=True,
        blank=True,
        help_text="Seconds the process took to load the default preset, warm it up and load the safety "
        "check when it was spawned (run_gpu_worker's task-timeout floor reads it).",
    )

    class Meta:
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return f"{self.worker} ({self.get_state_display()}, seen {self.last_seen:%Y-%m-%d %H:%M:%S})"
