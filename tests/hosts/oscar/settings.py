"""A second host for the plugin: django-oscar 4.x with the personalization plugin, for tests.

Run its suite with ``python -m pytest tests/hosts/oscar --ds tests.hosts.oscar.settings`` (``make
test`` does). Nothing of oscar is forked: the plugin learns about oscar's products from
``tests.hosts.oscar.host.OscarHost`` (products of one oscar product class, described by product
attributes), a design travels through the basket as the value of an oscar product option, and it is
frozen onto the oscar order line as that line's attribute is written (``tests.hosts.oscar.
integration``). DATABASE_URL selects PostgreSQL as in config/settings.py; SQLite otherwise.
"""

import os
from pathlib import Path

import environ
from oscar import INSTALLED_APPS as OSCAR_APPS
from oscar.defaults import *  # noqa: F403  (oscar's OSCAR_* defaults)

HOST_DIR = Path(__file__).resolve().parent
BASE_DIR = HOST_DIR.parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = False
SECRET_KEY = "oscar-host-test-only-secret-key-that-is-long-enough-for-django-checks-0123456789"
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
SITE_ID = 1

INSTALLED_APPS = [
    # django.contrib.admin with the plugin's brand-scoped site, in place of oscar's plain admin.
    "brand_guides.apps.BrandScopedAdminConfig" if app == "django.contrib.admin" else app
    for app in OSCAR_APPS
] + [
    "django.contrib.humanize",
    "django_htmx",
    "django_q",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    # the project's API toolkit, then the plugin
    "apikit",
    "brand_guides",
    "personalization",
    # this host's glue (no models): the design option in the basket, frozen onto the order line
    "tests.hosts.oscar.apps.OscarHostConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "oscar.apps.basket.middleware.BasketMiddleware",
    "django.contrib.flatpages.middleware.FlatpageFallbackMiddleware",
]

ROOT_URLCONF = "tests.hosts.oscar.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # This host's overrides first: personalization/base.html in oscar's layout, the "add to
        # basket" button of a finished design.
        "DIRS": [HOST_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.template.context_processors.i18n",
                "django.contrib.messages.context_processors.messages",
                "oscar.apps.search.context_processors.search_form",
                "oscar.apps.checkout.context_processors.checkout",
                "oscar.apps.communication.notifications.context_processors.notifications",
                "oscar.core.context_processors.metadata",
                "personalization.context_processors.personalization",
            ],
        },
    },
]

AUTHENTICATION_BACKENDS = (
    "oscar.apps.customer.auth_backends.EmailBackend",
    "django.contrib.auth.backends.ModelBackend",
)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_REDIRECT_URL = "/"

HAYSTACK_CONNECTIONS = {"default": {"ENGINE": "haystack.backends.simple_backend.SimpleEngine"}}

# Oscar draws product thumbnails with sorl-thumbnail or easy-thumbnails; neither is needed here.
OSCAR_THUMBNAILER = "tests.hosts.oscar.host.OriginalImageThumbnailer"
OSCAR_DEFAULT_CURRENCY = "GBP"
OSCAR_INITIAL_ORDER_STATUS = "Pending"
OSCAR_INITIAL_LINE_STATUS = "Pending"

# --- Database: SQLite file under var/ unless DATABASE_URL is set (as config/settings.py) ---------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'oscar-host.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # One file per test run: runs side by side (and the bundled shop's suite) never collide.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-oscar-{os.getpid()}.sqlite3")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"  # as the plugin's migrations; oscar's apps set their own

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Files: public media for oscar's catalogue, a private storage for the plugin's customer files --
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "oscar-host-static"
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "oscar-host-media"
PRIVATE_MEDIA_ROOT = VAR_DIR / "oscar-host-private"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Customer files (designs, mockups, print files): never served as plain media.
    "personalization_private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_MEDIA_ROOT, "base_url": "/private-media/", "allow_overwrite": True},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
SENDFILE_BACKEND = "django_sendfile.backends.simple"
SENDFILE_ROOT = str(PRIVATE_MEDIA_ROOT)
SENDFILE_URL = "/_private-media"

# --- Queue: django-q2 on the ORM broker; the plugin's GPU cluster ---------------------------------
Q_CLUSTER = {
    "name": "oscar-host",
    "workers": 1,
    "timeout": 600,
    "retry": 720,
    "max_attempts": 1,
    "orm": "default",
    "catch_up": False,
    "ALT_CLUSTERS": {"gpu": {"workers": 1, "recycle": 1_000_000_000, "timeout": 900, "retry": 1020}},
}

# --- The plugin's REST API ---------------------------------------------------------------------------
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
        "generation_submit_user": "30/min",
        "generation_submit_ip": "60/min",
        "auth_token": "20/min",
    },
}

# --- The plugin --------------------------------------------------------------------------------------
PERSONALIZATION = {
    # oscar's models, named like AUTH_USER_MODEL, and this host's adapter.
    "PRODUCT_MODEL": "catalogue.Product",
    "ORDER_LINE_MODEL": "order.Line",
    "HOST_ADAPTER": "tests.hosts.oscar.host.OscarHost",
    # The demo model (random weights); the tests point MODEL at the tiny pipeline they build.
    "MODEL": str(VAR_DIR / "models" / "tiny-sd21"),
    "DEMO_MODEL": True,
    "DEVICE": "cpu",
    "DTYPE": "float32",
    "PRIVATE_STORAGE": "personalization_private",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
