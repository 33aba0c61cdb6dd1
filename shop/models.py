"""The bundled host shop: catalogue, cart, checkout and orders.

The plugin (personalization/, brand_guides/) never imports this module; it reaches Product and
OrderLine through settings.PERSONALIZATION["PRODUCT_MODEL"] / ["ORDER_LINE_MODEL"].
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from personalization.interface import AllowedImageField, hex_color_validator, preset_choices


class Category(models.Model):
    name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class ProductQuerySet(models.QuerySet):
    def published(self):
        return self.filter(is_published=True)


class Product(models.Model):
    brand = models.ForeignKey("brand_guides.Brand", on_delete=models.PROTECT, related_name="products")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    product_type = models.CharField(max_length=60, help_text="e.g. t-shirt, mug, cap, cushion, canvas")
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    is_published = models.BooleanField(default=True)

    # Print area, in physical units.
    print_width_mm = models.FloatField(validators=[MinValueValidator(1)])
    print_height_mm = models.FloatField(validators=[MinValueValidator(1)])
    print_dpi = models.PositiveIntegerField(
        default=300, validators=[MinValueValidator(72), MaxValueValidator(1200)]
    )
    min_dpi = models.PositiveIntegerField(
        default=150, validators=[MinValueValidator(72), MaxValueValidator(1200)]
    )
    safe_margin_mm = models.FloatField(default=3.0, validators=[MinValueValidator(0)])

    allowed_materials = models.ManyToManyField(
        "brand_guides.MaterialPreset", related_name="products", blank=True
    )

    # Mockup: a neutral product picture (RGBA, grey shading) and where the print area sits on it,
    # as fractions of the picture's size.
    mockup_template = AllowedImageField(
        upload_to="products/mockups/", blank=True, help_text="PNG, JPEG or WebP."
    )
    mockup_box_left = models.FloatField(default=0.3, validators=[MinValueValidator(0), MaxValueValidator(1)])
    mockup_box_top = models.FloatField(default=0.3, validators=[MinValueValidator(0), MaxValueValidator(1)])
    mockup_box_width = models.FloatField(
        default=0.4, validators=[MinValueValidator(0.01), MaxValueValidator(1)]
    )
    mockup_box_height = models.FloatField(
        default=0.4, validators=[MinValueValidator(0.01), MaxValueValidator(1)]
    )

    # The model preset (personalization.presets) this product's designs use.
    model_preset = models.CharField(
        max_length=20, blank=True, choices=preset_choices, help_text="Empty: the brand's model preset"
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["category__position", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_gte_0"),
            models.CheckConstraint(
                condition=Q(print_width_mm__gt=0) & Q(print_height_mm__gt=0),
                name="product_print_area_positive",
            ),
            models.CheckConstraint(condition=Q(print_dpi__gt=0), name="product_print_dpi_positive"),
            models.CheckConstraint(condition=Q(safe_margin_mm__gte=0), name="product_safe_margin_gte_0"),
            models.CheckConstraint(
                condition=Q(mockup_box_left__gte=0)
                & Q(mockup_box_top__gte=0)
                & Q(mockup_box_width__gt=0)
                & Q(mockup_box_height__gt=0)
                & Q(mockup_box_left__lte=1 - F("mockup_box_width") + 0.0001)
                & Q(mockup_box_top__lte=1 - F("mockup_box_height") + 0.0001),
                name="product_mockup_box_inside",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("shop:product", kwargs={"slug": self.slug})

    @property
    def mockup_box(self) -> tuple[float, float, float, float]:
        return (self.mockup_box_left, self.mockup_box_top, self.mockup_box_width, self.mockup_box_height)

    def clean(self):
        from django.core.exceptions import ValidationError

        sizes = (self.print_width_mm, self.print_height_mm)
        if None not in sizes and self.safe_margin_mm and 2 * self.safe_margin_mm >= min(sizes):
            raise ValidationError({"safe_margin_mm": "The safe margin leaves no printable area."})
        if (
            self.mockup_box_left + self.mockup_box_width > 1.0001
            or self.mockup_box_top + self.mockup_box_height > 1.0001
        ):
            raise ValidationError("The mockup print box must lie inside the mockup picture.")


class BaseColor(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="base_colors")
    name = models.CharField(max_length=40)
    hex = models.CharField(max_length=7, validators=[hex_color_validator])
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["product", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["product", "name"], name="base_color_unique_name"),
            models.CheckConstraint(condition=Q(hex__regex=r"^#[0-9A-Fa-f]{6}$"), name="base_color_hex"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.hex})"


class Cart(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="cart"
    )
    session_key = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"Cart {self.pk} ({self.user or self.session_key or 'anonymous'})"

    @property
    def total(self) -> Decimal:
        return sum((line.line_total for line in self.lines.all()), Decimal("0"))


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="cart_lines")
    base_color = models.ForeignKey(BaseColor, on_delete=models.CASCADE, related_name="cart_lines")
    quantity = models.PositiveIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(99)]
    )
    # A personalized line points at one generated variation; such lines never merge.
    design = models.ForeignKey(
        "personalization.GenerationImage",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cart_lines",
    )
    # The text or monogram the customer set on the design (personalization.artwork.TextLayer
    # .as_dict(), validated by the plugin); {} for none. Frozen onto the order line at checkout.
    text_layer = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1) & Q(quantity__lte=99), name="cart_line_quantity"
            )
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product}"

    @property
    def line_total(self) -> Decimal:
        return self.product.price * self.quantity


class Order(models.Model):
    class Status(models.TextChoices):
        AWAITING_PAYMENT = "awaiting_payment", "Awaiting payment"
        PAID = "paid", "Paid"
        IN_PRODUCTION = "in_production", "In production"
        SHIPPED = "shipped", "Shipped"
        CANCELLED = "cancelled", "Cancelled"

    number = models.CharField(max_length=20, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="orders"
    )
    session_key = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.AWAITING_PAYMENT)
    full_name = models.CharField(max_length=120)
    email = models.EmailField()
    address_line1 = models.CharField(max_length=200)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    postcode = models.CharField(max_length=20)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 code, e.g. GB")
    total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    # The checkout form's one-time token: submitting the same checkout twice creates one order.
    checkout_token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The cart this order was placed from: a cart becomes at most one order, whatever the tokens.
    cart = models.ForeignKey(
        "Cart", on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="orders"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(total__gte=0), name="order_total_gte_0")]

    def __str__(self) -> str:
        return f"Order {self.number}"

    def get_absolute_url(self) -> str:
        return reverse("shop:order", kwargs={"number": self.number})


class OrderLine(models.Model):
    """A placed line: price and product facts are frozen copies. Its personalization is frozen by
    the plugin in personalization.LineDesign (``line.design``)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="order_lines"
    )
    product_name = models.CharField(max_length=120)
    product_slug = models.CharField(max_length=120)
    product_type = models.CharField(max_length=60)
    base_color_name = models.CharField(max_length=40)
    base_color_hex = models.CharField(max_length=7)
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_line_quantity_gte_1"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="order_line_price_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_name}"

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity
