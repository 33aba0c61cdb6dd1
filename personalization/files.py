"""Customer files: which model fields hold them, who may read each, and the view that serves them.

A customer file (reference photo, live preview, design, mockup, print file) lives in the private
storage (``personalization.storage``). Locally its URL is ``/private-media/<name>``, answered by
``private_file`` below; on S3 its URL is a signed link that expires, and ``/private-media/<name>``
redirects to a fresh one after the same check.

A name is readable when ANY row that references it in a registered field is visible to the caller
(the result cache lets several requests share one file). Visible means:

- the owner: the customer's account, or the anonymous visitor's key (``personalization.visitors``);
  the images and preview of a request held for review (pending or rejected) are not the
  customer's to see (``review.images_visible_q``);
- staff who manage the row's brand (``brand_guides.access``), superusers everything.

Everyone else gets the same 404 as for a name that does not exist. A new kind of customer file
(a PDF, an export) is one more ``register(...)`` line: its field must use the private storage.
"""

import mimetypes
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe
from django_sendfile import sendfile

from brand_guides.access import brand_scope_q

from .review import images_visible_q
from .storage import private_storage
from .visitors import SESSION_KEY

NOT_FOUND = "No such file."
# Content types shown in the browser; any other file is sent as a download of opaque bytes.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "application/pdf"})
MAX_NAME_LENGTH = 1024
# Storage keys are ASCII words joined by "/": no "..", no hidden or empty segments, no backslashes.
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*")


@dataclass(frozen=True)
class Reader:
    """Who asks: the user (maybe anonymous) and the visitor key of their session ("" if none)."""

    user: object
    visitor_key: str = ""

    @classmethod
    def from_request(cls, request) -> "Reader":
        # Reads the key without creating one: fetching a file never starts a session.
        user = request.user
        if not getattr(user, "is_authenticated", False) and "HTTP_AUTHORIZATION" in request.META:
            user = _token_user(request) or user  # an API client follows the URLs the API gave it
        return cls(user=user, visitor_key=request.session.get(SESSION_KEY, "") or "")


def _token_user(request):
    """The account of a valid ``Authorization: Token <key>`` header (None for a bad or other one)."""
    from rest_framework.authentication import TokenAuthentication
    from rest_framework.exceptions import AuthenticationFailed

    try:
        found = TokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        return None
    return found[0] if found else None


def owner_q(
    customer: str = "customer", session_key: str = "session_key", *, visible: Q | None = None
) -> Callable[[Reader], Q]:
    """A rule: rows whose ``customer`` is the reader's account or whose ``session_key`` is the
    reader's visitor key, narrowed by ``visible`` (what a customer may see of their own rows)."""

    def rule(reader: Reader) -> Q:
        q = Q(pk__in=[])
        user = reader.user
        if getattr(user, "is_authenticated", False) and user.is_active:
            q |= Q(**{customer: user.pk})
        if reader.visitor_key:
            q |= Q(**{session_key: reader.visitor_key})
        return q & visible if visible is not None else q

    return rule


@dataclass(frozen=True)
class PrivateFiles:
    """File fields of one model that hold customer files, and who may read them."""

    model: str  # "app_label.ModelName"
    fields: tuple[str, ...]
    customer: Callable[[Reader], Q]  # rows the owner may read
    brand: str  # the lookup path to the row's brand, for staff scoping

    def readable_q(self, reader: Reader) -> Q:
        staff = brand_scope_q(reader.user, self.brand)
        if not staff:  # an empty Q: every brand (and ``X | Q()`` would drop it, not match all)
            return Q()
        return self.customer(reader) | staff

    def references(self, name: str):
        model = apps.get_model(self.model)
        named = Q()
        for field_name in self.fields:
            named |= Q(**{field_name: name})
        return model._default_manager.filter(named)


REGISTRY: list[PrivateFiles] = []


def register(model: str, *fields: str, customer: Callable[[Reader], Q], brand: str) -> PrivateFiles:
    entry = PrivateFiles(model=model, fields=fields, customer=customer, brand=brand)
    REGISTRY.append(entry)
    return entry


# The customer's own upload stays theirs; what the model made waits for review when held.
register("personalization.GenerationRequest", "reference_image", customer=owner_q(), brand="brand")
register(
    "personalization.GenerationRequest",
    "preview",
    customer=owner_q(visible=images_visible_q()),
    brand="brand",
)
register(
    "personalization.GenerationImage",
    "image",
    "mockup",
    customer=owner_q("request__customer", "request__session_key", visible=images_visible_q("request__")),
    brand="request__brand",
)
register(
    "personalization.LineDesign",
    "image",
    "mockup",
    "print_file",
    "print_pdf",
    "logo",
    "reference_image",
    customer=owner_q(),
    brand="brand",
)
# The font frozen with an ordered text: the shop's licensed font, like Typography.font_file below.
register("personalization.LineDesign", "text_font", customer=lambda reader: Q(pk__in=[]), brand="brand")
# A shop's fonts: its staff may download them (the admin), customers never.
register("brand_guides.Typography", "font_file", customer=lambda reader: Q(pk__in=[]), brand="brand")


@dataclass
class MoveReport:
    moved: int = 0  # files copied into the private storage (and removed from public media)
    rows: int = 0  # rows now naming their private copy
    missing: list[str] = field(default_factory=list)  # names found in neither storage


def customer_files_move_to_private(*, dry_run: bool = False) -> MoveReport:
    """Move customer files that older versions wrote to the public media storage (at guessable
    paths such as orders/designs/1/print.png) into the private storage under unguessable keys,
    and delete the public copies. Idempotent: a file already in the private storage is left alone."""
    from django.core.files.storage import default_storage

    from .storage import store_bytes

    report = MoveReport()
    renamed: dict[str, str] = {}  # old public name -> new private name (cached rows share files)
    for entry in REGISTRY:
        model = apps.get_model(entry.model)
        for field_name in entry.fields:
            model_field = model._meta.get_field(field_name)
            rows = model._default_manager.exclude(**{field_name: ""}).order_by("pk")
            for row in rows.iterator():
                old = getattr(row, field_name).name
                if old not in renamed:
                    if private_storage.exists(old):
                        continue
                    if not default_storage.exists(old):
                        report.missing.append(old)
                        continue
                    new = model_field.generate_filename(row, posixpath.basename(old))
                    if not dry_run:
                        with default_storage.open(old, "rb") as fh:
                            new = store_bytes(new, fh.read())
                    renamed[old] = new
                    report.moved += 1
                if not dry_run:
                    model._default_manager.filter(pk=row.pk).update(**{field_name: renamed[old]})
                report.rows += 1
    if not dry_run:
        for old in renamed:
            default_storage.delete(old)
    return report


def is_safe_name(name: str) -> bool:
    return (
        0 < len(name) <= MAX_NAME_LENGTH
        and _NAME.fullmatch(name) is not None
        and posixpath.normpath(name) == name
    )


def file_readable(*, name: str, reader: Reader) -> bool:
    """True when some registered row that references ``name`` is visible to ``reader``."""
    if not is_safe_name(name):
        return False
    return any(entry.references(name).filter(entry.readable_q(reader)).exists() for entry in REGISTRY)


def _local_path(name: str) -> Path | None:
    """The file's path when the private storage is on this machine's disk; None for S3 and co."""
    try:
        path = Path(private_storage.path(name))
    except NotImplementedError:
        return None
    root = Path(settings.SENDFILE_ROOT).resolve()
    if not Path(getattr(private_storage, "location", path.parent)).resolve().is_relative_to(root):
        raise ImproperlyConfigured("SENDFILE_ROOT must contain the private storage's location.")
    return path


@require_safe
def private_file(request, name: str):
    """GET /private-media/<name>: the file for its owner and the brand's staff, else 404."""
    if not file_readable(name=name, reader=Reader.from_request(request)):
        raise Http404(NOT_FOUND)
    path = _local_path(name)
    if path is None:
        response = HttpResponseRedirect(private_storage.url(name))
    else:
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        inline = content_type in INLINE_TYPES
        response = sendfile(
            request,
            str(path),
            attachment=not inline,
            attachment_filename=posixpath.basename(name),
            mimetype=content_type if inline else "application/octet-stream",
        )
    # Only the reader's own browser keeps it, and asks again (the check runs again) before reuse.
    response["Cache-Control"] = "private, no-cache"
    response["X-Content-Type-Options"] = "nosniff"
    patch_vary_headers(response, ("Cookie",))
    return response
