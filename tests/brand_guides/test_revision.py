"""Brand.revision goes up whenever something that decides a design changes, and only then; it is
written by brand_guides.services.brand_revise alone (one UPDATE revision = revision + 1)."""

import re

import pytest
from django.urls import reverse

from brand_guides.models import Brand, PaletteColor, ProtectedName
from brand_guides.services import DESIGN_FIELDS, brand_revise
from tests.brand_revision_helpers import DESIGN_EDITS, OTHER_EDITS, revised_brand
from tests.factories import make_brand, make_user
from tests.test_admin_scoping import form_data

pytestmark = pytest.mark.django_db

# Every concrete Brand field is a design field or named here: a new field must be decided on.
NOT_DESIGN_FIELDS = {
    "id",
    "name",
    "slug",
    "description",
    "approval_policy",
    "text_in_design_outcome",
    "low_resolution",
    "revision",
    "created_at",
    "updated_at",
}


def revision_of(brand) -> int:
    return Brand.objects.values_list("revision", flat=True).get(pk=brand.pk)


def test_every_brand_field_is_decided_and_each_design_field_has_an_edit():
    fields = {f.name for f in Brand._meta.concrete_fields}
    assert set(DESIGN_FIELDS) | NOT_DESIGN_FIELDS == fields
    assert not set(DESIGN_FIELDS) & NOT_DESIGN_FIELDS
    assert {field for field, _ in DESIGN_EDITS.values() if field} == set(DESIGN_FIELDS)


def test_a_new_brand_starts_at_revision_1():
    assert make_brand(palette=()).revision == 1
    assert revision_of(make_brand(palette=())) == 1


@pytest.mark.parametrize(
    "field, edit",
    [pair for pair in DESIGN_EDITS.values() if pair[0]],
    ids=[k for k, v in DESIGN_EDITS.items() if v[0]],
)
def test_a_design_field_changed_on_save_revises_the_brand_once(field, edit):
    brand = Brand.objects.get(pk=revised_brand().pk)
    before = brand.revision
    edit(brand)
    assert revision_of(brand) == before + 1
    assert brand.revision == before + 1  # the saved object reads it too


@pytest.mark.parametrize(
    "edit",
    [pair[1] for pair in DESIGN_EDITS.values() if not pair[0]],
    ids=[k for k, v in DESIGN_EDITS.items() if not v[0]],
)
def test_a_palette_font_or_protected_name_change_revises_the_brand(edit):
    brand = Brand.objects.get(pk=revised_brand().pk)
    before = brand.revision
    edit(brand)
    assert revision_of(brand) == before + 1


@pytest.mark.parametrize("edit", list(OTHER_EDITS.values()), ids=list(OTHER_EDITS))
def test_other_fields_leave_the_revision_alone(edit):
    brand = Brand.objects.get(pk=revised_brand().pk)
    before = brand.revision
    edit(brand)
    assert revision_of(brand) == before


def test_the_owners_leave_the_revision_alone():
    brand = make_brand(palette=())
    brand.owners.add(make_user())
    assert revision_of(brand) == 1


def test_a_value_of_another_type_that_means_the_same_is_no_change():
    brand = Brand.objects.get(pk=make_brand(palette=(), logo_max_share=0.25).pk)
    brand.logo_max_share = "0.25"  # as a form or the shell may hand it over
    brand.save()
    assert revision_of(brand) == 1


def test_a_save_of_other_fields_only_does_not_read_or_revise():
    brand = Brand.objects.get(pk=make_brand(palette=()).pk)
    brand.logo_anchor = "top-left"  # changed in memory, but not among the fields saved
    brand.name = "Renamed"
    brand.save(update_fields=["name"])
    assert revision_of(brand) == 1
    brand.save(update_fields=["logo_anchor"])
    assert revision_of(brand) == 2


def test_a_stale_brand_object_never_writes_its_older_revision_back():
    brand = make_brand(palette=())
    stale = Brand.objects.get(pk=brand.pk)
    PaletteColor.objects.create(brand=brand, name="Mint", hex="#98FF98", position=5)  # revision 2
    stale.name = "Renamed"
    stale.save()  # the object still says 1
    assert revision_of(brand) == 2
    stale.banned_terms = "zebra"
    stale.save()
    assert revision_of(brand) == 3 and stale.revision == 3


def test_concurrent_revisions_each_count():
    """Two edits from objects loaded at the same revision: two bumps, none lost."""
    brand = make_brand(palette=())
    one, two = Brand.objects.get(pk=brand.pk), Brand.objects.get(pk=brand.pk)
    assert brand_revise(brand_id=one.pk) == 2
    assert brand_revise(brand_id=two.pk) == 3
    assert revision_of(brand) == 3


def test_a_queryset_delete_of_the_palette_revises_once_per_row():
    brand = make_brand()  # two colours
    PaletteColor.objects.filter(brand=brand).delete()
    assert revision_of(brand) == 1 + 2 + 2  # two creates, two deletes


def test_brand_revise_of_a_missing_brand_is_0():
    assert brand_revise(brand_id=987654) == 0


def test_deleting_a_brand_with_its_rows_works():
    brand = revised_brand()
    brand.delete()
    assert not Brand.objects.filter(pk=brand.pk).exists()
    assert not ProtectedName.objects.filter(brand_id=brand.pk).exists()


# --- the admin -------------------------------------------------------------------------------------


@pytest.fixture
def root(client):
    client.force_login(make_user(is_staff=True, is_superuser=True))
    return client


def change_url(brand) -> str:
    return reverse("admin:brand_guides_brand_change", args=[brand.pk])


def test_the_admin_shows_the_revision_read_only(root):
    brand = revised_brand()
    page = root.get(change_url(brand))
    assert page.status_code == 200
    assert "revision" not in page.context["adminform"].form.fields
    shown = re.search(r'field-revision.*?<div class="readonly">(\d+)</div>', page.content.decode(), re.S)
    assert shown is not None and int(shown.group(1)) == revision_of(brand) > 1


def test_the_admin_saving_palette_rows_revises_the_brand(root):
    """Each changed inline row is its own save, so one form with two changed colours bumps twice: the
    number only has to change (every key made under an earlier one stops matching), not count saves."""
    brand = revised_brand()
    before = revision_of(brand)
    data = form_data(root.get(change_url(brand)))
    data["palette-0-hex"] = "#000000"
    data["palette-1-hex"] = "#FFFFFF"
    assert root.post(change_url(brand), data).status_code == 302
    assert list(brand.palette.values_list("hex", flat=True)) == ["#000000", "#FFFFFF"]
    assert before < revision_of(brand) <= before + 2


def test_the_admin_saving_without_a_change_or_with_a_new_name_keeps_the_revision(root):
    brand = revised_brand()
    before = revision_of(brand)
    assert root.post(change_url(brand), form_data(root.get(change_url(brand)))).status_code == 302
    assert revision_of(brand) == before
    data = form_data(root.get(change_url(brand)))
    data.update(name="Renamed", description="New words", approval_policy="manual")
    assert root.post(change_url(brand), data).status_code == 302
    assert revision_of(brand) == before and Brand.objects.get(pk=brand.pk).name == "Renamed"


def test_the_admin_changing_a_design_field_revises_once(root):
    brand = revised_brand()
    before = revision_of(brand)
    data = form_data(root.get(change_url(brand)))
    data["logo_anchor"] = "top-left"
    assert root.post(change_url(brand), data).status_code == 302
    assert revision_of(brand) == before + 1


def test_the_admin_removing_a_protected_name_revises(root):
    brand = revised_brand()
    before = revision_of(brand)
    data = form_data(root.get(change_url(brand)))
    data["protected_names-0-DELETE"] = "on"
    assert root.post(change_url(brand), data).status_code == 302
    assert not brand.protected_names.exists() and revision_of(brand) == before + 1
