from rest_framework.parsers import JSONParser as StrictJSONParser


class JSONParser(StrictJSONParser):
    """Reads ``NaN`` and ``Infinity`` as floats instead of failing the whole body, so that the
    serializer rejects them on the field they were sent in (``{"steps": ["A valid integer is
    required."]}``). Every numeric field of the API refuses non-finite numbers."""

    strict = False
