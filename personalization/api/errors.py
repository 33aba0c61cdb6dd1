"""The plugin's own error body; the shared ones (400, 401, 403, 404, 409, 429) are in
``apikit.errors``.

- 422 (policy rejection of a design): ``{"code": "...", "message": "...", "id": "<uuid>"}``
"""

from rest_framework import serializers


class PolicyRejectionSerializer(serializers.Serializer):
    """422: the design request breaks the content policy; the rejected request is kept under ``id``."""

    code = serializers.CharField(help_text="banned_term, trademark or protected_name")
    message = serializers.CharField()
    id = serializers.UUIDField()
