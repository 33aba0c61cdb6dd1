"""The production profile (``DJANGO_ENV=production``): what config/settings.py refuses to start with.

Reads no environment itself: settings pass their values in. The SECRET_KEY rules are Django's own
``security.W009`` (``check --deploy``), made fatal before anything starts.
"""

from django.core.exceptions import ImproperlyConfigured

SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE_CHARACTERS = 5
SECRET_KEY_HINT = 'python -c "import secrets; print(secrets.token_urlsafe(50))"'


def production_refusals(*, debug: bool, secret_key: str, allowed_hosts: list[str]) -> list[str]:
    """Each unsafe value, as a sentence that names the variable and how to fix it."""
    refusals = []
    if debug:
        refusals.append("DEBUG is on: unset DEBUG or set DEBUG=0.")
    if not secret_key:
        refusals.append(f"SECRET_KEY is not set: set it to 50 or more random characters ({SECRET_KEY_HINT}).")
    elif secret_key.startswith("django-insecure"):
        refusals.append(
            "SECRET_KEY starts with 'django-insecure' (a startproject key): make a new one "
            f"({SECRET_KEY_HINT})."
        )
    elif len(secret_key) < SECRET_KEY_MIN_LENGTH:
        refusals.append(
            f"SECRET_KEY is {len(secret_key)} characters long: use {SECRET_KEY_MIN_LENGTH} or more random "
            f"characters ({SECRET_KEY_HINT})."
        )
    elif len(set(secret_key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS:
        refusals.append(
            f"SECRET_KEY has {len(set(secret_key))} distinct characters: use random characters "
            f"({SECRET_KEY_HINT})."
        )
    if not allowed_hosts:
        refusals.append(
            "ALLOWED_HOSTS is empty: list the site's host names, e.g. ALLOWED_HOSTS=shop.example.com."
        )
    elif "*" in allowed_hosts:
        refusals.append("ALLOWED_HOSTS contains '*' (any host): list the site's host names instead.")
    return refusals


def refuse_unsafe_production(*, debug: bool, secret_key: str, allowed_hosts: list[str]) -> None:
    """Raise ImproperlyConfigured naming every unsafe value at once (one restart fixes them all)."""
    refusals = production_refusals(debug=debug, secret_key=secret_key, allowed_hosts=allowed_hosts)
    if refusals:
        raise ImproperlyConfigured(
            "DJANGO_ENV=production refuses to start:\n" + "\n".join(f"  - {r}" for r in refusals)
        )
