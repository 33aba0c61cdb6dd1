"""The oscar host's one view: "add this design to the basket" from the plugin's design page."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from personalization import interface

from .integration import basket_add_design, own_design


@require_POST
def basket_add(request):
    """POST generation (the design's id) and image (the variation's index). Success: to oscar's
    basket. A design that may not be ordered (held for review, not finished, not the visitor's):
    back to the design's page with the reason, nothing added."""
    generation_id = request.POST.get("generation", "")
    session_key = interface.visitor_session_key(request)
    try:
        image = own_design(
            generation_id=generation_id,
            image_index=request.POST.get("image", "0"),
            user=request.user,
            session_key=session_key,
        )
        basket_add_design(basket=request.basket, image=image, session_key=session_key)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        if generation_id and "No such design." not in exc.messages:
            return redirect(reverse("personalization:job", args=[generation_id]))
        return redirect(reverse("basket:summary"))
    messages.success(request, f"Your design of {image.request.product.get_title()} is in your basket.")
    return redirect(reverse("basket:summary"))
