"""Providers and channel definitions (global) and per-tenant dispatch configs (SPEC 5.1, 5.2)."""
import uuid

from django.db import models
from django.db.models import Q

from activities.models import Channel
from reten.models import TenantOwnedModel, TimestampedModel


class ProtocolType(models.TextChoices):
    REST = "REST"
    WEBHOOK = "WEBHOOK"
    EMAIL = "EMAIL"
    SMS = "SMS"
    WSP = "WSP"


class DispatchProvider(TimestampedModel):
    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=255)
    protocol_type = models.CharField(max_length=16, choices=ProtocolType.choices)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return f"{self.name} ({self.code})"


class ChannelDefinition(TimestampedModel):
    """What a provider needs to serve one channel: lists of {key, label, type, required}."""

    provider = models.ForeignKey(DispatchProvider, on_delete=models.CASCADE, related_name="channel_definitions")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    credential_schema = models.JSONField(default=list, blank=True)
    settings_schema = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["channel"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "channel"], name="channel_definition_provider_channel_unique"),
        ]

    def __str__(self):
        return f"{self.provider.code}/{self.channel}"


class DispatchConfig(TenantOwnedModel):
    """A tenant's provider set-up for one channel. Credentials are AES-256-GCM ciphertext only."""

    provider = models.ForeignKey(DispatchProvider, on_delete=models.PROTECT, related_name="configs")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    base_url = models.URLField(max_length=500, blank=True)
    credentials_encrypted = models.TextField(blank=True, default="", help_text="keyid:nonce:ciphertext")
    credential_keys = models.JSONField(default=list, blank=True, help_text="Names only, for display.")
    # SPEC 6.2: the Standard Webhooks secret providers sign delivery-receipt callbacks with, encrypted like the
    # credentials (dispatch.crypto); shown once, at creation or rotation.
    callback_secret_encrypted = models.TextField(blank=True, default="", editable=False,
                                                 help_text="keyid:nonce:ciphertext")
    settings = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["channel", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "channel"], name="dispatch_config_one_active_per_channel",
                                    condition=Q(is_active=True)),
        ]

    def __str__(self):
        return f"{self.provider.code}/{self.channel} for {self.tenant_id}"


class AttemptOutcome(models.TextChoices):
    ACCEPTED = "ACCEPTED"
    RETRYABLE = "RETRYABLE"
    PERMANENT = "PERMANENT"
    TIMEOUT = "TIMEOUT"
    CONNECTION = "CONNECTION"


class DispatchAttempt(models.Model):
    """One provider call for one activity (SPEC 11.1), written with the outcome it led to, in the same batch."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    activity = models.ForeignKey("activities.Activity", on_delete=models.CASCADE, related_name="dispatch_attempts")
    attempt = models.PositiveIntegerField()
    dispatch_config = models.ForeignKey(DispatchConfig, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="attempts")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=16, choices=AttemptOutcome.choices)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    provider_activity_id = models.CharField(max_length=255, null=True, blank=True)

    class Meta:
        ordering = ["started_at"]
        indexes = [models.Index(fields=["activity", "started_at"], name="dispatch_attempt_activity_idx")]

    def __str__(self):
        return f"attempt {self.attempt} {self.outcome} ({self.activity_id})"
