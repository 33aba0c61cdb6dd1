"""The shop's approval of a personalized line in the orders API: ``design.review`` is
{state, reason, reviewed_at} on the order, the order list and the order placed, typed in the schema."""

from datetime import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from brand_guides.models import Brand
from personalization.approval import line_design_approve, line_design_reject
from personalization.models import LineDesign

URL = "/api/v1/orders/"
SHIPPING = {
    "full_name": "Ada Lovelace",
    "email": "ada@example.com",
    "address_line1": "12 Harbour Street",
    "city": "Bristol",
    "postcode": "BS1 4RN",
    "country": "gb",
}
REASON = "The picture shows another company's logo."


def place(api, generation) -> dict:
    lines = [
        {"product": "harbour-tee", "base_color": "White", "generation": str(generation.pk)},
        {"product": "harbour-tee", "base_color": "Black"},
    ]
    response = api.post(URL, {"lines": lines, **SHIPPING}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def _unsigned(design: dict | None) -> dict | None:
    """The design without its URLs' query strings: on S3 each answer signs them afresh (X-Amz-Date,
    to the second), so two requests a second apart differ there and nowhere else."""
    if design is None:
        return None
    return {
        key: value.split("?")[0] if key.endswith("_url") and value else value for key, value in design.items()
    }


def reviews(api, number) -> list:
    """The line reviews of the order, from its detail and from the list (the same)."""
    detail = api.get(f"{URL}{number}/").json()
    [listed] = [o for o in api.get(URL).json()["results"] if o["number"] == number]
    assert [_unsigned(line["design"]) for line in listed["lines"]] == [
        _unsigned(line["design"]) for line in detail["lines"]
    ]
    return [line["design"]["review"] if line["design"] else None for line in detail["lines"]]


def when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture
def manual(catalogue):
    Brand.objects.filter(pk=catalogue["brand"].pk).update(approval_policy=Brand.ApprovalPolicy.MANUAL)


def test_a_manual_brands_line_waits_then_is_approved(api, user, catalogue, generation_factory, manual):
    data = place(api, generation_factory(user))

    waiting = {"state": "pending_review", "reason": "", "reviewed_at": None}
    assert data["lines"][0]["design"]["review"] == waiting
    assert reviews(api, data["number"]) == [waiting, None]  # a plain line has no design

    design = line_design_approve(design=LineDesign.objects.get(), user=None)

    [review, _] = reviews(api, data["number"])
    assert review["state"] == "approved" and review["reason"] == ""
    assert when(review["reviewed_at"]) == design.reviewed_at


def test_a_rejected_line_shows_the_reason(api, user, catalogue, generation_factory, manual):
    data = place(api, generation_factory(user))

    design = line_design_reject(design=LineDesign.objects.get(), reason=f"  {REASON} ", user=None)

    [review, _] = reviews(api, data["number"])
    assert review == {"state": "rejected", "reason": REASON, "reviewed_at": review["reviewed_at"]}
    assert when(review["reviewed_at"]) == design.reviewed_at


def test_an_automatic_brands_line_is_approved_at_checkout(api, user, catalogue, generation_factory):
    assert catalogue["brand"].approval_policy == Brand.ApprovalPolicy.AUTOMATIC
    data = place(api, generation_factory(user))

    review = data["lines"][0]["design"]["review"]
    assert review["state"] == "approved" and review["reason"] == ""
    assert when(review["reviewed_at"]) == LineDesign.objects.get().reviewed_at
    assert reviews(api, data["number"]) == [review, None]


def test_the_order_list_reads_reviews_in_a_fixed_number_of_queries(
    api, user, catalogue, generation_factory, manual
):
    def listing_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api.get(URL).status_code == 200
        return len(queries)

    place(api, generation_factory(user))
    one = listing_queries()
    for _ in range(2):
        place(api, generation_factory(user))
    assert listing_queries() == one
    listing = api.get(URL).json()["results"]
    assert [o["lines"][0]["design"]["review"]["state"] for o in listing] == ["pending_review"] * 3


def test_the_schema_types_the_review(anon, db):
    schema = anon.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]
    review = components["LineDesign"]["properties"]["review"]
    name = review["allOf"][0]["$ref"].rsplit("/", 1)[1]
    properties = components[name]["properties"]
    assert set(properties) == {"state", "reason", "reviewed_at"}
    assert set(components[name]["required"]) == {"state", "reason", "reviewed_at"}
    state = properties["state"]["allOf"][0]["$ref"].rsplit("/", 1)[1]
    assert components[state]["enum"] == ["pending_review", "approved", "rejected"]
    assert properties["reason"]["type"] == "string"
    assert properties["reviewed_at"] == {**properties["reviewed_at"], "type": "string", "format": "date-time"}
    assert properties["reviewed_at"]["nullable"] is True
