"""Orders of personalized designs placed through the bundled shop's real checkout service, for the
approval queue's tests (services, admin pages, browser)."""

from brand_guides.models import Brand
from personalization.models import GenerationImage, LineDesign
from shop.models import CartLine, Order
from shop.services import cart_get_or_create, order_place
from tests.factories import make_brand, make_product
from tests.foundation_helpers import make_succeeded_generation
from tests.shop_helpers import checkout_data


def make_manual_brand(**fields) -> Brand:
    return make_brand(approval_policy=Brand.ApprovalPolicy.MANUAL, min_consistency_score=0, **fields)


def place_order(image: GenerationImage, *, user=None, **form) -> Order:
    """An order of ``image`` on its product (and a plain line), placed by ``order_place``."""
    product = image.request.product
    session_key = "" if user else f"approval-{image.pk}"
    cart = cart_get_or_create(user=user, session_key=session_key)
    color = product.base_colors.first()
    CartLine.objects.create(cart=cart, product=product, base_color=color, quantity=2)
    CartLine.objects.create(cart=cart, product=product, base_color=color, design=image)
    return order_place(cart=cart, user=user, session_key=session_key, **checkout_data(**form))


def ordered_design(
    *, brand=None, user=None, description="A majestic lion on a mountain", **form
) -> LineDesign:
    """A finished design (a made request with one image) of ``brand``'s product, ordered."""
    product = make_product(brand=brand or make_manual_brand())
    generation = make_succeeded_generation(product, customer=user, description=description)
    order = place_order(generation.images.get(), user=user, **form)
    return LineDesign.objects.get(order_line__order=order)
