"""Webhooks to tenants (SPEC 13): the endpoints a tenant registers and the outbox of deliveries to them."""
import uuid

from django.db import models
from django.db.models import Q

from reten.models import TenantOwnedModel


class WebhookEndpoint(TenantOwnedModel):
    """Where a tenant wants to hear about its activities. The signing secret is AES-256-GCM ciphertext only."""

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=255, blank=True, default="")
    event_types = models.JSONField(default=list, blank=True, help_text="Empty: every event type.")
    is_active = models.BooleanField(default=True)
    secret_encrypted = models.TextField(help_text="keyid:nonce:ciphertext of the whsec_... secret")
    disabled_reason = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "is_active"], name="webhook_endpoint_active")]

    def __str__(self):
        return f"{self.url} ({self.tenant_id})"

    def wants(self, event_type):
        return not self.event_types or event_type in self.event_types


class DeliveryStatus(models.TextChoices):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


class WebhookDelivery(models.Model):
    """One event for one endpoint. `event_id` is the webhook-id header: the same on every attempt."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=64)
    event_type = models.CharField(max_length=64)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The claim: PENDING rows whose next_attempt_at has come, oldest first.
            models.Index(fields=["next_attempt_at", "created_at"], name="webhook_delivery_due",
                         condition=Q(status="PENDING")),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_endpoint"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_one_per_event"),
        ]

    def __str__(self):
        return f"{self.event_type} {self.event_id} -> {self.endpoint_id} ({self.status})"
