from urllib.parse import urljoin

import pytest

from personalization.models import LineDesign
from shop.models import Cart, Order

URL = "/api/v1/orders/"
SHIPPING = {
    "full_name": "Ada Lovelace",
    "email": "ada@example.com",
    "address_line1": "12 Harbour Street",
    "city": "Bristol",
    "postcode": "BS1 4RN",
    "country": "gb",
}


def order_body(*lines, **overrides):
    return {"lines": list(lines), **SHIPPING, **overrides}


def test_place_an_order_with_a_personalized_and_a_plain_line(api, user, catalogue, generation_factory):
    generation = generation_factory(user, variations=2)
    response = api.post(
        URL,
        order_body(
            {
                "product": "harbour-tee",
                "base_color": "White",
                "quantity": 2,
                "generation": str(generation.pk),
                "image_index": 1,
            },
            {"product": "harbour-tee", "base_color": "Black", "quantity": 1},
        ),
        format="json",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    order = Order.objects.get()
    assert data["number"] == order.number and data["status"] == "awaiting_payment"
    assert data["total"] == "72.00"
    assert data["country"] == "GB"
    assert response["Location"] == f"http://testserver{URL}{order.number}/"
    personalized, plain = data["lines"]
    assert plain["design"] is None
    assert (personalized["product"], personalized["base_color"], personalized["quantity"]) == (
        "harbour-tee",
        "White",
        2,
    )
    design = personalized["design"]
    assert design["seed"] == 43  # variation 1
    assert design["optimized_prompt"] == generation.optimized_prompt
    assert design["negative_prompt"] == generation.negative_prompt
    assert (design["model"], design["scheduler"]) == ("tiny-sd21", "DPMSolverMultistepScheduler")
    assert (design["steps"], design["guidance_scale"]) == (20, 7.5)
    frozen = LineDesign.objects.get()
    # Absolute URLs of the frozen copies, whatever the storage (local media or S3).
    assert design["image_url"] == urljoin("http://testserver/", frozen.image.url)
    assert design["mockup_url"] == urljoin("http://testserver/", frozen.mockup.url)
    assert "orders/designs/" in design["image_url"]
    assert frozen.source_image.index == 1
    assert order.user == user
    assert not Cart.objects.exists()  # the transient cart is gone


def test_order_detail_by_number_or_id_and_list(api, user, catalogue):
    body = order_body({"product": "harbour-tee", "base_color": "White"})
    number = api.post(URL, body, format="json").json()["number"]
    order = Order.objects.get(number=number)
    assert api.get(f"{URL}{number}/").json()["number"] == number
    assert api.get(f"{URL}{order.pk}/").json()["number"] == number
    listing = api.get(URL).json()
    assert [o["number"] for o in listing["results"]] == [number]


def test_another_customers_order_answers_404(api, other_api, catalogue):
    number = other_api.post(URL, order_body({"product": "harbour-tee", "base_color": "White"}), format="json")
    number = number.json()["number"]
    order = Order.objects.get(number=number)
    assert api.get(f"{URL}{number}/").status_code == 404
    assert api.get(f"{URL}{order.pk}/").status_code == 404
    assert api.get(URL).json()["count"] == 0
    assert api.get(f"{URL}99999999999999999999999/").status_code == 404


@pytest.mark.parametrize("lookup", ["³", "1²", "١٢", "٣"])
def test_a_lookup_of_non_ascii_digits_is_an_unknown_order_not_a_server_error(api, catalogue, lookup):
    # Schemathesis found GET /api/v1/orders/%C2%B3/ answering 500: "³".isdigit(), int("³") raises.
    number = api.post(URL, order_body({"product": "harbour-tee", "base_color": "White"}), format="json")
    assert number.status_code == 201
    assert api.get(f"{URL}{lookup}/").status_code == 404


def test_another_customers_generation_is_a_bad_line(api, other_user, catalogue, generation_factory):
    generation = generation_factory(other_user)
    line = {"product": "harbour-tee", "base_color": "White", "generation": str(generation.pk)}
    response = api.post(
        URL, order_body({"product": "harbour-tee", "base_color": "Black"}, line), format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"lines": {"1": {"generation": ["No design with this id."]}}}
    assert not Order.objects.exists() and not Cart.objects.exists()


@pytest.mark.parametrize("status", ["queued", "running", "failed", "rejected", "cancelled"])
def test_an_unfinished_generation_is_a_bad_line(api, user, catalogue, generation_factory, status):
    generation = generation_factory(user, status=status)
    line = {"product": "harbour-tee", "base_color": "White", "generation": str(generation.pk)}
    response = api.post(URL, order_body(line), format="json")
    assert response.status_code == 400
    assert "generation" in response.json()["lines"]["0"]


def test_design_for_another_colour_or_missing_variation(api, user, catalogue, generation_factory):
    generation = generation_factory(user)
    lines = [
        {"product": "harbour-tee", "base_color": "Black", "generation": str(generation.pk)},
        {"product": "harbour-tee", "base_color": "White", "generation": str(generation.pk), "image_index": 3},
        {"product": "harbour-tee", "base_color": "White", "image_index": 0},
    ]
    errors = api.post(URL, order_body(*lines), format="json").json()["lines"]
    assert {index: set(fields) for index, fields in errors.items()} == {
        "0": {"base_color"},
        "1": {"image_index"},
        "2": {"image_index"},
    }


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"lines": []}, "lines"),
        ({"lines": "harbour-tee"}, "lines"),
        ({"email": "not-an-email"}, "email"),
        ({"country": "GBR"}, "country"),
        ({"full_name": ""}, "full_name"),
        ({"full_name": 12}, "full_name"),
        ({"city": None}, "city"),
        ({"postcode": "x" * 21}, "postcode"),
    ],
)
def test_bad_order_bodies_answer_400(api, catalogue, overrides, field):
    body = order_body({"product": "harbour-tee", "base_color": "White"}, **overrides)
    response = api.post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"product": "nope", "base_color": "White"}, "product"),
        ({"product": "harbour-tee", "base_color": "Mauve"}, "base_color"),
        ({"product": "harbour-tee", "base_color": "White", "quantity": 0}, "quantity"),
        ({"product": "harbour-tee", "base_color": "White", "quantity": 100}, "quantity"),
        ({"product": "harbour-tee", "base_color": "White", "quantity": "NaN"}, "quantity"),
        ({"product": "harbour-tee", "base_color": "White", "generation": "not-a-uuid"}, "generation"),
        ({"product": "harbour-tee", "base_color": "White", "generation": -5}, "generation"),
        ({"product": "harbour-tee", "base_color": "White", "image_index": -1}, "image_index"),
    ],
)
def test_bad_lines_answer_400_on_the_line(api, catalogue, line, field):
    response = api.post(URL, order_body(line), format="json")
    assert response.status_code == 400
    assert field in response.json()["lines"]["0"]


def test_unpublished_product_is_a_bad_line(api, catalogue):
    catalogue["product"].is_published = False
    catalogue["product"].save()
    response = api.post(URL, order_body({"product": "harbour-tee", "base_color": "White"}), format="json")
    assert response.status_code == 400
    assert "product" in response.json()["lines"]["0"]


def test_non_finite_json_in_an_order_answers_400(api, catalogue):
    raw = '{"lines": [{"product": "harbour-tee", "base_color": "White", "quantity": NaN}], "full_name": "A"}'
    response = api.post(URL, raw, content_type="application/json")
    assert response.status_code == 400
    assert "quantity" in response.json()["lines"]["0"]


def test_idempotent_order_replay_and_conflict(api, catalogue):
    body = order_body({"product": "harbour-tee", "base_color": "White"})
    first = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="checkout-1")
    again = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="checkout-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Order.objects.count() == 1
    other = api.post(URL, {**body, "city": "Bath"}, format="json", HTTP_IDEMPOTENCY_KEY="checkout-1")
    assert other.status_code == 409


# --- throttle --------------------------------------------------------------------------------------


def test_order_create_is_throttled_per_user_with_retry_after(api, user, other_api, catalogue, throttle_rates):
    throttle_rates(order_create_user="2/min")
    body = order_body({"product": "harbour-tee", "base_color": "White"})
    assert [api.post(URL, body, format="json").status_code for _ in range(2)] == [201, 201]
    response = api.post(URL, body, format="json")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert Order.objects.count() == 2
    # Per account: someone else still may order. Reading is not throttled.
    assert other_api.post(URL, body, format="json").status_code == 201
    assert api.get(URL).status_code == 200
    assert api.get(f"{URL}{Order.objects.filter(user=user).first().number}/").status_code == 200


def test_idempotent_order_replay_neither_uses_nor_needs_throttle_budget(api, catalogue, throttle_rates):
    throttle_rates(order_create_user="2/min")
    body = order_body({"product": "harbour-tee", "base_color": "White"})
    first = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="checkout-1")
    assert first.status_code == 201
    assert api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="checkout-1").status_code == 201
    # The replay used none of the budget: one more new order fits, and that fills it.
    assert api.post(URL, body, format="json").status_code == 201
    assert api.post(URL, body, format="json").status_code == 429

    replay = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="checkout-1")
    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json() and replay["Location"] == first["Location"]
    assert api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="checkout-2").status_code == 429
    assert Order.objects.count() == 2
