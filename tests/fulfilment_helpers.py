"""An order ready for print-on-demand export: a personalized line on a 200 x 85 mm print area (a
mug wrap at 300 dpi) whose print file is rendered by the real print job, and a plain line."""

from django.core.files.base import ContentFile

from personalization.models import GenerationImage, GenerationRequest, LineDesign
from personalization.print_jobs import line_design_render_print_file
from shop.models import Category, Order
from tests.factories import make_category, make_product
from tests.foundation_helpers import make_generation, make_order, png_bytes

# 200 x 85 mm + 2 x 3 mm bleed at 300 dpi: 206 / 25.4 * 300 = 2433.07 -> 2433 px,
# 91 / 25.4 * 300 = 1074.80 -> 1075 px.
AREA_MM = (200, 85)
PRINT_PX = (2433, 1075)


def make_mug(*, brand=None):
    category = Category.objects.filter(slug="kitchen-items").first() or make_category(
        name="Kitchen items", slug="kitchen-items"
    )
    return make_product(
        brand=brand,
        category=category,
        name="Mug",
        product_type="mug",
        print_width_mm=AREA_MM[0],
        print_height_mm=AREA_MM[1],
        print_dpi=300,
        min_dpi=150,
        safe_margin_mm=5,
    )


def make_export_order(*, brand=None, render: bool = True, design_size=(64, 64)) -> Order:
    """An order with a plain line and a personalized line (its design, ``design_size`` pixels,
    frozen by the checkout's service); ``render``: the print job has written its print files."""
    product = make_mug(brand=brand)
    generation = make_generation(product, status=GenerationRequest.Status.SUCCEEDED, progress_step=25)
    width, height = design_size
    image = GenerationImage(request=generation, index=0, seed=generation.seed, width=width, height=height)
    image.image.save("design.png", ContentFile(png_bytes("#AA3355", size=design_size)), save=False)
    image.mockup.save("mockup.png", ContentFile(png_bytes("#DDDDDD", size=(64, 64))), save=False)
    image.save()
    order = make_order(product, design=image)
    if render:
        line_design_render_print_file(design_id=order_design(order).pk)
    return order


def order_design(order: Order) -> LineDesign:
    return LineDesign.objects.get(order_line__order=order)
