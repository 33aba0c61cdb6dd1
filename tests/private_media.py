"""Reading customer files in tests on both storages: locally /private-media/<name> answers the file
(200), on S3 a redirect (302) to a fresh signed URL; a file's own ``.url`` is /private-media/<name>
locally and a signed S3 URL on S3 (which the test client cannot fetch)."""

from django.conf import settings

ON_S3 = not settings.STORAGES["personalization_private"]["BACKEND"].endswith("FileSystemStorage")
GRANTED = 302 if ON_S3 else 200


def private_path(field_file) -> str:
    """The private-file view's path of a stored file (checks who may read it)."""
    return f"/private-media/{field_file.name}"


def is_file_url(url: str, field_file, *, absolute_host: str = "") -> bool:
    """Whether ``url`` is how the storage names this file: the private-file view's URL locally
    (``absolute_host`` prefixed, e.g. "http://testserver"), a signed S3 URL of its key on S3."""
    if ON_S3:
        return f"/{field_file.name}?" in url and "X-Amz-Signature=" in url
    return url == f"{absolute_host}{private_path(field_file)}"


def without_signatures(value):
    """``value`` (JSON data) with the query strings of URLs dropped: S3 signs each URL anew."""
    if isinstance(value, dict):
        return {key: without_signatures(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_signatures(item) for item in value]
    if isinstance(value, str) and value.startswith("http") and "?" in value:
        return value.split("?", 1)[0]
    return value
