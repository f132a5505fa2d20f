from rest_framework import serializers

from reten.api.serializers import StrictSerializer
from webhooks.models import DeliveryStatus
from webhooks.services.outbox import EVENT_TYPES


class WebhookEndpointSerializer(serializers.Serializer):
    """An endpoint as every read returns it: never its secret."""

    id = serializers.UUIDField()
    url = serializers.CharField()
    description = serializers.CharField()
    event_types = serializers.ListField(child=serializers.CharField(), help_text="Empty: every event type.")
    is_active = serializers.BooleanField()
    disabled_reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(help_text="whsec_...: shown once, on create and on rotate-secret.")


class WebhookEndpointCreateSerializer(StrictSerializer):
    url = serializers.CharField(max_length=500)
    description = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPES), required=False,
                                        default=list, max_length=len(EVENT_TYPES) * 2)
    is_active = serializers.BooleanField(required=False, default=True)


class WebhookEndpointUpdateSerializer(StrictSerializer):
    url = serializers.CharField(max_length=500, required=False)
    description = serializers.CharField(max_length=255, required=False, allow_blank=True)
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPES), required=False,
                                        max_length=len(EVENT_TYPES) * 2)
    is_active = serializers.BooleanField(required=False)


class WebhookTestSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    status_code = serializers.IntegerField(required=False)
    error = serializers.CharField(required=False, help_text="Reten's own words; never the receiver's body.")
    latency_ms = serializers.IntegerField()


class WebhookDeliverySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    endpoint_id = serializers.UUIDField()
    event_id = serializers.CharField()
    event_type = serializers.CharField()
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class WebhookDeliveryFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=DeliveryStatus.choices, required=False)
    event_type = serializers.ChoiceField(choices=[*EVENT_TYPES], required=False)
