"""Private files (issue 10): every kind of customer file is readable by its owner and by staff of
its brand only, through /private-media/; public /media/ serves catalogue pictures only; storage keys
cannot be derived from row ids; pages and the API render working file URLs.

The suite also runs on S3 (.ci/run): there /private-media/<name> answers a redirect to a signed URL
after the same check, and the tests follow it to the real S3 server. What only local storage does
(django-sendfile2, /media/) is skipped there; tests/personalization/test_private_files_s3.py covers
the S3 side (signatures, expiry, the public bucket)."""

import html
import io
import re
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_sendfile.utils import _get_sendfile

from personalization import files
from personalization.models import GenerationImage, GenerationRequest, LineDesign
from personalization.print_jobs import line_design_render_print_file
from personalization.review import generation_hold_for_review, generation_review_approve
from personalization.services import _answer_from_cache, line_design_create
from personalization.storage import line_prefix, private_storage, request_prefix
from shop.models import Order, OrderLine
from tests.factories import make_brand, make_product, make_style, make_user, png, visitor

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]

ReviewState = GenerationRequest.ReviewState
OWNER_KEY = "visitor-owner"
ON_S3 = not settings.STORAGES["personalization_private"]["BACKEND"].endswith("FileSystemStorage")
local_only = pytest.mark.skipif(ON_S3, reason="local storage only (django-sendfile2, /media/)")


@pytest.fixture(autouse=True)
def _sendfile(settings):
    settings.SENDFILE_BACKEND = "django_sendfile.backends.simple"
    _get_sendfile.cache_clear()
    yield
    _get_sendfile.cache_clear()


# --- a shop with two brands, customers and staff ------------------------------------------------


@dataclass
class Owned:
    """One owner's files: a request (reference photo, preview), a variation, a frozen order line."""

    generation: GenerationRequest
    image: GenerationImage
    design: LineDesign
    order: Order

    def file(self, kind: str):
        row, field = kind.split(".")
        return getattr({"request": self.generation, "image": self.image, "line": self.design}[row], field)


KINDS = [
    "request.reference_image",
    "request.preview",
    "image.image",
    "image.mockup",
    "line.image",
    "line.mockup",
    "line.print_file",
    "line.reference_image",
]
HELD_KINDS = {"request.preview", "image.image", "image.mockup"}  # hidden from the customer in review


def _colour(n: int) -> tuple[int, int, int]:
    return (n * 37 % 256, n * 91 % 256, n * 53 % 256)


_colours = iter(range(1, 10_000))


def _png() -> bytes:
    return png(size=(48, 48), color=_colour(next(_colours)))


def make_owned(product, *, customer=None, session_key: str = "") -> Owned:
    generation = GenerationRequest.objects.create(
        customer=customer,
        session_key=session_key,
        product=product,
        brand=product.brand,
        base_color_name="White",
        base_color_hex="#FFFFFF",
        description="a red fox in the snow",
        optimized_prompt="a red fox in the snow, t-shirt print",
        seed=7,
        steps=4,
        model_name="tiny-sd21",
        scheduler_name="DPMSolverMultistepScheduler",
        status=GenerationRequest.Status.SUCCEEDED,
        reference_sha256="0" * 64,
        started_at=timezone.now(),
        finished_at=timezone.now(),
        cache_key=f"cache-{next(_colours)}",
    )
    generation.reference_image.save("reference.png", ContentFile(_png()), save=False)
    generation.preview.save("preview.png", ContentFile(_png()), save=False)
    generation.save()
    image = GenerationImage(
        request=generation, index=0, seed=7, width=48, height=48, safety={"checked": True, "unsafe": []}
    )
    image.image.save("design.png", ContentFile(_png()), save=False)
    image.mockup.save("mockup.png", ContentFile(_png()), save=False)
    image.save()
    order = Order.objects.create(
        number=f"PRIV{next(_colours):05d}",
        user=customer,
        session_key=session_key,
        full_name="Ada Lovelace",
        email="ada@example.com",
        address_line1="1 Analytical Way",
        city="London",
        postcode="N1 1AA",
        country="GB",
    )
    line = OrderLine.objects.create(
        order=order,
        product=product,
        product_name=product.name,
        product_slug=product.slug,
        product_type=product.product_type,
        base_color_name="White",
        base_color_hex="#FFFFFF",
        quantity=1,
        unit_price=product.price,
    )
    design = line_design_create(order_line=line, image=image)
    design = line_design_render_print_file(design_id=design.pk)
    return Owned(generation=generation, image=image, design=design, order=order)


@dataclass
class World:
    product: object
    brand_a: object
    brand_b: object
    owner: object
    other: object
    staff_a: object
    staff_b: object
    staff_none: object
    listed_not_staff: object
    superuser: object
    logged_in: Owned  # the customer's account owns these
    anonymous: Owned  # the visitor OWNER_KEY owns these


@pytest.fixture
def world() -> World:
    brand_a, brand_b = make_brand(name="Acme"), make_brand(name="Bolt")
    product = make_product(brand=brand_a, print_width_mm=20, print_height_mm=20, print_dpi=150, min_dpi=72)
    owner, other = make_user("owner"), make_user("other")
    staff_a, staff_b = make_user("staff-a", is_staff=True), make_user("staff-b", is_staff=True)
    brand_a.owners.add(staff_a)
    brand_b.owners.add(staff_b)
    listed_not_staff = make_user("listed")  # named as an owner, but not staff: no access
    brand_a.owners.add(listed_not_staff)
    superuser = get_user_model().objects.create_superuser("root", "root@example.com", "pass-w0rd-long")
    return World(
        product=product,
        brand_a=brand_a,
        brand_b=brand_b,
        owner=owner,
        other=other,
        staff_a=staff_a,
        staff_b=staff_b,
        staff_none=make_user("staff-none", is_staff=True),
        listed_not_staff=listed_not_staff,
        superuser=superuser,
        logged_in=make_owned(product, customer=owner),
        anonymous=make_owned(product, session_key=OWNER_KEY),
    )


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def as_visitor(key: str) -> Client:
    return visitor(Client(), key)


def private_bytes(field_file) -> bytes:
    with private_storage.open(field_file.name, "rb") as fh:
        return fh.read()


def callers(world: World, *, owner_client: Client) -> dict[str, tuple[Client, bool]]:
    """Every kind of caller, and whether it may read the owner's files."""
    return {
        "anonymous": (Client(), False),
        "another visitor": (as_visitor("visitor-someone-else"), False),
        "another customer": (as_user(world.other), False),
        "the owner": (owner_client, True),
        "staff of the brand": (as_user(world.staff_a), True),
        "staff of another brand": (as_user(world.staff_b), False),
        "staff of no brand": (as_user(world.staff_none), False),
        "brand owner who is not staff": (as_user(world.listed_not_staff), False),
        "superuser": (as_user(world.superuser), True),
    }


def fetch(client: Client, field_file):
    return client.get(f"/private-media/{field_file.name}")


def served(response) -> bool:
    """Granted: the file itself (local storage) or a redirect to a signed URL (S3)."""
    return response.status_code == (302 if ON_S3 else 200)


def delivered(response) -> bytes:
    """The bytes a granted answer delivers (following an S3 redirect to the real server)."""
    if ON_S3:
        assert response.status_code == 302, response.status_code
        with urllib.request.urlopen(response["Location"], timeout=10) as remote:
            return remote.read()
    assert response.status_code == 200, response.status_code
    return b"".join(response)


# --- who reads what ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("owner", ["logged-in customer", "anonymous visitor"])
def test_every_customer_file_is_readable_by_its_owner_and_brand_staff_only(world, kind, owner):
    owned = world.logged_in if owner == "logged-in customer" else world.anonymous
    owner_client = as_user(world.owner) if owner == "logged-in customer" else as_visitor(OWNER_KEY)
    field_file = owned.file(kind)
    assert field_file.name, f"{kind} has no file"
    if ON_S3:
        assert "X-Amz-Signature=" in field_file.url and "X-Amz-Expires=" in field_file.url
    else:
        assert field_file.url == f"/private-media/{field_file.name}"
    expected = private_bytes(field_file)
    mismatches = []
    for label, (client, allowed) in callers(world, owner_client=owner_client).items():
        response = fetch(client, field_file)
        if allowed:
            ok = served(response) and delivered(response) == expected
        else:
            ok = response.status_code == 404 and expected not in response.content
        if not ok:
            mismatches.append(f"{label}: {response.status_code}")
    assert mismatches == []


def test_the_owner_gets_the_right_bytes_and_headers(world):
    client = as_user(world.owner)
    for kind in KINDS:
        field_file = world.logged_in.file(kind)
        response = fetch(client, field_file)
        assert delivered(response) == private_bytes(field_file), kind
        assert "private" in response["Cache-Control"], kind
        assert response["X-Content-Type-Options"] == "nosniff", kind
        if not ON_S3:
            assert response["Content-Type"] == "image/png", kind
            assert response["Content-Disposition"].startswith("inline"), kind
    # Five different pictures: the order line's image and reference are copies, its mockup is drawn
    # again from the frozen composition (what will print), so it is a picture of its own.
    contents = {private_bytes(world.logged_in.file(kind)) for kind in KINDS if kind != "line.print_file"}
    assert len(contents) == 5
    assert private_bytes(world.logged_in.file("line.image")) == private_bytes(
        world.logged_in.file("image.image")
    )


def test_a_refused_file_looks_exactly_like_a_missing_one(world):
    real = fetch(Client(), world.logged_in.image.image)
    missing = Client().get(f"/private-media/{request_prefix(world.logged_in.generation.pk)}/0/nothing.png")
    assert real.status_code == missing.status_code == 404
    assert real.content == missing.content
    # Fetching a file never starts a session for an anonymous caller.
    assert "sessionid" not in real.cookies


def test_the_customer_loses_access_after_logging_out(world):
    client = as_user(world.owner)
    assert served(fetch(client, world.logged_in.design.print_file))
    client.logout()
    assert fetch(client, world.logged_in.design.print_file).status_code == 404


def test_an_inactive_staff_user_reads_nothing(world):
    client = as_user(world.staff_a)
    world.staff_a.is_active = False
    world.staff_a.save()
    assert fetch(client, world.logged_in.image.image).status_code == 404


def test_images_held_for_review_are_for_brand_staff_only(world):
    generation = world.logged_in.generation
    assert generation_hold_for_review(request_id=generation.pk, reason="protected name")
    for state in (ReviewState.PENDING, ReviewState.REJECTED, ReviewState.APPROVED):
        GenerationRequest.objects.filter(pk=generation.pk).update(review_state=state)
        for kind in KINDS:
            field_file = world.logged_in.file(kind)
            hidden = state != ReviewState.APPROVED and kind in HELD_KINDS
            assert served(fetch(as_user(world.owner), field_file)) is not hidden, (state, kind)
            assert served(fetch(as_user(world.staff_a), field_file)), (state, kind)
            assert fetch(as_user(world.staff_b), field_file).status_code == 404, (state, kind)


def test_approval_makes_held_images_visible_to_the_customer(world):
    generation = world.anonymous.generation
    generation_hold_for_review(request_id=generation.pk, reason="text in the picture")
    owner = as_visitor(OWNER_KEY)
    assert fetch(owner, world.anonymous.image.mockup).status_code == 404
    generation_review_approve(generation=generation)
    assert served(fetch(owner, world.anonymous.image.mockup))


def test_a_file_shared_by_the_result_cache_is_readable_through_any_visible_row(world):
    source = world.logged_in.generation
    twin = GenerationRequest.objects.create(
        **{
            f: getattr(source, f)
            for f in ("product", "brand", "base_color_name", "base_color_hex", "description", "seed", "steps")
        },
        customer=world.other,
        cache_key=source.cache_key,
    )
    assert _answer_from_cache(twin)
    shared = twin.images.get().image
    assert shared.name == world.logged_in.image.image.name
    assert served(fetch(as_user(world.other), shared))
    assert served(fetch(as_user(world.owner), shared))
    assert fetch(as_visitor(OWNER_KEY), shared).status_code == 404
    # Held on the twin only: its customer no longer sees it, the source's customer still does.
    generation_hold_for_review(request_id=twin.pk, reason="protected name")
    assert fetch(as_user(world.other), shared).status_code == 404
    assert fetch(as_user(world.other), twin.preview).status_code == 404
    assert served(fetch(as_user(world.owner), shared))


def test_a_claimed_visitor_design_follows_the_account(world):
    from personalization.services import generations_claim_for_user

    generations_claim_for_user(user=world.other, session_key=OWNER_KEY)
    assert served(fetch(as_user(world.other), world.anonymous.image.image))


# --- odd names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/private-media/../config/settings.py",
        "/private-media/%2e%2e/%2e%2e/config/settings.py",
        "/private-media/personalization/..%2f..%2f..%2fconfig%2fsettings.py",
        "/private-media//etc/passwd",
        "/private-media/./personalization/x.png",
        "/private-media/personalization\\..\\x.png",
        "/private-media/.env",
        "/private-media/personalization//x.png",
        "/private-media/personalization/x.png/",
        "/private-media/" + "a/" * 600 + "x.png",
        "/private-media/caf%C3%A9.png",
        "/private-media/%20",
    ],
)
def test_traversal_and_odd_names_are_404_even_for_a_superuser(world, path):
    assert as_user(world.superuser).get(path).status_code == 404


@local_only
def test_a_row_naming_a_file_outside_the_storage_is_never_served(world, settings):
    secret = Path(settings.SENDFILE_ROOT).parent / "secret.png"
    secret.write_bytes(png())
    design = world.logged_in.design
    for name in ("../secret.png", "orders/../../secret.png", str(secret)):
        LineDesign.objects.filter(pk=design.pk).update(print_file=name)
        response = as_user(world.superuser).get("/private-media/" + name)
        assert response.status_code == 404, name
        assert png() not in b"".join(response)


@local_only
def test_a_non_image_file_is_sent_as_an_opaque_download(world):
    name = private_storage.save(
        f"{line_prefix(world.logged_in.design.order_line_id)}/notes.html",
        ContentFile(b"<script>alert(1)</script>"),
    )
    LineDesign.objects.filter(pk=world.logged_in.design.pk).update(print_file=name)
    response = as_user(world.owner).get(f"/private-media/{name}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_only_get_and_head(world):
    url = f"/private-media/{world.logged_in.image.image.name}"
    assert served(as_user(world.owner).head(url))
    assert as_user(world.owner).post(url).status_code == 405


def test_a_name_no_row_references_is_404_even_if_the_file_exists(world):
    name = private_storage.save("personalization/orphan/design.png", ContentFile(png()))
    assert as_user(world.superuser).get(f"/private-media/{name}").status_code == 404


# --- handing the file to the web server (django-sendfile2) ----------------------------------------


@local_only
def test_the_nginx_backend_hands_the_file_over_with_x_accel_redirect(world, settings):
    settings.SENDFILE_BACKEND = "django_sendfile.backends.nginx"
    settings.SENDFILE_URL = "/_private-media"
    _get_sendfile.cache_clear()
    field_file = world.logged_in.design.print_file
    response = fetch(as_user(world.staff_a), field_file)
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/_private-media/{field_file.name}"
    assert response.content == b""
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"].startswith("private")
    refused = fetch(as_user(world.staff_b), field_file)
    assert refused.status_code == 404
    assert not refused.has_header("X-Accel-Redirect")


@local_only
def test_a_sendfile_root_outside_the_private_storage_is_a_configuration_error(world, settings, tmp_path):
    settings.SENDFILE_ROOT = str(tmp_path / "elsewhere")
    with pytest.raises(ImproperlyConfigured):
        fetch(as_user(world.owner), world.logged_in.image.image)


def test_the_registry_covers_every_private_file_field():
    """A FileField on the private storage that is not registered could never be read: fail here."""
    from django.apps import apps

    registered = {(entry.model.lower(), field) for entry in files.REGISTRY for field in entry.fields}
    private = {
        (model._meta.label_lower, field.name)
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if getattr(field, "storage", None) is private_storage
    }
    assert private
    assert private <= registered


# --- storage keys ----------------------------------------------------------------------------------


def test_storage_keys_cannot_be_derived_from_ids(world, settings):
    first, second = world.logged_in.design, world.anonymous.design
    assert second.order_line_id == first.order_line_id + 1
    for design in (first, second):
        for field in (design.image, design.mockup, design.print_file, design.reference_image):
            assert not field.name.startswith(f"orders/designs/{design.order_line_id}/"), field.name
            assert re.fullmatch(rf"orders/designs/{design.order_line_id}-[0-9a-f]{{32}}/[\w.]+", field.name)
    token = lambda name: name.split("/")[2].split("-", 1)[1]  # noqa: E731
    assert token(first.image.name) != token(second.image.name)
    for generation in (world.logged_in.generation, world.anonymous.generation):
        assert re.fullmatch(rf"personalization/{generation.pk}-[0-9a-f]{{32}}", request_prefix(generation.pk))
    # The token is keyed by the server's secret: knowing the id (and the scheme) is not enough.
    known = line_prefix(first.order_line_id)
    settings.SECRET_KEY = "another-secret-key-that-an-attacker-might-guess-0123456789"
    assert line_prefix(first.order_line_id) != known
    # Old numbered paths answer nothing.
    for path in (
        f"/media/orders/designs/{first.order_line_id}/print.png",
        f"/private-media/orders/designs/{first.order_line_id}/print.png",
    ):
        assert Client().get(path).status_code == 404


# --- public media: catalogue pictures only --------------------------------------------------------


@local_only
def test_customer_files_are_not_under_public_media(world, settings):
    """Even a copy left in MEDIA_ROOT at an old path (or the private name) is not served there."""
    design = world.logged_in.design
    for name in (
        f"orders/designs/{design.order_line_id}/print.png",
        design.print_file.name,
        world.logged_in.generation.reference_image.name,
    ):
        default_storage.save(name, ContentFile(private_bytes(design.print_file)))
        assert (Path(settings.MEDIA_ROOT) / name).exists()
        assert as_user(world.superuser).get(f"/media/{name}").status_code == 404
        assert Client().get(f"/media/{name}").status_code == 404


@local_only
def test_catalogue_pictures_stay_public_and_other_media_do_not(world):
    product, brand = world.product, world.brand_a
    product.mockup_template.save("tee.png", ContentFile(png(color=(1, 2, 3))))
    brand.logo.save("logo.png", ContentFile(png(color=(4, 5, 6))))
    style = make_style(brand=brand)
    style.thumbnail.save("thumb.png", ContentFile(png(color=(7, 8, 9))))
    for field in (product.mockup_template, brand.logo, style.thumbnail):
        assert field.url.startswith("/media/")
        response = Client().get(field.url)
        assert response.status_code == 200, field.name
        assert b"".join(response) == field.storage.open(field.name).read()
    brand.lora_weights.save("style.safetensors", ContentFile(b"weights"))
    unserved = [brand.lora_weights.name, default_storage.save("brands/fonts/brand.ttf", ContentFile(b"font"))]
    for name in unserved:
        assert default_storage.exists(name)
        assert Client().get(f"/media/{name}").status_code == 404, name
        assert as_user(world.superuser).get(f"/media/{name}").status_code == 404, name
    for path in (
        f"/media/products/../{brand.lora_weights.name}",
        f"/media/products/%2e%2e/{brand.lora_weights.name}",
    ):
        assert Client().get(path).status_code == 404, path


# --- pages and the API render working URLs ----------------------------------------------------------


def img_srcs(content: bytes) -> list[str]:
    return [html.unescape(src) for src in re.findall(r'<img[^>]+src="([^"]+)"', content.decode())]


def private_srcs(content: bytes) -> list[str]:
    """The customer-file URLs of a page: /private-media/ paths, or signed S3 links."""
    return [src for src in img_srcs(content) if "/private-media/" in src or "X-Amz-Signature=" in src]


def load(client: Client, url: str) -> tuple[int, bytes]:
    """Fetch a rendered file URL as a browser would: through Django, or from the S3 server."""
    if "X-Amz-Signature=" in url:
        with urllib.request.urlopen(url, timeout=10) as remote:
            return remote.status, remote.read()
    response = client.get(url.removeprefix("http://testserver"))
    return response.status_code, b"".join(response) if response.status_code == 200 else b""


def assert_private_images_load(client: Client, content: bytes, *, at_least: int) -> list[str]:
    srcs = private_srcs(content)
    assert len(srcs) >= at_least, img_srcs(content)
    for src in srcs:
        status, body = load(client, src)
        assert status == 200, src
        assert body.startswith(b"\x89PNG"), src
    return srcs


def test_the_job_page_and_gallery_render_urls_that_work_for_the_owner(world):
    for owned, client in ((world.logged_in, as_user(world.owner)), (world.anonymous, as_visitor(OWNER_KEY))):
        page = client.get(reverse("personalization:job", args=[owned.generation.pk]))
        assert page.status_code == 200
        srcs = assert_private_images_load(client, page.content, at_least=2)  # design and mockup
        gallery = client.get(reverse("personalization:gallery"))
        assert_private_images_load(client, gallery.content, at_least=1)
        # A stranger given those URLs gets nothing (on S3 a signed link works until it expires).
        for src in srcs:
            if not ON_S3:
                assert Client().get(src).status_code == 404


def test_the_live_preview_on_a_running_job_card_works_for_the_owner(world):
    generation = world.logged_in.generation
    GenerationRequest.objects.filter(pk=generation.pk).update(
        status=GenerationRequest.Status.RUNNING, progress_step=2, progress_total=4
    )
    generation.images.all().delete()
    client = as_user(world.owner)
    page = client.get(reverse("personalization:job", args=[generation.pk]))
    assert page.status_code == 200
    srcs = assert_private_images_load(client, page.content, at_least=1)
    assert all(generation.preview.name in src for src in srcs)
    if not ON_S3:
        assert as_user(world.other).get(srcs[0]).status_code == 404


def test_the_order_page_renders_urls_that_work_for_the_owner(world):
    for owned, client in ((world.logged_in, as_user(world.owner)), (world.anonymous, as_visitor(OWNER_KEY))):
        page = client.get(owned.order.get_absolute_url())
        assert page.status_code == 200
        assert_private_images_load(client, page.content, at_least=2)


def test_admin_previews_render_urls_that_work_for_staff(world):
    client = as_user(world.superuser)
    pages = [
        reverse("admin:personalization_generationrequest_change", args=[world.logged_in.generation.pk]),
        reverse("admin:personalization_linedesign_change", args=[world.logged_in.design.pk]),
    ]
    for url in pages:
        page = client.get(url)
        assert page.status_code == 200, url
        assert_private_images_load(client, page.content, at_least=1)


def test_the_api_images_urls_work_for_the_owner(world):
    client = as_user(world.owner)
    response = client.get(f"/api/v1/generations/{world.logged_in.generation.pk}/")
    assert response.status_code == 200
    images = response.json()["images"]
    assert images
    urls = [image["url"] for image in images] + [image["mockup_url"] for image in images]
    for url in urls:
        if ON_S3:
            assert "X-Amz-Signature=" in url, url
        else:
            assert url.startswith("http://testserver/private-media/"), url
            assert Client().get(url.removeprefix("http://testserver")).status_code == 404
        status, body = load(client, url)
        assert status == 200, url
        assert body.startswith(b"\x89PNG"), url


def test_an_api_client_with_a_token_follows_its_own_file_urls(world):
    """The documented API client sends `Authorization: Token ...` and no session cookie."""
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=world.owner)
    header = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    client = Client()
    response = client.get(f"/api/v1/generations/{world.logged_in.generation.pk}/", **header)
    assert response.status_code == 200
    urls = [image["url"] for image in response.json()["images"]]
    assert urls
    for url in urls:
        if ON_S3:
            continue  # signed URLs need no header
        path = url.removeprefix("http://testserver")
        got = client.get(path, **header)
        assert got.status_code == 200 and b"".join(got).startswith(b"\x89PNG")
        stranger = Token.objects.create(user=make_user())
        assert client.get(path, HTTP_AUTHORIZATION=f"Token {stranger.key}").status_code == 404
        assert client.get(path, HTTP_AUTHORIZATION="Token not-a-real-key").status_code == 404
        assert client.get(path, HTTP_AUTHORIZATION="Basic Zm9vOmJhcg==").status_code == 404
        stranger.delete()


# --- files older versions left in public media ------------------------------------------------------


def test_customer_files_left_in_public_media_by_older_versions_are_moved(world):
    design, image = world.logged_in.design, world.logged_in.image
    legacy_print = f"orders/designs/{design.order_line_id}/print.png"  # the guessable paths of old
    legacy_design = f"personalization/{image.request_id}/0/design.png"
    for name in (legacy_print, legacy_design):
        assert default_storage.save(name, ContentFile(png(color=(5, 6, 7)))) == name
    LineDesign.objects.filter(pk=design.pk).update(print_file=legacy_print)
    GenerationImage.objects.filter(pk=image.pk).update(image=legacy_design)
    shared = GenerationImage.objects.create(  # a cached answer sharing the old file
        request=world.anonymous.generation, index=1, seed=8, width=48, height=48, image=legacy_design
    )
    LineDesign.objects.filter(pk=world.anonymous.design.pk).update(
        reference_image="orders/designs/9/gone.png"
    )

    out, err = io.StringIO(), io.StringIO()
    call_command("move_customer_files", "--dry-run", stdout=out, stderr=err)
    assert "would move 2 file(s) for 3 row(s)" in out.getvalue()
    assert LineDesign.objects.get(pk=design.pk).print_file.name == legacy_print

    out = io.StringIO()
    call_command("move_customer_files", stdout=out, stderr=err)
    assert "moved 2 file(s) for 3 row(s)" in out.getvalue()
    assert "orders/designs/9/gone.png" in err.getvalue()
    design.refresh_from_db()
    image.refresh_from_db()
    shared.refresh_from_db()
    assert design.print_file.name == f"{line_prefix(design.order_line_id)}/print.png"
    assert image.image.name == shared.image.name == f"{request_prefix(image.request_id)}/0/design.png"
    assert private_bytes(design.print_file) == private_bytes(image.image) == png(color=(5, 6, 7))
    assert not default_storage.exists(legacy_print) and not default_storage.exists(legacy_design)
    assert served(fetch(as_user(world.owner), design.print_file))
    assert fetch(Client(), design.print_file).status_code == 404

    out = io.StringIO()
    call_command("move_customer_files", stdout=out, stderr=io.StringIO())
    assert "moved 0 file(s) for 0 row(s)" in out.getvalue()
