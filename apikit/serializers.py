"""Serializer pieces every API of the project shares."""

from urllib.parse import urlsplit

from rest_framework import serializers


def absolute_url(request, file) -> str | None:
    """The file's URL, absolute: storages such as S3 already answer one; local storage a path."""
    if not file:
        return None
    url = file.url
    if request is None or urlsplit(url).scheme:
        return url
    return request.build_absolute_uri(url)


class StrictCharField(serializers.CharField):
    """A string field that refuses numbers and booleans instead of turning them into text."""

    default_error_messages = {"invalid": "Not a valid string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
