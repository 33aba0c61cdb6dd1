from django.conf import settings
from django.db import models


class IdempotencyKey(models.Model):
    """A stored API response for an ``Idempotency-Key`` header, per user."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idempotency_keys"
    )
    key = models.CharField(max_length=255)
    scope = models.CharField(max_length=60)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # The table (and its constraint) predate this app: the model moved here from
        # ``personalization`` without touching the database (see both apps' migrations).
        db_table = "personalization_idempotencykey"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "scope", "key"], name="idempotency_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"
