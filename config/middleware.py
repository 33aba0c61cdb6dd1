"""Project-wide request hygiene."""

from django.http import HttpResponseBadRequest, JsonResponse

NUL_MESSAGE = "The request contains a NUL character (\\x00), which no field accepts."


class RejectNulCharactersMiddleware:
    """Answer 400 when the path or the query string holds a NUL character.

    Forms and serializers already refuse NUL in fields; query parameters go straight into database
    filters, and PostgreSQL refuses NUL in text (a 500). One rule here covers every view."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
        ):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": NUL_MESSAGE}, status=400)
            return HttpResponseBadRequest(NUL_MESSAGE)
        return self.get_response(request)
