"""The storefront studio: pages, htmx fragments, bad input in every field, ownership, CSRF."""

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from personalization.models import GenerationImage, GenerationRequest
from personalization.services import generation_request_create
from tests.factories import make_material, make_product, make_style, make_user, png, visitor

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]
Status = GenerationRequest.Status
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def material():
    return make_material()


@pytest.fixture
def product(material):
    return make_product(name="Classic tee", slug="classic-tee", materials=[material])


@pytest.fixture
def style():
    return make_style(slug="watercolor")


def generation(product, *, key="visitor-me", user=None, status=Status.QUEUED, images=0, **extra):
    g = generation_request_create(
        product=product, base_color="White", description="a fox in the snow", session_key=key, customer=user
    )
    fields = {"status": status, **extra}
    if status == Status.SUCCEEDED:
        fields.update(started_at=timezone.now(), finished_at=timezone.now(), progress_step=g.steps)
    GenerationRequest.objects.filter(pk=g.pk).update(**fields)
    g.refresh_from_db()
    for index in range(images):
        image = GenerationImage(
            request=g,
            index=index,
            seed=g.seed + index,
            width=64,
            height=64,
            brand_consistency=81.6,
            generation_seconds=2.4,
            flagged=index == 1,
        )
        image.image.save("design.png", ContentFile(png()), save=False)
        image.mockup.save("mockup.png", ContentFile(png(color=(20, 20, 200))), save=False)
        image.save()
    return g


def valid_data(product, /, **overrides):
    data = {
        "product": product.slug,
        "base_color": "Black",
        "description": "a lighthouse on a cliff at dawn",
        "style": "",
        "material": "",
        "strength": "0.6",
        "steps": "20",
        "guidance_scale": "7.5",
        "seed": "42",
        "variations": "2",
    }
    data.update(overrides)
    return data


# --- the studio page -------------------------------------------------------------------------


def test_studio_renders_every_field_and_the_buttons(me, product, style):
    response = me.get(reverse("personalization:studio"))
    assert response.status_code == 200
    html = response.content.decode()
    for name in (
        "product", "base_color", "description", "style", "material", "reference_image",
        "strength", "steps", "guidance_scale", "seed", "variations",
    ):  # fmt: skip
        assert f'name="{name}"' in html, name
    assert 'hx-post="/personalize/"' in html
    assert 'hx-encoding="multipart/form-data"' in html
    assert "data-random-seed" in html and ">Generate<" in html and ">Clear<" in html
    assert '<meta name="personalization-csrf-token" content="' in html
    assert "/static/personalization/htmx.min.js" in html and "/static/personalization/studio.js" in html


def test_studio_preselects_the_product_from_the_product_page(me, product):
    response = me.get(reverse("personalization:studio"), {"product": product.slug})
    html = response.content.decode()
    assert f'<option value="{product.slug}" selected>' in html
    assert 'name="base_color" value="White" checked' in html
    assert 'value="Black"' in html


def test_studio_ignores_an_unknown_product(me, product):
    response = me.get(reverse("personalization:studio"), {"product": "nope"})
    assert response.status_code == 200
    assert " selected>" not in response.content.decode().split('name="product"')[1].split("</select>")[0]


def test_product_fields_fragment_follows_the_product(me, product, material):
    other = make_product(colors=(("Heather", "#A0A0A0"),), slug="mug-1")
    html = me.get(reverse("personalization:product_fields"), {"product": other.slug}, **HX).content.decode()
    assert 'id="product-fields"' in html and 'value="Heather"' in html and 'value="White"' not in html
    assert "<html" not in html
    html = me.get(reverse("personalization:product_fields"), {"product": product.slug}, **HX).content.decode()
    assert f'value="{material.slug}"' in html


def test_demo_banner_follows_the_setting(me, settings, product):
    text = "Demo model: random weights — pictures are noise."
    # Without DEMO_PRESETS, the older DEMO_MODEL puts every preset on demo weights, or none.
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "DEMO_PRESETS": None,
        "DEMO_MODEL": True,
        "TRAINED_DEMO_PRESETS": (),
    }
    assert text in me.get(reverse("shop:catalogue")).content.decode()
    assert text in me.get(reverse("personalization:gallery")).content.decode()
    # The default preset on the trained pattern model: the banner says what it draws instead.
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "TRAINED_DEMO_PRESETS": ["sd21"]}
    for name in ("shop:catalogue", "personalization:gallery"):
        html = me.get(reverse(name)).content.decode()
        assert "Demo model: a small model trained on simple patterns." in html and text not in html
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "DEMO_PRESETS": None, "DEMO_MODEL": False}
    assert text not in me.get(reverse("personalization:studio")).content.decode()


def test_edit_prompt_prefills_the_form_with_ones_own_request(me, stranger, product):
    g = generation(product, status=Status.SUCCEEDED)
    html = me.get(reverse("personalization:studio"), {"edit": str(g.pk)}).content.decode()
    assert "a fox in the snow</textarea>" in html
    assert f'value="{g.seed}"' in html
    assert stranger.get(reverse("personalization:studio"), {"edit": str(g.pk)}).status_code == 404
    assert me.get(reverse("personalization:studio"), {"edit": "not-a-uuid"}).status_code == 404


# --- generate ---------------------------------------------------------------------------------


def test_generate_with_htmx_swaps_in_a_polling_job_card(
    me, product, style, material, django_capture_on_commit_callbacks
):
    data = valid_data(product, style=style.slug, material=material.slug)
    with django_capture_on_commit_callbacks() as callbacks:
        response = me.post(reverse("personalization:studio"), data, **HX)
    assert response.status_code == 201
    g = GenerationRequest.objects.get()
    assert (g.session_key, g.base_color_name, g.seed, g.variations, g.steps) == (
        "visitor-me",
        "Black",
        42,
        2,
        20,
    )
    assert g.style == style and g.material == material
    assert len(callbacks) == 1
    html = response.content.decode()
    assert "<html" not in html
    assert f'hx-get="/personalize/jobs/{g.pk}/"' in html
    assert 'hx-trigger="every 1s"' in html and 'hx-swap="outerHTML"' in html
    assert "Number 1 in the queue" in html and "Estimated wait" in html


def test_generate_without_htmx_redirects_to_the_job_page(me, product):
    response = me.post(reverse("personalization:studio"), valid_data(product))
    g = GenerationRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/personalize/jobs/{g.pk}/"


def test_generate_with_a_reference_image(me, product, django_capture_on_commit_callbacks):
    upload = ContentFile(png((80, 60)), name="me.png")
    with django_capture_on_commit_callbacks() as callbacks:
        response = me.post(
            reverse("personalization:studio"), {**valid_data(product), "reference_image": upload}, **HX
        )
    assert response.status_code == 201
    g = GenerationRequest.objects.get()
    assert g.reference_image and g.reference_sha256 and g.strength == 0.6
    assert len(callbacks) == 1


def text_file():
    return ContentFile(b"not an image at all", name="notes.png")


BAD_INPUT = [
    ("product", ""),
    ("product", "no-such-product"),
    ("base_color", "Purple"),
    ("base_color", ""),
    ("description", ""),
    ("description", "   "),
    ("description", "x" * 501),
    ("style", "no-such-style"),
    ("material", "no-such-material"),
    ("reference_image", text_file),
    ("strength", "0"),
    ("strength", "1.5"),
    ("strength", "abc"),
    ("steps", "0"),
    ("steps", "1000"),
    ("steps", "2.5"),
    ("steps", "abc"),
    ("guidance_scale", "99"),
    ("guidance_scale", "-1"),
    ("guidance_scale", "nan"),
    ("guidance_scale", "inf"),
    ("seed", "-1"),
    ("seed", str(2**40)),
    ("seed", "abc"),
    ("variations", "0"),
    ("variations", "9"),
    ("variations", "two"),
]


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
@pytest.mark.parametrize(("field", "value"), BAD_INPUT, ids=[f"{f}={str(v)[:12]}" for f, v in BAD_INPUT])
def test_bad_input_shows_a_form_error_under_its_field_and_queues_nothing(
    me, product, field, value, htmx, django_capture_on_commit_callbacks
):
    data = valid_data(product, **{field: value() if callable(value) else value})
    with django_capture_on_commit_callbacks() as callbacks:
        response = me.post(reverse("personalization:studio"), data, **(HX if htmx else {}))
    assert response.status_code == 422
    form = response.context["form"]
    assert field in form.errors, form.errors
    html = response.content.decode()
    assert 'class="field-error"' in html
    assert not GenerationRequest.objects.exists()
    assert callbacks == []
    if htmx:
        assert response["HX-Retarget"] == "#studio-form" and response["HX-Reswap"] == "outerHTML"
        assert html.lstrip().startswith('<form id="studio-form"')
    else:
        assert "<html" in html


def test_material_not_made_for_the_product_is_a_field_error(me, product):
    other_material = make_material()
    response = me.post(
        reverse("personalization:studio"), valid_data(product, material=other_material.slug), **HX
    )
    assert response.status_code == 422
    assert "material" in response.context["form"].errors
    assert not GenerationRequest.objects.exists()


def test_policy_violation_shows_the_reason_and_what_to_do(me, product, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = me.post(
            reverse("personalization:studio"), valid_data(product, description="Nike shoes"), **HX
        )
    assert response.status_code == 200
    g = GenerationRequest.objects.get()
    assert g.status == Status.REJECTED and callbacks == []
    html = response.content.decode()
    assert "Nike" in html and "What next" in html and "Edit prompt" in html
    assert "hx-trigger" not in html


def test_quota_exceeded_is_a_form_error_saying_when_to_retry(me, settings, product):
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "DAILY_QUOTA": 1}
    assert me.post(reverse("personalization:studio"), valid_data(product), **HX).status_code == 201
    response = me.post(reverse("personalization:studio"), valid_data(product), **HX)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Daily limit of 1 designs reached. Try again in" in response.content.decode()
    assert GenerationRequest.objects.count() == 1


# --- the job card and its polling protocol ----------------------------------------------------


def test_queued_fragment_polls(me, product):
    g = generation(product)
    response = me.get(reverse("personalization:job", args=[g.pk]), **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith("<article")
    assert 'hx-trigger="every 1s"' in html and f'hx-get="/personalize/jobs/{g.pk}/"' in html
    assert "Number 1 in the queue" in html and "Estimated wait: about" in html
    assert ">Cancel<" in html


def test_running_fragment_shows_progress_and_preview(me, product):
    g = generation(product, status=Status.RUNNING, progress_step=10)
    g.preview.save("p.png", ContentFile(png((32, 32))), save=True)
    response = me.get(reverse("personalization:job", args=[g.pk]), **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'hx-trigger="every 1s"' in html
    assert 'role="progressbar"' in html
    assert (
        'aria-valuenow="10"' in html and 'aria-valuemin="0"' in html and f'aria-valuemax="{g.steps}"' in html
    )
    assert f"Step 10 of {g.steps}" in html
    assert g.preview.name in html  # the storage key: a signed S3 URL differs per signing


def test_finished_fragment_stops_polling_with_286(me, product):
    g = generation(product, status=Status.SUCCEEDED, images=2)
    response = me.get(reverse("personalization:job", args=[g.pk]), **HX)
    assert response.status_code == 286
    html = response.content.decode()
    assert "hx-trigger" not in html
    assert f'aria-valuenow="{g.steps}"' in html
    images = list(g.images.all())
    for image in images:
        assert image.image.name in html and image.mockup.name in html and f"<code>{image.seed}</code>" in html
    assert "82/100" in html and "Flagged" in html and "2 s" in html
    assert "<details" in html and g.optimized_prompt in html and g.negative_prompt in html
    assert 'action="/cart/add/"' in html and f'name="design" value="{images[0].pk}"' in html
    assert ">Vary<" in html and f"?edit={g.pk}" in html and 'name="rating"' in html


@pytest.mark.parametrize("status", [Status.FAILED, Status.CANCELLED, Status.REJECTED])
def test_other_terminal_states_stop_polling_and_explain(me, product, status):
    g = generation(product, status=status, error_message="The GPU ran out of memory.")
    response = me.get(reverse("personalization:job", args=[g.pk]), **HX)
    assert response.status_code == 286
    html = response.content.decode()
    assert "hx-trigger" not in html and "The GPU ran out of memory." in html and "What next" in html


def test_job_full_page_without_htmx(me, product):
    g = generation(product, status=Status.SUCCEEDED, images=1)
    response = me.get(reverse("personalization:job", args=[g.pk]))
    assert response.status_code == 200
    assert "<html" in response.content.decode() and 'id="job-slot"' in response.content.decode()
    assert me.get(reverse("personalization:job", args=[generation(product).pk])).status_code == 200


def test_job_of_someone_else_is_404(stranger, product):
    g = generation(product)
    assert stranger.get(reverse("personalization:job", args=[g.pk])).status_code == 404
    assert stranger.get(reverse("personalization:job", args=[g.pk]), **HX).status_code == 404


# --- actions ----------------------------------------------------------------------------------


def test_cancel_a_queued_job(me, product):
    g = generation(product)
    response = me.post(reverse("personalization:job_cancel", args=[g.pk]), **HX)
    assert response.status_code == 200
    g.refresh_from_db()
    assert g.status == Status.CANCELLED
    assert "hx-trigger" not in response.content.decode()


def test_cancel_a_running_job_asks_the_worker(me, product):
    g = generation(product, status=Status.RUNNING)
    response = me.post(reverse("personalization:job_cancel", args=[g.pk]))
    assert response.status_code == 302
    g.refresh_from_db()
    assert g.cancel_requested and g.status == Status.RUNNING


def test_cancel_a_finished_job_is_a_conflict(me, product):
    g = generation(product, status=Status.SUCCEEDED, images=1)
    response = me.post(reverse("personalization:job_cancel", args=[g.pk]), **HX)
    assert response.status_code == 409
    assert "can no longer be cancelled" in response.content.decode()


def test_cancel_and_rate_and_vary_someone_elses_job_is_404(stranger, product):
    g = generation(product, status=Status.SUCCEEDED, images=1)
    q = generation(product)
    assert stranger.post(reverse("personalization:job_cancel", args=[q.pk])).status_code == 404
    assert stranger.post(reverse("personalization:job_rate", args=[g.pk]), {"rating": "5"}).status_code == 404
    assert stranger.post(reverse("personalization:job_vary", args=[g.pk])).status_code == 404
    q.refresh_from_db()
    g.refresh_from_db()
    assert q.status == Status.QUEUED and g.rating is None
    assert GenerationRequest.objects.count() == 2


def test_rate_ones_own_design(me, product):
    g = generation(product, status=Status.SUCCEEDED, images=1)
    response = me.post(reverse("personalization:job_rate", args=[g.pk]), {"rating": "4"}, **HX)
    assert response.status_code == 200
    assert "you rated it 4 out of 5" in response.content.decode()
    g.refresh_from_db()
    assert g.rating == 4
    assert me.post(reverse("personalization:job_rate", args=[g.pk]), {"rating": "5"}).status_code == 302


@pytest.mark.parametrize("rating", ["0", "6", "abc", ""])
def test_rate_with_a_bad_value(me, product, rating):
    g = generation(product, status=Status.SUCCEEDED, images=1)
    response = me.post(reverse("personalization:job_rate", args=[g.pk]), {"rating": rating}, **HX)
    assert response.status_code == 422
    g.refresh_from_db()
    assert g.rating is None


def test_rate_an_unfinished_design_is_a_conflict(me, product):
    g = generation(product)
    assert me.post(reverse("personalization:job_rate", args=[g.pk]), {"rating": "3"}, **HX).status_code == 409


def test_vary_keeps_the_words_with_a_new_seed(me, product, django_capture_on_commit_callbacks):
    g = generation(product, status=Status.SUCCEEDED, images=1)
    with django_capture_on_commit_callbacks() as callbacks:
        response = me.post(reverse("personalization:job_vary", args=[g.pk]), **HX)
    assert response.status_code == 201
    new = GenerationRequest.objects.exclude(pk=g.pk).get()
    assert new.description == g.description and new.product == g.product and new.steps == g.steps
    assert new.seed != g.seed and new.session_key == "visitor-me"
    assert len(callbacks) == 1
    assert f'hx-get="/personalize/jobs/{new.pk}/"' in response.content.decode()


def test_vary_over_quota_says_when_to_retry(me, settings, product):
    g = generation(product, status=Status.SUCCEEDED, images=1)
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "DAILY_QUOTA": 1}
    response = me.post(reverse("personalization:job_vary", args=[g.pk]), **HX)
    assert response.status_code == 429
    assert "Try again in" in response.content.decode()
    assert GenerationRequest.objects.count() == 1


# --- gallery ------------------------------------------------------------------------------------


def test_gallery_shows_only_ones_own_newest_first(me, stranger, product, django_assert_max_num_queries):
    older = generation(product, status=Status.SUCCEEDED, images=1, description="an older owl")
    newer = generation(product, description="a newer newt")
    theirs = generation(product, key="visitor-stranger", description="someone else's cat")
    with django_assert_max_num_queries(12):
        html = me.get(reverse("personalization:gallery")).content.decode()
    assert html.index(f"gallery-{newer.pk}") < html.index(f"gallery-{older.pk}")
    assert f"gallery-{theirs.pk}" not in html
    assert older.images.get().mockup.name in html
    assert f"gallery-{theirs.pk}" in stranger.get(reverse("personalization:gallery")).content.decode()


def test_gallery_includes_the_account_after_login(client, product):
    visitor(client, "visitor-before-login")
    user = make_user()
    anonymous = generation(product, key="visitor-before-login")
    from_other_device = generation(product, key="another-device", user=user)
    client.force_login(user)
    html = client.get(reverse("personalization:gallery")).content.decode()
    assert f"gallery-{anonymous.pk}" in html and f"gallery-{from_other_device.pk}" in html


def test_login_claims_the_visitors_generations(client, product):
    visitor(client, "visitor-x")
    g = generation(product, key="visitor-x")
    user = make_user("ann")
    response = client.post(reverse("shop:login"), {"username": "ann", "password": "pass-w0rd-long"})
    assert response.status_code == 302
    g.refresh_from_db()
    assert g.customer == user
    fresh = Client()
    fresh.force_login(user)
    assert f"gallery-{g.pk}" in fresh.get(reverse("personalization:gallery")).content.decode()


def test_empty_gallery(me):
    response = me.get(reverse("personalization:gallery"))
    assert response.status_code == 200 and "No designs yet" in response.content.decode()


# --- CSRF ---------------------------------------------------------------------------------------


def test_every_studio_post_enforces_csrf(product):
    client = visitor(Client(enforce_csrf_checks=True), "visitor-me")
    g = generation(product, status=Status.SUCCEEDED, images=1)
    q = generation(product)
    posts = [
        (reverse("personalization:studio"), valid_data(product)),
        (reverse("personalization:job_cancel", args=[q.pk]), {}),
        (reverse("personalization:job_vary", args=[g.pk]), {}),
        (reverse("personalization:job_rate", args=[g.pk]), {"rating": "5"}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
        assert client.post(url, data, **HX).status_code == 403, url
    assert GenerationRequest.objects.count() == 2
    q.refresh_from_db()
    assert q.status == Status.QUEUED


def test_get_only_fragments_refuse_posts(me, product):
    g = generation(product)
    assert me.post(reverse("personalization:job", args=[g.pk])).status_code == 405
    assert me.post(reverse("personalization:gallery")).status_code == 405
    assert me.post(reverse("personalization:product_fields")).status_code == 405
    assert me.get(reverse("personalization:job_cancel", args=[g.pk])).status_code == 405
