"""The result cache never answers an edited brand guide with a design made under the old one: the
brand's revision (brand_guides.services.brand_revise) is part of the cache key."""

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from brand_guides.models import Brand
from personalization.models import GenerationImage, GenerationRequest
from personalization.services import generation_request_create
from tests.brand_revision_helpers import DESIGN_EDITS, OTHER_EDITS, revised_brand
from tests.factories import make_product, png

Status = GenerationRequest.Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def product():
    return make_product(brand=revised_brand())


def submit(product) -> GenerationRequest:
    return generation_request_create(
        product=product, base_color="White", description="a fox in a pine forest", seed=7, session_key="v1"
    )


def succeeded(req: GenerationRequest) -> GenerationRequest:
    """The request as the worker leaves it: succeeded, each variation stored and checked."""
    now = timezone.now()
    GenerationRequest.objects.filter(pk=req.pk).update(
        status=Status.SUCCEEDED, started_at=now, finished_at=now
    )
    for index in range(req.variations):
        image = GenerationImage(
            request=req, index=index, seed=req.seed + index, width=64, height=64, safety={"checked": True}
        )
        image.image.save("design.png", ContentFile(png()), save=False)
        image.mockup.save("mockup.png", ContentFile(png()), save=False)
        image.save()
    return req


def fresh_brand(product) -> Brand:
    return Brand.objects.get(pk=product.brand_id)


@pytest.mark.parametrize("edit", [edit for _, edit in DESIGN_EDITS.values()], ids=list(DESIGN_EDITS))
def test_a_design_edit_is_never_answered_with_a_design_made_before_it(product, edit):
    first = succeeded(submit(product))
    again = submit(product)
    assert again.status == Status.SUCCEEDED and again.cache_source_id == first.pk  # same guide: reused
    before = fresh_brand(product).revision
    edit(fresh_brand(product))
    assert fresh_brand(product).revision > before
    after = submit(product)
    assert after.status == Status.QUEUED and after.cache_source is None
    assert not after.images.exists() and after.cache_key != first.cache_key


@pytest.mark.parametrize("edit", list(OTHER_EDITS.values()), ids=list(OTHER_EDITS))
def test_an_edit_that_decides_no_picture_is_still_answered_from_the_cache(product, edit):
    first = succeeded(submit(product))
    revision = fresh_brand(product).revision
    edit(fresh_brand(product))
    assert fresh_brand(product).revision == revision
    after = submit(product)
    assert after.status == Status.SUCCEEDED and after.cache_source_id == first.pk
    assert after.cache_key == first.cache_key and after.images.count() == first.images.count()


def test_a_design_made_under_the_new_revision_is_reused_again(product):
    """The revision only separates guides: once the edited guide has its own design, that is reused."""
    succeeded(submit(product))
    DESIGN_EDITS["banned_terms"][1](fresh_brand(product))
    redrawn = succeeded(submit(product))
    assert redrawn.cache_source is None
    assert submit(product).cache_source_id == redrawn.pk


def test_the_key_names_the_revision(product):
    req = submit(product)
    made = req.recipe
    revision = fresh_brand(product).revision
    context = (str(product.pk), "#ffffff", "None", str(product.brand_id))
    assert req.cache_key == made.cache_key(*context, f"brand-rev:{revision}")
    assert req.cache_key != made.cache_key(*context, f"brand-rev:{revision + 1}")


# --- the preflight's cache ------------------------------------------------------------------------


def test_a_font_replaced_is_preflighted_afresh(monkeypatch):
    """The preflight of a text is cached per brand revision: a font row edited (which leaves the
    brand's own row and its updated_at alone) composes the artwork again."""
    from personalization import preflight
    from personalization.artwork import TextLayer
    from tests.text_layer_helpers import LATO, brand_with_fonts, finished_design, mug

    image = finished_design(mug(brand_with_fonts()))
    composed = []
    real = preflight.preflight
    monkeypatch.setattr(preflight, "preflight", lambda **kw: composed.append(1) or real(**kw))
    text = TextLayer(text="Ada", font="heading", color_hex="#1F2A44")
    first = preflight.image_preflight(image, text=text)
    assert preflight.image_preflight(image, text=text) == first and len(composed) == 1  # cached
    heading = image.request.brand.typography.get(role="heading")
    heading.font_file.save(LATO.name, ContentFile(LATO.read_bytes()), save=False)
    heading.font_family = "Lato"
    heading.save()
    image = GenerationImage.objects.get(pk=image.pk)
    preflight.image_preflight(image, text=text)
    assert len(composed) == 2
