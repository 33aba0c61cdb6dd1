"""A customer of the oscar shop designs, fills oscar's basket and orders; the designs are frozen onto
oscar's order lines. The designs are made by the real worker code (personalization.worker.run) on
the tiny random-weight pipeline, in this process; the order is placed by oscar's own OrderCreator."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from oscar.core.loading import get_class, get_model
from PIL import Image

from personalization import interface, worker
from personalization.approval import line_design_approve
from personalization.hosts import host
from personalization.review import generation_hold_for_review
from personalization.tasks import print_file_render
from tests.email_helpers import purge_email_queue, run_queued_emails
from tests.hosts.oscar.conftest import make_oscar_product, place_order
from tests.hosts.oscar.integration import (
    DESIGN_OPTION_CODE,
    NOT_A_DESIGN,
    NOT_YOURS,
    basket_add_design,
    basket_design_problems,
    design_option,
    design_value,
    own_design,
)

pytestmark = pytest.mark.django_db

Status = interface.GenerationRequest.Status
Order = get_model("order", "Order")
UnableToPlaceOrder = get_class("order.exceptions", "UnableToPlaceOrder")


def design(product, customer, *, seed, description="Geometric wolf head made of triangles", **kw):
    """A design submitted through the plugin's public service and made by the worker code."""
    params = {"base_color": "Navy", "steps": 3, "size": 64, "seed": seed}
    params.update(kw)
    generation = interface.submit_design(
        product=product, description=description, customer=customer, **params
    )
    worker.run(generation.pk)
    generation.refresh_from_db()
    assert generation.status == Status.SUCCEEDED, (generation.error_code, generation.error_message)
    return generation


def pixels_of(field) -> tuple[int, int]:
    with field.open("rb") as fh:
        picture = Image.open(fh)
        picture.load()
    return picture.size


@pytest.fixture
def tiny(tiny_model, settings):
    """The tiny pipeline, with leases long enough that the worker's keep-alive thread never beats
    during a run: inside the test's transaction its write would only wait for the test's lock."""
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "LEASE_SECONDS": 120}
    return tiny_model


@pytest.fixture
def logged_in(client, customer):
    client.force_login(customer)
    return client


def test_two_designs_of_one_product_are_two_basket_lines_and_two_frozen_order_lines(
    tiny, product, customer, basket, django_capture_on_commit_callbacks
):
    wolf = design(product, customer, seed=11)
    fox = design(product, customer, seed=12, description="A fox in a meadow of flowers")

    first = basket_add_design(basket=basket, image=wolf.images.get(index=0))
    second = basket_add_design(basket=basket, image=fox.images.get(index=0))
    assert first.pk != second.pk and basket.num_lines == 2
    assert {line.product_id for line in basket.all_lines()} == {product.pk}
    assert [a.option.code for a in first.attributes.all()] == [DESIGN_OPTION_CODE]
    # The same design again is the same line, one more of it.
    again = basket_add_design(basket=basket, image=wolf.images.get(index=0))
    assert again.pk == first.pk and basket.num_lines == 2
    again.refresh_from_db()
    assert again.quantity == 2
    assert basket_design_problems(basket) == []

    with django_capture_on_commit_callbacks(execute=False) as queued:
        order = place_order(basket, user=customer)
    assert len(queued) == 2  # one print-file job per frozen design, queued once the order commits

    lines = list(order.lines.order_by("pk"))
    assert len(lines) == 2
    for line, generation, quantity in ((lines[0], wolf, 2), (lines[1], fox, 1)):
        assert line.quantity == quantity
        frozen = line.design  # the plugin's LineDesign, one-to-one with oscar's order.Line
        image = generation.images.get(index=0)
        assert frozen.source_image == image
        assert (frozen.description, frozen.optimized_prompt, frozen.negative_prompt) == (
            generation.description,
            generation.optimized_prompt,
            generation.negative_prompt,
        )
        assert frozen.optimized_prompt and frozen.negative_prompt
        assert frozen.seed == image.seed == generation.seed
        assert frozen.model_name == generation.model_name and frozen.scheduler_name
        assert frozen.preset == generation.preset
        # The recipe of that one variation: everything needed to make it again.
        assert frozen.recipe["seed"] == image.seed and frozen.recipe["variations"] == 1
        assert (frozen.recipe["prompt"], frozen.recipe["model"]) == (
            frozen.optimized_prompt,
            frozen.model_name,
        )
        assert (frozen.recipe["steps"], frozen.recipe["width"]) == (3, 64)
        assert (frozen.base_color_name, frozen.base_color_hex) == ("Navy", "#1f2a44")
        assert frozen.customer == customer and frozen.brand == generation.brand
        assert frozen.print_area["width_mm"] == 250.0 and frozen.print_area["height_mm"] == 300.0
        # Copies, not the variation's own files.
        assert frozen.image.name != image.image.name and pixels_of(frozen.image) == (64, 64)
        assert frozen.mockup.name and pixels_of(frozen.mockup)[0] > 64
        assert not frozen.print_file
        # The order line keeps the option, as oscar shows it in the dashboard.
        assert [(a.type, a.value) for a in line.attributes.all()] == [
            (DESIGN_OPTION_CODE, design_value(image, basket=basket))
        ]

        # The print-file job (the worker's task, run here synchronously).
        print_file_render(frozen.pk)
        frozen.refresh_from_db()
        width, height = pixels_of(frozen.print_file)
        # 250 x 300 mm at 300 dpi, plus bleed on each side.
        assert width > 250 / 25.4 * 300 and height > 300 / 25.4 * 300
    assert lines[0].design.image.name != lines[1].design.image.name


def test_a_design_held_for_review_after_it_went_into_the_basket_stops_the_whole_order(
    tiny, product, customer, basket, brand
):
    ok = design(product, customer, seed=21)
    held = design(product, customer, seed=22, description="A lighthouse at dusk")
    basket_add_design(basket=basket, image=ok.images.get(index=0))
    basket_add_design(basket=basket, image=held.images.get(index=0))
    generation_hold_for_review(request_id=held.pk, reason="A protected name.")
    held.refresh_from_db()

    assert basket_design_problems(basket) == [f"{product.get_title()}: {interface.order_refusal(held)}"]
    with pytest.raises(UnableToPlaceOrder, match="checks this design"):
        place_order(basket, user=customer)
    # Nothing of the order was kept: no order, no line, no frozen design (the other line's neither).
    assert not Order.objects.exists()
    assert not interface.LineDesign.objects.exists()
    assert basket.num_lines == 2


def test_held_failed_or_unfinished_designs_cannot_go_into_the_basket(tiny, product, customer, basket):
    held = design(product, customer, seed=31)
    generation_hold_for_review(request_id=held.pk, reason="A protected name.")
    held.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        basket_add_design(basket=basket, image=held.images.get(index=0))
    assert refused.value.message_dict == {"design": [interface.order_refusal(held)]}

    failed = design(product, customer, seed=32, description="A red kite over the hills")
    interface.GenerationRequest.objects.filter(pk=failed.pk).update(status=Status.FAILED)
    failed.refresh_from_db()
    with pytest.raises(ValidationError, match="This design is failed, so it cannot be ordered."):
        basket_add_design(basket=basket, image=failed.images.get(index=0))
    assert basket.num_lines == 0


def test_a_design_of_another_product_cannot_be_ordered_with_this_one(tiny, product, customer, brand):
    wolf = design(product, customer, seed=41)
    other = make_oscar_product(brand=brand, title="Canvas tote")
    Basket = get_model("basket", "Basket")
    basket = Basket.objects.create(owner=customer)
    basket.strategy = get_class("partner.strategy", "Selector")().strategy(user=customer)
    # As if typed into oscar's own product form: the option value of a real design, on another product.
    value = design_value(wolf.images.get(), basket=basket)
    basket.add_product(other, options=[{"option": design_option(), "value": value}])
    with pytest.raises(UnableToPlaceOrder, match="not made for this product"):
        place_order(basket, user=customer)
    assert not Order.objects.exists()


def test_an_option_value_not_made_by_the_studio_is_refused_at_checkout(product, customer, basket):
    """Oscar's own product page offers the required option as a text field: what a customer types
    there is no design (the value is signed when the studio's design is added)."""
    basket.add_product(product, options=[{"option": design_option(), "value": "my own design please"}])
    assert basket_design_problems(basket) == [f"{product.get_title()}: {NOT_A_DESIGN}"]
    with pytest.raises(UnableToPlaceOrder, match="not a design made in the studio"):
        place_order(basket, user=customer)
    assert not Order.objects.exists()


def test_only_the_customers_own_designs_can_be_chosen(tiny, product, customer):
    from django.contrib.auth import get_user_model

    other = get_user_model().objects.create_user(
        username="other", email="o@example.com", password="x-long-pw1"
    )
    theirs = design(product, other, seed=51)
    for generation_id, index in ((theirs.pk, 0), ("not-a-uuid", 0), (theirs.pk, "x")):
        with pytest.raises(ValidationError, match="No such design."):
            own_design(generation_id=generation_id, image_index=index, user=customer)
    assert own_design(generation_id=theirs.pk, image_index=0, user=other) == theirs.images.get()


# --- through the web: the studio inside oscar, the "add to basket" button -----------------------------


def test_the_studio_renders_inside_oscars_layout(logged_in, product):
    page = logged_in.get(reverse("personalization:studio"), {"product": product.slug})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="studio-form"' in html  # the plugin's studio
    assert reverse("basket:summary") in html  # oscar's layout (its mini basket) around it
    assert "personalization/htmx.min.js" in html and "personalization/studio.js" in html
    assert "Demo model: random weights" in html  # this host's override of personalization/base.html
    assert product.get_title() in html


def test_designed_in_the_studio_added_with_the_button_and_ordered(logged_in, tiny, product, customer):
    submitted = logged_in.post(
        reverse("personalization:studio"),
        {
            "product": product.slug,
            "base_color": "White",
            "description": "Geometric wolf head made of triangles",
            "steps": 3,
            "size": 64,
            "seed": 7,
            "variations": 2,
        },
    )
    generation = interface.designs_for(user=customer).get()
    # Without htmx the studio answers with the design's page.
    assert submitted.status_code == 302, submitted.content.decode()[:2000]
    assert submitted["Location"] == reverse("personalization:job", args=[generation.pk])
    worker.run(generation.pk)
    generation.refresh_from_db()
    assert generation.status == Status.SUCCEEDED and generation.images.count() == 2

    # The finished design's page offers "Add to basket" for each variation (this host's template).
    page = logged_in.get(reverse("personalization:job", args=[generation.pk]))
    assert page.content.decode().count(reverse("oscar_host_basket_add")) == 2

    for index in (1, 0):
        added = logged_in.post(
            reverse("oscar_host_basket_add"), {"generation": generation.pk, "image": index}
        )
        assert added.status_code == 302 and added["Location"] == reverse("basket:summary")
    summary = logged_in.get(reverse("basket:summary"))
    assert summary.status_code == 200
    basket = summary.context["basket"]
    assert basket.num_lines == 2

    order = place_order(basket, user=customer)
    frozen = [line.design for line in order.lines.order_by("pk")]
    assert [d.source_image.index for d in frozen] == [1, 0]
    assert [d.seed for d in frozen] == [generation.seed + 1, generation.seed]
    assert all(d.base_color_name == "White" for d in frozen)


def test_an_anonymous_visitors_design_goes_into_their_cookie_basket(client, tiny, product):
    submitted = client.post(
        reverse("personalization:studio"),
        {
            "product": product.slug,
            "base_color": "Navy",
            "description": "A paper crane",
            "steps": 3,
            "size": 64,
        },
    )
    assert submitted.status_code == 302
    key = interface.visitor_session_key(client)
    generation = interface.designs_for(session_key=key).get()
    assert key and generation.customer is None
    worker.run(generation.pk)
    added = client.post(reverse("oscar_host_basket_add"), {"generation": generation.pk, "image": 0})
    assert added["Location"] == reverse("basket:summary")
    basket = client.get(reverse("basket:summary")).context["basket"]
    assert basket.owner is None and basket.num_lines == 1
    # Another visitor cannot put it in theirs.
    from django.test import Client

    stranger = Client()
    refused = stranger.post(reverse("oscar_host_basket_add"), {"generation": generation.pk, "image": 0})
    assert refused["Location"] == reverse("basket:summary")
    assert stranger.get(reverse("basket:summary")).context["basket"].num_lines == 0


def test_the_button_refuses_a_held_design_with_its_reason(logged_in, tiny, product, customer):
    held = design(product, customer, seed=61)
    generation_hold_for_review(request_id=held.pk, reason="A protected name.")
    held.refresh_from_db()
    answer = logged_in.post(
        reverse("oscar_host_basket_add"), {"generation": held.pk, "image": 0}, follow=True
    )
    assert answer.redirect_chain[0][0] == reverse("personalization:job", args=[held.pk])
    assert interface.order_refusal(held) in [str(m) for m in answer.context["messages"]]
    assert not get_model("basket", "Line").objects.exists()


def test_the_button_answers_no_such_design_for_anothers_or_a_made_up_design(logged_in, tiny, product):
    from django.contrib.auth import get_user_model

    other = get_user_model().objects.create_user(
        username="other2", email="o2@example.com", password="x-long-pw1"
    )
    theirs = design(product, other, seed=71)
    for data in ({"generation": theirs.pk, "image": 0}, {"generation": "nope"}, {}):
        answer = logged_in.post(reverse("oscar_host_basket_add"), data, follow=True)
        assert answer.status_code == 200
        assert "No such design." in [str(m) for m in answer.context["messages"]]
    assert not get_model("basket", "Line").objects.exists()
    assert logged_in.get(reverse("oscar_host_basket_add")).status_code == 405


# --- oscar's own checkout views ------------------------------------------------------------------------


def checkout(client):
    """Through oscar's checkout views: shipping address, (the only, free) shipping method, payment
    details, then "Place order" on the preview page. Returns that last answer."""
    get_model("address", "Country").objects.get_or_create(
        iso_3166_1_a2="GB",
        defaults={"name": "United Kingdom", "printable_name": "United Kingdom", "is_shipping_country": True},
    )
    started = client.get(reverse("checkout:index"), follow=True)
    assert started.redirect_chain[-1][0] == reverse("checkout:shipping-address")
    address = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "line1": "12 St James's Square",
        "line4": "London",
        "postcode": "SW1Y 4JH",
        "country": "GB",
    }
    paying = client.post(reverse("checkout:shipping-address"), address, follow=True)
    assert paying.redirect_chain[-1][0] == reverse("checkout:payment-details"), paying.content.decode()[:3000]
    return client.post(reverse("checkout:preview"), {"action": "place_order"})


def test_oscars_checkout_places_the_order_with_the_frozen_design(logged_in, tiny, product, customer):
    wolf = design(product, customer, seed=81)
    logged_in.post(reverse("oscar_host_basket_add"), {"generation": wolf.pk, "image": 0})
    placed = checkout(logged_in)
    assert placed.status_code == 302 and placed["Location"] == reverse("checkout:thank-you")
    order = Order.objects.get(user=customer)
    frozen = order.lines.get().design
    assert frozen.source_image == wolf.images.get() and frozen.seed == wolf.seed and frozen.image


def test_oscars_checkout_shows_why_a_held_design_cannot_be_ordered(logged_in, tiny, product, customer):
    held = design(product, customer, seed=91)
    logged_in.post(reverse("oscar_host_basket_add"), {"generation": held.pk, "image": 0})
    generation_hold_for_review(request_id=held.pk, reason="A protected name.")
    held.refresh_from_db()

    refused = checkout(logged_in)
    assert refused.status_code == 200  # oscar's preview page again, with the reason
    assert refused.context["error"] == f"{product.get_title()}: {interface.order_refusal(held)}"
    assert not Order.objects.exists() and not interface.LineDesign.objects.exists()
    # The basket is the customer's open basket again, with the design still in it.
    basket = logged_in.get(reverse("basket:summary")).context["basket"]
    assert basket.status == "Open" and basket.num_lines == 1


def test_a_manual_brands_design_waits_for_the_shop_on_oscars_order_line(
    tiny, brand, product, customer, basket, django_capture_on_commit_callbacks
):
    brand.approval_policy = "manual"
    brand.save(update_fields=["approval_policy"])
    wolf = design(product, customer, seed=95)
    basket_add_design(basket=basket, image=wolf.images.get(index=0))
    order = place_order(basket, user=customer)

    line = order.lines.get()
    frozen = line.design
    assert frozen.review_state == "pending_review"
    assert interface.line_review(frozen)["state"] == "pending_review"
    assert interface.fulfilment_refusal(frozen)  # not printed before the shop approves it
    assert interface.fulfilment_files(frozen) == []
    contact = host().order_line_contact(line)
    assert contact == interface.OrderLineContact(
        email=customer.email, order_number=order.number, order_url="", product_name=line.title
    )
    assert order.email == customer.email and order.number == str(100000 + basket.pk)

    # The approval email goes to oscar's order address, naming oscar's order number.
    purge_email_queue()
    with django_capture_on_commit_callbacks(execute=True):
        line_design_approve(design=frozen)
    run_queued_emails()
    [message] = mail.outbox
    assert message.to == [customer.email] and f"in order {order.number}" in message.body
    assert interface.line_review(frozen)["state"] == "approved" and not interface.fulfilment_refusal(frozen)


# --- the design option's value is bound to its owner -----------------------------------------------


def copied_value(line) -> str:
    """The design option's value of a basket line, as oscar shows it on the basket and order pages."""
    return line.attributes.get(option__code=DESIGN_OPTION_CODE).value


def open_basket(owner=None):
    Basket = get_model("basket", "Basket")
    basket = Basket.objects.create(owner=owner)
    basket.strategy = get_class("partner.strategy", "Selector")().strategy(user=owner)
    return basket


def test_a_design_value_seen_by_another_customer_cannot_be_ordered_by_them(tiny, product, customer, basket):
    from django.contrib.auth import get_user_model

    wolf = design(product, customer, seed=101)
    value = copied_value(basket_add_design(basket=basket, image=wolf.images.get(index=0)))
    stranger = get_user_model().objects.create_user(
        username="stranger", email="s@example.com", password="x-long-pw1"
    )
    theirs = open_basket(stranger)
    # Typed into oscar's own product form (the option is a text field there).
    theirs.add_product(product, options=[{"option": design_option(), "value": value}])

    assert basket_design_problems(theirs) == [f"{product.get_title()}: {NOT_YOURS}"]
    with pytest.raises(UnableToPlaceOrder) as refused:
        place_order(theirs, user=stranger)
    assert str(refused.value) == f"{product.get_title()}: {NOT_YOURS}"
    assert not Order.objects.exists() and not interface.LineDesign.objects.exists()
    # The owner still orders it.
    assert basket_design_problems(basket) == []
    assert place_order(basket, user=customer).lines.get().design.source_image == wolf.images.get(index=0)


def test_a_visitors_design_value_copied_into_another_basket_is_refused(tiny, product):
    generation = interface.submit_design(
        product=product,
        description="A paper crane",
        session_key="visitor-a",
        base_color="Navy",
        steps=3,
        size=64,
        seed=5,
    )
    worker.run(generation.pk)
    image = interface.GenerationImage.objects.get(request=generation, index=0)
    mine = open_basket()
    value = copied_value(basket_add_design(basket=mine, image=image, session_key="visitor-a"))
    # Another visitor cannot add the design ...
    with pytest.raises(ValidationError, match="No such design."):
        basket_add_design(basket=open_basket(), image=image, session_key="visitor-b")
    # ... nor order its value copied into their basket (a guest order: no account to compare).
    copied = open_basket()
    copied.add_product(product, options=[{"option": design_option(), "value": value}])
    with pytest.raises(UnableToPlaceOrder, match="made by another customer"):
        place_order(copied, user=None)
    assert not Order.objects.exists()
    # The visitor's own basket is ordered.
    assert place_order(mine, user=None).lines.get().design.source_image == image


def test_a_visitors_basket_design_is_ordered_after_logging_in(client, tiny, product, customer):
    """Designed and added before logging in: the login claims the design for the account and oscar
    merges the cookie basket into the account's, so the account orders it."""
    client.post(
        reverse("personalization:studio"),
        {
            "product": product.slug,
            "base_color": "Navy",
            "description": "A paper crane",
            "steps": 3,
            "size": 64,
        },
    )
    generation = interface.designs_for(session_key=interface.visitor_session_key(client)).get()
    worker.run(generation.pk)
    client.post(reverse("oscar_host_basket_add"), {"generation": generation.pk, "image": 0})
    client.force_login(customer)
    basket = client.get(reverse("basket:summary")).context["basket"]
    assert basket.owner == customer and basket.num_lines == 1
    assert basket_design_problems(basket) == []
    assert place_order(basket, user=customer).lines.get().design.source_image == generation.images.get()


# --- a text or monogram on the design (the plugin's text layer, in oscar's signed option value) ----


@pytest.fixture
def brand_fonts(brand):
    """The oscar brand with a heading font (Lato, from the font-lato package) and a banned term."""
    import font_lato
    from django.core.files.base import ContentFile

    from brand_guides.models import Typography

    with open(font_lato.font_files["Lato"], "rb") as fh:
        data = fh.read()
    typography = Typography(brand=brand, role="heading", font_family="Lato")
    typography.font_file.save("Lato-Regular.ttf", ContentFile(data), save=False)
    typography.save()
    brand.banned_terms = "zebra"
    brand.save()
    return brand


def test_a_monogram_goes_through_oscars_basket_and_is_frozen_on_the_order_line(
    tiny, brand_fonts, product, customer, basket
):
    wolf = design(product, customer, seed=201)
    image = wolf.images.get(index=0)
    line = basket_add_design(basket=basket, image=image, text={"text": "amw", "kind": "monogram"})
    # The same design with and without a monogram are two basket lines (oscar compares values).
    plain = basket_add_design(basket=basket, image=image)
    assert line.pk != plain.pk and basket.num_lines == 2

    order = place_order(basket, user=customer)
    frozen = {
        line.design.composition["text"] and line.design.composition["text"]["text"]
        for line in order.lines.all()
    }
    assert frozen == {"AMW", None}
    texted = next(line.design for line in order.lines.all() if line.design.composition["text"])
    assert texted.composition["text"]["kind"] == "monogram"
    assert texted.text_font and texted.preflight["print_size"]["width_mm"] > 0


def test_text_that_cannot_be_printed_never_reaches_oscars_basket(
    tiny, brand_fonts, product, customer, basket
):
    image = design(product, customer, seed=202).images.get(index=0)
    refusals = (
        ({"text": "a zebra"}, "text"),
        ({"text": "ABCD", "kind": "monogram"}, "text"),
        ({"text": "Ada\u200b"}, "text"),
        ({"text": "Ada", "font": "accent"}, "font"),
    )
    for text, key in refusals:
        with pytest.raises(ValidationError) as refused:
            basket_add_design(basket=basket, image=image, text=text)
        assert key in refused.value.message_dict
    assert basket.num_lines == 0


def test_a_text_changed_in_a_copied_value_breaks_its_signature(tiny, brand_fonts, product, customer, basket):
    image = design(product, customer, seed=203).images.get(index=0)
    value = copied_value(basket_add_design(basket=basket, image=image, text={"text": "Ada"}))
    payload, signature = value.rsplit(":", 1)
    forged = payload.replace(payload.rsplit("text=", 1)[1], "eyJ0ZXh0IjoiemVicmEifQ") + ":" + signature
    theirs = open_basket(customer)
    theirs.add_product(product, options=[{"option": design_option(), "value": forged}])
    assert basket_design_problems(theirs) == [f"{product.get_title()}: {NOT_A_DESIGN}"]


def test_a_manual_brands_oscar_order_waits_in_the_approval_queue(
    client, tiny, brand, product, customer, basket, monkeypatch
):
    """The approval queue reads oscar's order number through the host adapter; approving works."""
    from django.contrib.auth import get_user_model

    monkeypatch.setattr("personalization.queue.enqueue_print_file", lambda pk: None)
    brand.approval_policy = "manual"
    brand.save()
    wolf = design(product, customer, seed=91)
    basket_add_design(basket=basket, image=wolf.images.get(index=0))
    order = place_order(basket, user=customer)
    frozen = order.lines.get().design
    assert frozen.review_state == "pending_review"

    root = get_user_model().objects.create_superuser(username="root", email="root@example.com", password="x")
    client.force_login(root)
    queue = client.get(reverse("admin:personalization_linedesign_approval"))
    assert [row["order_number"] for row in queue.context["rows"]] == [order.number]
    review = reverse("admin:personalization_linedesign_review", args=[frozen.pk])
    assert f"order {order.number}" in client.get(review).content.decode()
    approved = client.post(review, {"decision": "approve"})
    assert approved.status_code == 302 and approved["Location"] == queue.wsgi_request.path
    frozen.refresh_from_db()
    assert frozen.review_state == "approved" and frozen.reviewed_by == root
