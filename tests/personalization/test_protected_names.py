"""Protected names (a brand's real people, living artists and characters) at submit, through the
service, the studio and the API; and invisible characters removed from what is stored and what the
model receives."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from brand_guides.models import ProtectedName
from personalization.models import GenerationImage, GenerationRequest
from personalization.review import generation_hold_for_review, generation_review_approve
from personalization.services import generation_request_create
from tests.factories import make_brand, make_product, make_user, png
from tests.personalization.api.conftest import token_client

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]
Status = GenerationRequest.Status
HX = {"HTTP_HX_REQUEST": "true"}
API_URL = "/api/v1/generations/"


@pytest.fixture
def brand():
    brand = make_brand(name="Harbour", slug="harbour")
    ProtectedName.objects.create(brand=brand, name="Taylor Swift", kind="person", outcome="reject")
    ProtectedName.objects.create(brand=brand, name="Banksy", kind="artist", outcome="reject")
    ProtectedName.objects.create(brand=brand, name="Totoro", kind="character", outcome="review")
    return brand


@pytest.fixture
def product(brand):
    return make_product(brand=brand, name="Harbour tee", slug="harbour-tee")


def submit(product, description, **extra):
    return generation_request_create(
        product=product, base_color="White", description=description, session_key="visitor-me", **extra
    )


# --- the service -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "description", ["Taylor Swift on a stage", "t.a.y.l.o.r s.w.i.f.t", "a T a y l o r  S w i f t poster"]
)
def test_a_reject_name_rejects_the_request_and_says_what_to_do(
    product, description, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        generation = submit(product, description)
    assert generation.status == Status.REJECTED
    assert generation.error_code == "protected_name"
    assert generation.error_message == (
        "Your description names “Taylor Swift”, a real person whose name or likeness we can't print "
        "without their permission. Leave the name out and describe the design in your own words."
    )
    assert generation.review_state == ""
    assert generation.finished_at is not None
    assert callbacks == []


def test_an_artist_name_names_the_artist(product):
    generation = submit(product, "a harbour in the style of banksy")
    assert generation.error_code == "protected_name"
    assert "“Banksy”, a living artist" in generation.error_message


def test_a_review_name_queues_the_request_held(product, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        generation = submit(product, "Totoro under an umbrella")
    assert generation.status == Status.QUEUED
    assert generation.review_state == GenerationRequest.ReviewState.PENDING
    assert "“Totoro” (a protected character)" in generation.review_reason
    stored = GenerationRequest.objects.get(pk=generation.pk)
    assert (stored.review_state, stored.review_reason) == (generation.review_state, generation.review_reason)
    assert len(callbacks) == 1  # generated normally, shown only after review


def test_reject_wins_over_review(product):
    generation = submit(product, "Totoro with Taylor Swift")
    assert generation.status == Status.REJECTED and generation.error_code == "protected_name"
    assert "Totoro" not in generation.error_message  # the customer reads what to fix, not staff notes
    assert generation.review_state == ""


def test_a_banned_term_and_a_protected_name_both_reported(product):
    generation = submit(product, "nude Taylor Swift")
    assert generation.error_code == "banned_term"
    assert "“nude”" in generation.error_message and "“Taylor Swift”" in generation.error_message


def test_another_brands_names_do_not_apply(product):
    other = make_product(brand=make_brand(), slug="other-tee")
    generation = submit(other, "Taylor Swift on a stage")
    assert generation.status == Status.QUEUED and generation.review_state == ""
    assert submit(product, "a swift tailor").status == Status.QUEUED


def test_a_held_design_is_never_answered_from_a_held_identical_design(product):
    """The cache must not hand out the images of an identical design that is still held."""
    first = submit(product, "a lighthouse at dawn", seed=7)
    GenerationRequest.objects.filter(pk=first.pk).update(
        status=Status.SUCCEEDED, started_at=timezone.now(), finished_at=timezone.now()
    )
    image = GenerationImage(request=first, index=0, seed=7, width=64, height=64, safety={"checked": True})
    image.image.save("design.png", ContentFile(png()), save=False)
    image.save()
    generation_hold_for_review(request_id=first.pk, reason="text read in the picture")
    second = submit(product, "a lighthouse at dawn", seed=7)
    assert second.status == Status.QUEUED and second.cache_source is None
    assert not second.images.exists()
    generation_review_approve(generation=GenerationRequest.objects.get(pk=first.pk))
    third = submit(product, "a lighthouse at dawn", seed=7)
    assert third.status == Status.SUCCEEDED and third.cache_source_id == first.pk


# --- the studio and the API -------------------------------------------------------------------------


def studio_data(product, description):
    return {
        "product": product.slug,
        "base_color": "White",
        "description": description,
        "steps": "20",
        "guidance_scale": "7.5",
        "variations": "1",
    }


def test_studio_shows_the_rejection(me, product):
    response = me.post(reverse("personalization:studio"), studio_data(product, "Taylor Swift"), **HX)
    assert response.status_code == 200
    html = response.content.decode().replace("&#x27;", "'")
    assert "We can't make this design" in html and "Leave the name out" in html
    assert GenerationRequest.objects.get().error_code == "protected_name"


def test_studio_shows_the_hold(me, product):
    response = me.post(reverse("personalization:studio"), studio_data(product, "Totoro dancing"), **HX)
    assert response.status_code == 201
    html = response.content.decode()
    assert "A person at the shop checks this design before you can see it." in html
    assert "Totoro” (a protected character)" not in html  # staff's reason stays with staff


def api_body(product, description):
    return {"product": product.slug, "base_color": "White", "description": description, "steps": 20}


def test_api_rejects_with_422(product):
    response = token_client(make_user()).post(API_URL, api_body(product, "Taylor Swift"), format="json")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "protected_name" and "“Taylor Swift”" in body["message"]
    assert body["id"] == str(GenerationRequest.objects.get().pk)


def test_api_accepts_a_held_request_with_its_review_state(product):
    response = token_client(make_user()).post(API_URL, api_body(product, "Totoro dancing"), format="json")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert body["review_state"] == "pending_review"
    assert body["review_reason"] is None and body["images"] == [] and body["preview_url"] is None


# --- invisible characters never reach the row or the model ------------------------------------------

HIDDEN = "\ufeffa fo\u200bx\u200c in\u200d the\u2060 sn\u00adow\u200e"


def assert_clean(generation):
    assert generation.description == "a fox in the snow"
    for text in (generation.description, generation.optimized_prompt, generation.negative_prompt):
        assert not set(text) & set("\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e")
    assert "a fox in the snow" in generation.optimized_prompt


def test_service_stores_and_prompts_without_invisible_characters(product):
    assert_clean(submit(product, HIDDEN))


def test_api_stores_and_prompts_without_invisible_characters(product):
    response = token_client(make_user()).post(API_URL, api_body(product, HIDDEN), format="json")
    assert response.status_code == 202
    assert response.json()["description"] == "a fox in the snow"
    assert_clean(GenerationRequest.objects.get())


def test_studio_stores_without_invisible_characters(me, product):
    response = me.post(reverse("personalization:studio"), studio_data(product, HIDDEN), **HX)
    assert response.status_code == 201
    assert_clean(GenerationRequest.objects.get())


def test_a_name_hidden_with_zero_width_characters_is_found(product):
    assert submit(product, "Tay\u200blor\u2060 Sw\ufeffift").error_code == "protected_name"


def test_a_protected_name_shorter_than_three_letters_is_refused(product):
    from django.core.exceptions import ValidationError

    from brand_guides.models import ProtectedName

    with pytest.raises(ValidationError) as caught:
        ProtectedName(brand=product.brand, name="Al", kind="person").full_clean()
    assert "3 letters" in str(caught.value.message_dict["name"])
