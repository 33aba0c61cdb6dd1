"""The host shop's pages: thin views over shop.services and shop.selectors."""

from itertools import groupby

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from personalization.interface import (
    GenerationImage,
    describe_text_layer,
    designs_for,
    line_review,
    line_text_layer,
    text_form_values,
    validate_text_layer,
    visitor_key,
)

from .forms import CartAddForm, CheckoutForm, QuantityForm, SignupForm
from .models import CartLine, Order, OrderLine, Product
from .services import cart_add, cart_get_or_create, cart_line_remove, cart_line_set_quantity, order_place


def _cart(request):
    return cart_get_or_create(user=request.user, session_key=visitor_key(request))


def _cart_lines(cart):
    return cart.lines.select_related("product", "base_color", "design__request")


def _own_orders(request):
    owner = Q(user=None, session_key=visitor_key(request))
    if request.user.is_authenticated:
        owner |= Q(user=request.user)
    return Order.objects.filter(owner)


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


@require_GET
def catalogue(request):
    products = Product.objects.published().select_related("category").prefetch_related("base_colors")
    categories = [(category, list(items)) for category, items in groupby(products, key=lambda p: p.category)]
    return render(request, "shop/catalogue.html", {"categories": categories})


@require_GET
def product_detail(request, slug):
    product = get_object_or_404(
        Product.objects.published().select_related("category", "brand").prefetch_related("base_colors"),
        slug=slug,
    )
    return render(request, "shop/product.html", {"product": product})


@require_GET
def cart_detail(request):
    cart = _cart(request)
    lines = list(_cart_lines(cart))
    for line in lines:
        if line.text_layer:  # e.g. 'Monogram “ABC” in Fredoka One, Navy'
            line.text_summary = describe_text_layer(line.text_layer, brand=line.design.request.brand)
    total = sum((line.line_total for line in lines), 0)
    return render(request, "shop/cart.html", {"cart": cart, "lines": lines, "total": total})


@require_POST
def cart_add_view(request):
    form = CartAddForm(request.POST)
    if not form.is_valid():
        messages.error(request, "That item could not be added to your cart.")
        return redirect("shop:cart")
    data = form.cleaned_data
    product = get_object_or_404(Product.objects.published(), slug=data["product"])
    design = None
    if data.get("design"):
        # Only one's own designs (this browser's or the account's) can go into the cart.
        owned = designs_for(user=request.user, session_key=visitor_key(request))
        design = get_object_or_404(
            GenerationImage.objects.select_related("request"), pk=data["design"], request__in=owned
        )
    text_layer = {}
    try:
        if design is not None:  # the customer's text or monogram, checked by the plugin
            text_layer = validate_text_layer(design, text_form_values(data))
        cart_add(
            cart=_cart(request),
            product=product,
            base_color=data["base_color"],
            quantity=data.get("quantity") or 1,
            design=design,
            text_layer=text_layer,
        )
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
        if design is None:
            return redirect(product.get_absolute_url())
        # Back to the design, where the text can be changed (the studio shows the message).
        return redirect("personalization:job", pk=design.request_id)
    messages.success(request, f"Added {product.name} to your cart.")
    return redirect("shop:cart")


@require_POST
def cart_line_update(request, line_id):
    cart = _cart(request)
    line = get_object_or_404(CartLine, cart=cart, pk=line_id)
    form = QuantityForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Quantity must be a whole number between 1 and 99.")
        return redirect("shop:cart")
    cart_line_set_quantity(cart=cart, line_id=line.pk, quantity=form.cleaned_data["quantity"])
    messages.success(request, f"Updated the quantity of {line.product.name}.")
    return redirect("shop:cart")


@require_POST
def cart_line_delete(request, line_id):
    cart = _cart(request)
    line = get_object_or_404(CartLine.objects.select_related("product"), cart=cart, pk=line_id)
    cart_line_remove(cart=cart, line_id=line.pk)
    messages.success(request, f"Removed {line.product.name} from your cart.")
    return redirect("shop:cart")


@require_http_methods(["GET", "POST"])
def checkout(request):
    cart = _cart(request)
    if request.method == "POST":
        form = CheckoutForm(request.POST)
        if form.is_valid():
            try:
                order = order_place(
                    cart=cart, user=request.user, session_key=visitor_key(request), **form.cleaned_data
                )
            except ValidationError as exc:
                form.add_error(None, _error_text(exc))
            else:
                if order.checkout_token != form.cleaned_data["checkout_token"]:
                    # Another tab (another token) checked this cart out first: one cart, one order.
                    messages.info(request, f"This cart was already ordered as {order.number}.")
                else:
                    messages.success(request, f"Thank you! Order {order.number} is placed.")
                return redirect(order)
    else:
        initial = {}
        if request.user.is_authenticated:
            initial = {"full_name": request.user.get_full_name(), "email": request.user.email}
        form = CheckoutForm(initial=initial)
    lines = list(_cart_lines(cart))
    total = sum((line.line_total for line in lines), 0)
    status = 200 if not form.errors else 422
    return render(
        request, "shop/checkout.html", {"form": form, "lines": lines, "total": total}, status=status
    )


def _review_counts(lines) -> dict[str, int]:
    """How many of these lines' designs wait for the shop's approval or were rejected."""
    states = [line_review(line.design)["state"] for line in lines if getattr(line, "design", None)]
    return {state: states.count(state) for state in ("pending_review", "rejected") if state in states}


@require_GET
def order_list(request):
    orders = list(
        _own_orders(request).prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("design"))
        )
    )
    for order in orders:
        order.review_counts = _review_counts(order.lines.all())
    return render(request, "shop/orders.html", {"orders": orders})


@require_GET
def order_detail(request, number):
    order = get_object_or_404(
        _own_orders(request).prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("design"))
        ),
        number=number,
    )
    for line in order.lines.all():
        design = getattr(line, "design", None)
        if design is None:
            continue
        line.review = line_review(design)  # waiting for the shop's approval, approved or rejected
        if text := line_text_layer(design):
            line.text_summary = describe_text_layer(text, brand=design.brand, palette=design.brand_palette)
    return render(request, "shop/order.html", {"order": order})


@require_http_methods(["GET", "POST"])
def signup(request):
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    if request.user.is_authenticated:
        return redirect(next_url or "shop:catalogue")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        # Logging in fires user_logged_in: the visitor's cart and designs join the account.
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome! Your account is ready.")
        return redirect(next_url or "shop:catalogue")
    status = 422 if form.errors else 200
    return render(request, "shop/signup.html", {"form": form, "next": next_url}, status=status)
