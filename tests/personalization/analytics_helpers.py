"""Known rows for the dashboard and report tests, with their timestamps set by hand.

``known_fixture()`` builds, around D = 2026-01-10 00:00 UTC (brand A: Mugs and Shirts; brand B: Caps;
times are D + days and hh:mm[:ss]; images are (GPU seconds, brand consistency)):

    name cat.   br. created   started   finished   status     code          images / rating
    p0   Mugs   A   -1 23:00  10:30     10:30:08   succeeded                -
    m1   Mugs   A   10:00     10:05     10:05:02   succeeded                (2.0, 80) (4.0, 60), 5
    m2   Mugs   A   10:10     11:00     11:00:04   succeeded                (6.0, 70), 3
    m3   Mugs   A   11:30     11:30     11:30      succeeded  (m1's cache)  (0.0, 80) copied
    m4   Mugs   A   12:00     -         12:00      rejected   banned_term   -
    m5   Mugs   A   12:15     13:10     13:20      failed     gpu_oom       -
    s1   Shirts A   10:20     12:05     12:05:06   succeeded                (None, 90) (3.0, 50)
    s2   Shirts A   10:30     -         -          queued                   -
    s3   Shirts A   10:40     12:30     12:30:05   rejected   unsafe_output -
    s4   Shirts A   11:00     -         11:15      cancelled  cancelled     -
    c1   Caps   B   10:00     10:01     10:01:10   succeeded                (10.0, 40)
    o1   Mugs   A   +3 09:00  +3 09:01  +3 09:01:05 succeeded               (100.0, 10)

and ordered designs (LineDesign): d1 A rejected, d2 A approved, d3 B rejected, d4 A pending, all
ordered on D at 15:00; d5 A pending ordered on D+5.
"""

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from personalization.models import GenerationImage, GenerationRequest, LineDesign
from shop.models import Order, OrderLine
from tests.factories import make_brand, make_category, make_product
from tests.foundation_helpers import make_generation

Status = GenerationRequest.Status
D = datetime(2026, 1, 10, tzinfo=UTC)
_seq = itertools.count(1)


def at(day: int = 0, hour: int = 0, minute: int = 0, second: float = 0.0) -> datetime:
    return D + timedelta(days=day, hours=hour, minutes=minute, seconds=second)


def make_request(
    product,
    *,
    created,
    started=None,
    finished=None,
    status=Status.SUCCEEDED,
    error_code: str = "",
    cache_source=None,
    rating=None,
    images=(),
) -> GenerationRequest:
    """A request with these timestamps (``created_at`` is set after the insert: auto_now_add) and
    images of (generation_seconds, brand_consistency)."""
    req = make_generation(
        product, status=status, error_code=error_code, cache_source=cache_source, rating=rating
    )
    GenerationRequest.objects.filter(pk=req.pk).update(
        created_at=created, started_at=started, finished_at=finished
    )
    for index, (seconds, score) in enumerate(images):
        GenerationImage.objects.create(
            request=req,
            index=index,
            seed=index,
            image=f"x/{req.pk}-{index}.png",
            width=64,
            height=64,
            generation_seconds=seconds,
            brand_consistency=score,
        )
    req.refresh_from_db()
    return req


def make_design(product, *, state, created) -> LineDesign:
    """An ordered design in this review state, ordered at ``created``."""
    order = Order.objects.create(
        number=f"PZDASH{next(_seq):04d}",
        full_name="Ada Lovelace",
        email="ada@example.com",
        address_line1="1 Analytical Way",
        city="London",
        postcode="N1 1AA",
        country="GB",
        total=Decimal("24.00"),
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
    design = LineDesign.objects.create(
        order_line=line,
        brand=product.brand,
        image="x/design.png",
        description="A cat",
        optimized_prompt="a cat",
        seed=1,
        steps=25,
        guidance_scale=7.5,
        width=64,
        height=64,
        model_name="tiny-sd21",
        scheduler_name="DPMSolverMultistepScheduler",
        brand_name=product.brand.name,
        base_color_name="White",
        base_color_hex="#FFFFFF",
        review_state=state,
    )
    LineDesign.objects.filter(pk=design.pk).update(created_at=created)
    return design


def known_fixture() -> dict:
    """The rows in the module's docstring; returns the brands, products and requests by name."""
    brand_a = make_brand(name="Acme", slug="acme")
    brand_b = make_brand(name="Bolt", slug="bolt")
    mugs = make_product(brand=brand_a, category=make_category(name="Mugs", slug="mugs"), name="Mug")
    shirts = make_product(brand=brand_a, category=make_category(name="Shirts", slug="shirts"), name="Shirt")
    caps = make_product(brand=brand_b, category=make_category(name="Caps", slug="caps"), name="Cap")
    r = {}
    r["p0"] = make_request(mugs, created=at(-1, 23), started=at(0, 10, 30), finished=at(0, 10, 30, 8))
    r["m1"] = make_request(
        mugs,
        created=at(0, 10),
        started=at(0, 10, 5),
        finished=at(0, 10, 5, 2),
        rating=5,
        images=[(2.0, 80), (4.0, 60)],
    )
    r["m2"] = make_request(
        mugs, created=at(0, 10, 10), started=at(0, 11), finished=at(0, 11, 0, 4), rating=3, images=[(6.0, 70)]
    )
    r["m3"] = make_request(
        mugs,
        created=at(0, 11, 30),
        started=at(0, 11, 30),
        finished=at(0, 11, 30),
        cache_source=r["m1"],
        images=[(0.0, 80)],
    )
    r["m4"] = make_request(
        mugs, created=at(0, 12), finished=at(0, 12), status=Status.REJECTED, error_code="banned_term"
    )
    r["m5"] = make_request(
        mugs,
        created=at(0, 12, 15),
        started=at(0, 13, 10),
        finished=at(0, 13, 20),
        status=Status.FAILED,
        error_code="gpu_oom",
    )
    r["s1"] = make_request(
        shirts,
        created=at(0, 10, 20),
        started=at(0, 12, 5),
        finished=at(0, 12, 5, 6),
        images=[(None, 90), (3.0, 50)],
    )
    r["s2"] = make_request(shirts, created=at(0, 10, 30), status=Status.QUEUED)
    r["s3"] = make_request(
        shirts,
        created=at(0, 10, 40),
        started=at(0, 12, 30),
        finished=at(0, 12, 30, 5),
        status=Status.REJECTED,
        error_code="unsafe_output",
    )
    r["s4"] = make_request(
        shirts, created=at(0, 11), finished=at(0, 11, 15), status=Status.CANCELLED, error_code="cancelled"
    )
    r["c1"] = make_request(
        caps, created=at(0, 10), started=at(0, 10, 1), finished=at(0, 10, 1, 10), images=[(10.0, 40)]
    )
    r["o1"] = make_request(
        mugs, created=at(3, 9), started=at(3, 9, 1), finished=at(3, 9, 1, 5), images=[(100.0, 10)]
    )
    make_design(mugs, state=LineDesign.ReviewState.REJECTED, created=at(0, 15))
    make_design(mugs, state=LineDesign.ReviewState.APPROVED, created=at(0, 15))
    make_design(caps, state=LineDesign.ReviewState.REJECTED, created=at(0, 15))
    make_design(shirts, state=LineDesign.ReviewState.PENDING, created=at(0, 15))
    make_design(shirts, state=LineDesign.ReviewState.PENDING, created=at(5, 15))
    return {"brand_a": brand_a, "brand_b": brand_b, "mugs": mugs, "shirts": shirts, "caps": caps, **r}
