"""The studio's live preview of a text or monogram on a variation (POST /personalize/images/<pk>/
preview/, hx-post from _text_fields.html): the mockup with the text and its print check; bad text
answers 422 with each message beside its field, never a 500; only one's own visible variations."""

import base64
import io
import re

import pytest
from django.urls import reverse
from PIL import Image, ImageChops

from brand_guides.models import Typography
from personalization.models import GenerationRequest
from tests.text_layer_helpers import brand_with_fonts, finished_design, mug

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]

DATA_URL = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


@pytest.fixture
def image():
    return finished_design(mug(brand_with_fonts()))


def preview(client, image, **fields):
    data = {f"text_{key}" if key != "text" else key: value for key, value in fields.items()}
    return client.post(
        reverse("personalization:image_preview", args=[image.pk]), data, HTTP_HX_REQUEST="true"
    )


def mockup_of(response) -> Image.Image:
    match = DATA_URL.search(response.content.decode())
    assert match, "no mockup in the preview"
    return Image.open(io.BytesIO(base64.b64decode(match.group(1)))).convert("RGB")


def field_error(response, image, key: str) -> str:
    html = response.content.decode()
    match = re.search(
        rf'<p class="text-layer__error" id="text-{image.pk}-{key}-error" hx-swap-oob="true"[^>]*>(.*?)</p>',
        html,
    )
    assert match, f"no out-of-band slot for {key}"
    return match.group(1)


def test_preview_shows_the_mockup_with_the_text_and_its_print_check(me, image):
    plain = preview(me, image)
    texted = preview(me, image, text="Ada & Max", color="Coral", size="large", position="middle")
    assert plain.status_code == texted.status_code == 200
    html = texted.content.decode()
    assert 'data-preflight="' in html and "dpi at print size" in html
    assert "With your text" in html and "Ada &amp; Max" in html
    # The text is drawn: the mockups differ, and in the palette's coral somewhere.
    with_text, without = mockup_of(texted), mockup_of(plain)
    assert with_text.size == without.size
    assert ImageChops.difference(with_text, without).getbbox() is not None
    # Every field's message slot is cleared on success.
    for key in ("text", "kind", "font", "color", "size", "position", "curve"):
        assert field_error(texted, image, key) == ""


def test_a_monogram_is_upper_cased(me, image):
    response = preview(me, image, text="abc", kind="monogram", font="body")
    assert response.status_code == 200
    assert "With your monogram" in response.content.decode() and "“ABC”" in response.content.decode()


@pytest.mark.parametrize(
    ("fields", "key", "words"),
    [
        ({"text": "A much longer message than any mug takes"}, "text", "characters long"),
        ({"text": "Ada\u200bLovelace"}, "text", "control characters"),
        ({"text": "Bell\x07"}, "text", "control characters"),
        ({"text": "I love zebra stripes"}, "text", "zebra"),
        ({"text": "Ada", "font": "script"}, "font", "brand&#x27;s fonts"),
        ({"text": "Ada", "color": "Lime"}, "color", "Navy, Coral, Cream"),
        ({"text": "ABCD", "kind": "monogram"}, "text", "2 or 3 letters"),
        ({"text": "Ada", "size": "huge"}, "size", "small, medium, large"),
        ({"text": "Ada", "curve": "wave"}, "curve", "straight, arc"),
    ],
)
def test_bad_text_answers_422_with_the_message_beside_its_field(me, image, fields, key, words):
    response = preview(me, image, **fields)
    assert response.status_code == 422
    assert words in field_error(response, image, key)
    assert "can't be printed yet" in response.content.decode()
    assert not DATA_URL.search(response.content.decode())


def test_a_brand_without_font_files_offers_no_text(me, image):
    Typography.objects.filter(brand=image.request.brand).delete()
    response = preview(me, image, text="Ada")
    assert response.status_code == 422
    assert "offers no fonts" in field_error(response, image, "text")


def test_another_visitors_image_is_404(stranger, image):
    assert preview(stranger, image, text="Ada").status_code == 404


def test_a_design_held_for_review_is_404(me, image):
    GenerationRequest.objects.filter(pk=image.request_id).update(
        review_state=GenerationRequest.ReviewState.PENDING
    )
    assert preview(me, image, text="Ada").status_code == 404


def test_preview_is_post_only(me, image):
    assert me.get(reverse("personalization:image_preview", args=[image.pk])).status_code == 405


def test_the_job_card_offers_the_text_fields_inside_the_add_to_cart_form(me, image):
    html = me.get(reverse("personalization:job", args=[image.request_id])).content.decode()
    form = html[html.index('<form method="post" action="/cart/add/"') : html.index("Add to cart")]
    assert "Add text or a monogram" in form
    assert f'hx-post="/personalize/images/{image.pk}/preview/"' in form
    for name in ("text", "text_kind", "text_font", "text_color", "text_size", "text_position", "text_curve"):
        assert f'name="{name}"' in form
    assert ">Fredoka One</option>" in form and ">Lato</option>" in form
    assert 'value="#1f2a44" checked' in form  # the palette's primary colour is the default


def test_no_text_fields_for_a_brand_without_fonts(me, image):
    Typography.objects.filter(brand=image.request.brand).delete()
    html = me.get(reverse("personalization:job", args=[image.request_id])).content.decode()
    assert "Add to cart" in html and "Add text or a monogram" not in html
