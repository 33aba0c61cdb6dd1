"""Private files on a real S3 server (SeaweedFS in .ci/run): customer files only through signed URLs
that the server itself refuses once expired, tampered with or unsigned; catalogue pictures public.

Runs only when AWS_STORAGE_BUCKET_NAME is set (the service-backed suite)."""

import os
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit, urlunsplit

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client

from personalization.conf import conf
from personalization.storage import private_storage, request_prefix, store_bytes
from tests.factories import png

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db,
    pytest.mark.skipif(
        not os.environ.get("AWS_STORAGE_BUCKET_NAME"), reason="needs S3 (AWS_STORAGE_BUCKET_NAME)"
    ),
]


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def unsigned(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(query=""))


def signed_at(moment: datetime, name: str, *, expires: int) -> str:
    """A URL to a private file signed by the storage's own client with its clock at ``moment``."""
    import botocore.auth

    real = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = lambda: moment.replace(tzinfo=None)
    try:
        client = private_storage.connection.meta.client
        return client.generate_presigned_url(
            "get_object",
            Params={"Bucket": private_storage.bucket_name, "Key": private_storage._normalize_name(name)},
            ExpiresIn=expires,
        )
    finally:
        botocore.auth.get_current_datetime = real


@pytest.fixture
def private_file():
    name = store_bytes(f"{request_prefix('s3-test')}/design.png", png(color=(9, 99, 199)))
    yield name
    private_storage.delete(name)


def test_private_urls_are_signed_and_expire_after_the_configured_lifetime(private_file):
    url = private_storage.url(private_file)
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == [str(conf.PRIVATE_URL_SECONDS)]
    assert "X-Amz-Signature" in query
    assert conf.PRIVATE_URL_SECONDS <= 3600  # minutes, not days
    status, body = get(url)
    assert status == 200
    assert body == png(color=(9, 99, 199))


def test_the_server_refuses_unsigned_tampered_and_expired_urls(private_file):
    url = private_storage.url(private_file)
    assert get(unsigned(url))[0] == 403
    assert get(url.replace(f"X-Amz-Expires={conf.PRIVATE_URL_SECONDS}", "X-Amz-Expires=604800"))[0] == 403
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    # Signed an hour ago, valid for a day: accepted (the signature itself is good) ...
    assert get(signed_at(an_hour_ago, private_file, expires=86400))[0] == 200
    # ... signed an hour ago for the configured lifetime: refused by the S3 server.
    status, body = get(signed_at(an_hour_ago, private_file, expires=conf.PRIVATE_URL_SECONDS))
    assert status == 403
    assert b"expired" in body.lower()


def test_catalogue_pictures_are_public_and_nothing_else_is():
    catalogue = default_storage.save("products/mockups/s3-test.png", ContentFile(png(color=(1, 1, 1))))
    hidden = [
        default_storage.save("brands/lora/s3-test.safetensors", ContentFile(b"weights")),
        default_storage.save("orders/designs/1/print.png", ContentFile(png())),  # an old numbered path
    ]
    try:
        status, body = get(unsigned(default_storage.url(catalogue)))
        assert status == 200
        assert body == png(color=(1, 1, 1))
        for name in hidden:
            assert get(unsigned(default_storage.url(name)))[0] == 403, name
    finally:
        for name in (catalogue, *hidden):
            default_storage.delete(name)


def test_the_private_view_redirects_the_owner_to_a_signed_url_only():
    from tests.factories import make_product, make_user
    from tests.personalization.test_private_files import make_owned

    owner = make_user("s3-owner")
    owned = make_owned(make_product(print_width_mm=20, print_height_mm=20, print_dpi=150), customer=owner)
    client = Client()
    client.force_login(owner)
    for field in (owned.image.image, owned.design.print_file, owned.generation.reference_image):
        path = f"/private-media/{field.name}"
        response = client.get(path)
        assert response.status_code == 302
        assert response["Cache-Control"].startswith("private")
        status, body = get(response["Location"])
        assert status == 200
        assert body == private_storage.open(field.name).read()
        assert get(unsigned(response["Location"]))[0] == 403
        assert Client().get(path).status_code == 404
