"""Settings of the host project: the only module that reads the environment.

Every variable is documented in README.md and .env.example.
"""

from pathlib import Path

import environ

from config.production import refuse_unsafe_production

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# "production" (`make prod` sets it) refuses to start with DEBUG on, a weak SECRET_KEY or an empty or
# "*" ALLOWED_HOSTS (config/production.py); "development" (the default) keeps the DEBUG conveniences.
DJANGO_ENV = env("DJANGO_ENV", default="development")
if DJANGO_ENV not in ("development", "production"):
    raise environ.ImproperlyConfigured(
        f"DJANGO_ENV must be 'development' or 'production', not {DJANGO_ENV!r}."
    )
PRODUCTION = DJANGO_ENV == "production"
DEBUG = env.bool("DEBUG", default=False)
if PRODUCTION:
    SECRET_KEY = env("SECRET_KEY", default="")  # never a fallback key: an unset one is refused below
else:
    SECRET_KEY = env("SECRET_KEY", default="insecure-dev-key-change-me" if DEBUG else environ.Env.NOTSET)
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG and not PRODUCTION else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
if PRODUCTION:
    refuse_unsafe_production(debug=DEBUG, secret_key=SECRET_KEY, allowed_hosts=ALLOWED_HOSTS)

INSTALLED_APPS = [
    "brand_guides.apps.BrandScopedAdminConfig",  # django.contrib.admin, brand-scoped site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_q",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    # Swagger UI and ReDoc served from the site's own static files (no CDN: the docs work offline).
    "drf_spectacular_sidecar",
    # the project's API toolkit (errors, parsers, pagination, idempotency, token view)
    "apikit",
    # the plugin
    "brand_guides",
    "personalization",
    # the host shop
    "shop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.RejectNulCharactersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "personalization.context_processors.personalization",
                "shop.context_processors.cart",
            ],
        },
    },
]

# --- Database: SQLite file under var/ unless DATABASE_URL is set -------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # A file (not :memory:) so that a real worker process sees the test database, and WAL so
    # that the web process and the worker read while the other writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    # Keep each thread's connection between requests (a status poll is a few short queries: a new
    # connection would cost more than they do), checked before reuse. DATABASE_URL's own
    # ?conn_max_age= wins; DB_CONN_MAX_AGE=0 closes it after every request.
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "shop:login"
LOGIN_REDIRECT_URL = "shop:catalogue"
LOGOUT_REDIRECT_URL = "shop:catalogue"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media; S3 (django-storages) when AWS_STORAGE_BUCKET_NAME is set -----------
STATIC_URL = "static/"
# Where `collectstatic` writes (whitenoise serves it, compressed, with hashed names when DEBUG is off).
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
# The only folders of the public media that are served: catalogue pictures (product mockup
# templates, brand logos, style thumbnails). LoRA weights and fonts stay unserved.
PUBLIC_MEDIA_PREFIXES = ("products/", "brands/logos/", "styles/")
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024

# Customer files (reference photos, previews, designs, mockups, print files) live in a private
# storage that is never served as plain media: locally under PRIVATE_MEDIA_ROOT, served only through
# the access-checked view at /private-media/ (personalization.files); on S3 through signed URLs that
# expire after PRIVATE_URL_SECONDS, in AWS_PRIVATE_BUCKET_NAME (or the "private/" prefix of the media
# bucket, which must then not be publicly readable).
PRIVATE_MEDIA_ROOT = env.path("PRIVATE_MEDIA_ROOT", default=VAR_DIR / "private")
PRIVATE_URL_SECONDS = env.int("PRIVATE_URL_SECONDS", default=300)
if not 1 <= PRIVATE_URL_SECONDS <= 604800:  # S3 refuses signatures valid for more than 7 days
    raise environ.ImproperlyConfigured("PRIVATE_URL_SECONDS must be between 1 and 604800 seconds.")
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
AWS_PRIVATE_BUCKET_NAME = env("AWS_PRIVATE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    _media = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env("AWS_S3_ENDPOINT_URL", default=None),
            "access_key": env("AWS_ACCESS_KEY_ID", default=None),
            "secret_key": env("AWS_SECRET_ACCESS_KEY", default=None),
            "region_name": env("AWS_S3_REGION_NAME", default=None),
            "custom_domain": env("AWS_S3_CUSTOM_DOMAIN", default=None),
            "querystring_auth": env.bool("AWS_QUERYSTRING_AUTH", default=True),
            "file_overwrite": True,
            "default_acl": None,
            "addressing_style": env("AWS_S3_ADDRESSING_STYLE", default="path"),
        },
    }
    _private = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            **_media["OPTIONS"],
            "bucket_name": AWS_PRIVATE_BUCKET_NAME or AWS_STORAGE_BUCKET_NAME,
            "location": "" if AWS_PRIVATE_BUCKET_NAME else "private",
            # Always signed, never through the public CDN domain, and short-lived.
            "custom_domain": None,
            "querystring_auth": True,
            "querystring_expire": PRIVATE_URL_SECONDS,
            "signature_version": "s3v4",
        },
    }
else:
    _media = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    _private = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        # base_url: the access-checked view (config/urls.py), never MEDIA_URL. Keys are deterministic
        # (personalization.storage): a retry overwrites its file, as on S3 (file_overwrite).
        "OPTIONS": {"location": PRIVATE_MEDIA_ROOT, "base_url": "/private-media/", "allow_overwrite": True},
    }
STORAGES = {
    "default": _media,
    # Customer files: never served as plain media (see personalization.storage).
    "personalization_private": _private,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# How /private-media/ hands a checked file to the web server (django-sendfile2): the simple
# backend streams it from Django (development, or no front server); in production use
# "django_sendfile.backends.nginx" (X-Accel-Redirect to SENDFILE_URL, an `internal` nginx location
# aliased to PRIVATE_MEDIA_ROOT) or "django_sendfile.backends.xsendfile" (Apache mod_xsendfile).
SENDFILE_BACKEND = env("SENDFILE_BACKEND", default="django_sendfile.backends.simple")
SENDFILE_ROOT = str(PRIVATE_MEDIA_ROOT)
SENDFILE_URL = env("SENDFILE_URL", default="/_private-media")

# --- Queue: django-q2, ORM broker unless REDIS_URL is set --------------------------------
REDIS_URL = env("REDIS_URL", default="")
_q_common = {
    "workers": 2,
    "timeout": 600,
    "retry": 720,  # must stay above timeout
    "max_attempts": 1,  # the row's own attempts/lease logic does retries
    "save_limit": 500,
    "catch_up": False,
    "label": "Django Q",
    "poll": 0.2,
}
if REDIS_URL:
    _q_common["redis"] = REDIS_URL
else:
    _q_common["orm"] = "default"
Q_CLUSTER = {"name": "web", **_q_common}
# The GPU cluster: one worker process per GPU, the model loaded inside that process, and no
# recycling (recycling would reload the model). Start with `python manage.py run_gpu_worker`.
_gpu_workers = env.int("PERSONALIZATION_GPU_WORKERS", default=1)
Q_CLUSTER["ALT_CLUSTERS"] = {
    "gpu": {
        "workers": _gpu_workers,
        "recycle": 1_000_000_000,
        "timeout": env.int("PERSONALIZATION_TASK_TIMEOUT", default=900),
        "retry": env.int("PERSONALIZATION_TASK_TIMEOUT", default=900) + 120,
        "max_attempts": 1,
    }
}

# --- Cache: shared by every process (config/cache.py) -----------------------------------------
# CACHE_URL when set (redis://host:6379/1, dbcache://django_cache, locmemcache://), else Redis at
# REDIS_URL under the "cache" key prefix, else the database's django_cache table (made by `migrate`:
# shop.apps runs createcachetable after it).
from config.cache import caches_for  # noqa: E402

CACHES = caches_for(cache_url=env("CACHE_URL", default=""), redis_url=REDIS_URL)
# The health endpoints answer plain HTTP probes from a load balancer (no redirect to https).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# --- Email: the console in development (the default), SMTP in production ----------------------
# EMAIL_URL: smtp+tls://user:password@smtp.example.com:587 (django-environ's email_url; also smtp://,
# smtp+ssl://, consolemail://, filemail://, memorymail://, dummymail://). Customer emails are sent by
# the "web" cluster's worker (`python manage.py qcluster`), never inside a request.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Personalized Shop <shop@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
# The shop's public address (scheme and host, no trailing slash): the links in customer emails.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000" if DEBUG else "")

# --- DRF ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "apikit.pagination.Pagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "generation_submit_user": env("THROTTLE_GENERATION_USER", default="30/min"),
        "generation_submit_ip": env("THROTTLE_GENERATION_IP", default="60/min"),
        "order_create_user": env("THROTTLE_ORDER_USER", default="20/min"),
        "auth_token": "20/min",
    },
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "AI Personalization API",
    "DESCRIPTION": "Personalized products generated with Stable Diffusion 2.1.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The ordered design's approval state (design.review.state) by a name of its own.
    "ENUM_NAME_OVERRIDES": {"LineReviewStateEnum": "personalization.models.LineDesign.ReviewState"},
    # /api/docs/ (Swagger UI) and /api/redoc/ load their scripts from drf-spectacular-sidecar's
    # static files, never a CDN; no online validator badge either.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # The system's fonts: ReDoc's default Montserrat and Roboto would come from Google Fonts.
    "REDOC_UI_SETTINGS": {
        "theme": {
            "typography": {
                "fontFamily": "system-ui, sans-serif",
                "headings": {"fontFamily": "system-ui, sans-serif"},
            }
        }
    },
}

# --- The plugin -------------------------------------------------------------------------------
PERSONALIZATION_MODEL = env("PERSONALIZATION_MODEL", default="")
PERSONALIZATION_MODEL_SD21_BASE = env("PERSONALIZATION_MODEL_SD21_BASE", default="")
PERSONALIZATION_MODEL_SD_TURBO = env("PERSONALIZATION_MODEL_SD_TURBO", default="")
# The presets whose weights are not set run the demo model (random weights).
PERSONALIZATION_DEMO_PRESETS = [
    name
    for name, weights in (
        ("sd21", PERSONALIZATION_MODEL),
        ("sd21-base", PERSONALIZATION_MODEL_SD21_BASE),
        ("sd-turbo", PERSONALIZATION_MODEL_SD_TURBO),
    )
    if not weights
]
# The demo model of the "sd21" preset when its weights are not set: the small model trained on pattern
# designs that ships with the plugin (docs/DEMO_MODEL.md); random weights if it is missing.
from personalization.interface import DEMO_MODEL_DIR as TRAINED_DEMO_MODEL  # noqa: E402

# sd21 runs the trained demo model: no weights set, and the model ships.
_trained_demo = not PERSONALIZATION_MODEL and (TRAINED_DEMO_MODEL / "model_index.json").exists()
_sd21_demo = str(TRAINED_DEMO_MODEL) if _trained_demo else str(VAR_DIR / "models" / "tiny-sd21")
PERSONALIZATION = {
    # The host's models, named like AUTH_USER_MODEL: the plugin imports nothing from shop/.
    "PRODUCT_MODEL": "shop.Product",
    "ORDER_LINE_MODEL": "shop.OrderLine",
    # What the plugin knows of a product: the shop's personalization.interface.HostAdapter.
    "HOST_ADAPTER": "shop.personalization_host.ShopHost",
    # Where each model preset's weights are: a hub id or a local diffusers directory. Unset: the
    # demo model (random weights) that `python manage.py build_tiny_pipeline --preset NAME` writes
    # under var/models/tiny-NAME.
    "MODELS": {
        "sd21": PERSONALIZATION_MODEL or _sd21_demo,
        "sd21-base": PERSONALIZATION_MODEL_SD21_BASE or str(VAR_DIR / "models" / "tiny-sd21-base"),
        "sd-turbo": PERSONALIZATION_MODEL_SD_TURBO or str(VAR_DIR / "models" / "tiny-sd-turbo"),
    },
    # The "sd21" weights under their older name (kept for compatibility: MODELS wins).
    "MODEL": PERSONALIZATION_MODEL or _sd21_demo,
    # The presets on the demo model: the site banner and the studio say so (per preset).
    "DEMO_PRESETS": PERSONALIZATION_DEMO_PRESETS,
    # The default preset (sd21) runs the demo model: the worker says so (kept for compatibility).
    "DEMO_MODEL": "sd21" in PERSONALIZATION_DEMO_PRESETS,
    # Of those, the presets on the trained pattern model (the banner says what it draws).
    "TRAINED_DEMO_PRESETS": ["sd21"] if _trained_demo else [],
    # The demo models run on the CPU. The trained one works at 128 px (256 px repeats its patterns)
    # (docs/DEMO_MODEL.md); the random-weight one defaults to 512 px (2.6 s against 7.6 s per image at
    # sd21's native 768 there, docs/PERFORMANCE.md). Real SD 2.1 768-v weights keep their native 768.
    "PRESET_OVERRIDES": (
        {}
        if PERSONALIZATION_MODEL
        else {"sd21": {"sizes": (128, 256), "default_size": 128}}
        if _trained_demo
        else {"sd21": {"default_size": 512}}
    ),
    "DEVICE": env("PERSONALIZATION_DEVICE", default="auto"),
    "DTYPE": env("PERSONALIZATION_DTYPE", default="auto"),
    "COMPILE": env.bool("PERSONALIZATION_COMPILE", default=False),
    "COMPILE_MODE": env("PERSONALIZATION_COMPILE_MODE", default="reduce-overhead"),
    "ATTENTION": env("PERSONALIZATION_ATTENTION", default="default"),
    "WARMUP_SHAPES": env.list("PERSONALIZATION_WARMUP", default=[]),
    "DAILY_QUOTA": env.int("PERSONALIZATION_DAILY_QUOTA", default=200),
    # Anonymous visitors' designs per client address per UTC day (unset: 3 x DAILY_QUOTA).
    "DAILY_QUOTA_PER_IP": env.int("PERSONALIZATION_DAILY_QUOTA_PER_IP", default=None),
    "PRIVATE_URL_SECONDS": PRIVATE_URL_SECONDS,
    "LEASE_SECONDS": env.int("PERSONALIZATION_LEASE_SECONDS", default=60),
    "MAX_ATTEMPTS": env.int("PERSONALIZATION_MAX_ATTEMPTS", default=3),
    "SWEEP_INTERVAL_SECONDS": env.float("PERSONALIZATION_SWEEP_INTERVAL", default=10.0),
    # run_gpu_worker refuses a PERSONALIZATION_TASK_TIMEOUT below this, or below twice the measured
    # model load and warm-up (docs/WORKER.md, "Failure modes").
    "MIN_TASK_TIMEOUT_SECONDS": env.int("PERSONALIZATION_MIN_TASK_TIMEOUT", default=120),
    # Stored files no row references: deleted by the sweep once an hour (0: never), when an hour old.
    "ORPHAN_SWEEP_SECONDS": env.int("PERSONALIZATION_ORPHAN_SWEEP_SECONDS", default=3600),
    "ORPHAN_GRACE_SECONDS": env.int("PERSONALIZATION_ORPHAN_GRACE_SECONDS", default=3600),
    # Health and the watchdog (docs/WORKER.md, "Health"): the GPU workers' heartbeat interval, when a
    # silent worker counts as stale (run_gpu_worker then restarts its cluster unless the watchdog is
    # off), and the age of the oldest queued request from which /readyz is degraded, then failing.
    "WORKER_HEARTBEAT_SECONDS": env.float("PERSONALIZATION_WORKER_HEARTBEAT_SECONDS", default=5.0),
    "WORKER_STALE_SECONDS": env.float("PERSONALIZATION_WORKER_STALE_SECONDS", default=60.0),
    "WORKER_WATCHDOG": env.bool("PERSONALIZATION_WORKER_WATCHDOG", default=True),
    # run_gpu_worker's stop: SIGTERM to each cluster, then its process tree killed after this long.
    "WORKER_STOP_SECONDS": env.float("PERSONALIZATION_WORKER_STOP_SECONDS", default=30.0),
    "QUEUE_AGE_WARN_SECONDS": env.int("PERSONALIZATION_QUEUE_AGE_WARN_SECONDS", default=120),
    "QUEUE_AGE_FAIL_SECONDS": env.int("PERSONALIZATION_QUEUE_AGE_FAIL_SECONDS", default=600),
    "PROGRESS_INTERVAL": env.float("PERSONALIZATION_PROGRESS_INTERVAL", default=1.0),
    # Print files: "" upscales with Lanczos; a hub id or directory of a diffusers x4 upscaler uses it.
    "PRINT_UPSCALER": env("PERSONALIZATION_PRINT_UPSCALER", default=""),
    "PRINT_UPSCALER_STEPS": env.int("PERSONALIZATION_PRINT_UPSCALER_STEPS", default=20),
    # A failing print job's tries (backing off) before the design's print file is marked failed.
    "PRINT_MAX_ATTEMPTS": env.int("PERSONALIZATION_PRINT_MAX_ATTEMPTS", default=3),
    # The output safety check in the worker (nudity + text read by OCR); off only on purpose.
    "SAFETY_CHECK": env.bool("PERSONALIZATION_SAFETY_CHECK", default=True),
    "TEXT_CHECK": env.bool("PERSONALIZATION_TEXT_CHECK", default=True),
    "SAFETY_THRESHOLD": env.float("PERSONALIZATION_SAFETY_THRESHOLD", default=0.5),
    "SAFETY_NUDITY_MODEL": env("PERSONALIZATION_SAFETY_NUDITY_MODEL", default=""),
    # Customer emails: "your design is ready" only for requests that took longer than this many
    # seconds from submit to finish (0: never); links in emails start with SITE_URL.
    "READY_EMAIL_AFTER_SECONDS": env.int("PERSONALIZATION_READY_EMAIL_AFTER_SECONDS", default=60),
    # The email sweeper (a schedule on the "web" cluster): how often it runs (0: never), and when an
    # email's task counts as lost: pending this long, or "sending" this long (above the web cluster's
    # task timeout of 600 s, so a slow send still running is never taken again).
    "EMAIL_SWEEP_MINUTES": env.int("PERSONALIZATION_EMAIL_SWEEP_MINUTES", default=1),
    "EMAIL_PENDING_GRACE_SECONDS": env.int("PERSONALIZATION_EMAIL_PENDING_GRACE_SECONDS", default=120),
    "EMAIL_SENDING_STALE_SECONDS": env.int("PERSONALIZATION_EMAIL_SENDING_STALE_SECONDS", default=900),
    "SITE_URL": SITE_URL,
}

# --- Security (production values unless DEBUG) --------------------------------------------------
# Behind a TLS-terminating proxy: the header (as a WSGI key) and value by which the proxy says that a
# request came in over HTTPS. The proxy must set it on every request, replacing a client's own, so
# SECURE_SSL_REDIRECT redirects only what really came over http. Empty: no proxy in front, the
# connection itself decides.
_proxy_ssl_header = env.list("SECURE_PROXY_SSL_HEADER", default=["HTTP_X_FORWARDED_PROTO", "https"])
if _proxy_ssl_header and len(_proxy_ssl_header) != 2:
    raise environ.ImproperlyConfigured(
        "SECURE_PROXY_SSL_HEADER must be a header and its value, e.g. HTTP_X_FORWARDED_PROTO,https "
        "(or empty)."
    )
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) or None
SESSION_COOKIE_SECURE = not DEBUG
# Sessions are read on every poll of a job card: from the shared cache, the database behind it.
SESSION_ENGINE = "config.sessions"
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
