from rest_framework import serializers

from activities.models import Channel
from dispatch.models import AttemptOutcome, ProtocolType
from dispatch.schemas import FIELD_TYPES
from reten.api.serializers import StrictSerializer


class SchemaFieldSerializer(StrictSerializer):
    key = serializers.CharField(max_length=100)
    label = serializers.CharField(max_length=255, required=False, allow_blank=True)
    type = serializers.ChoiceField(choices=FIELD_TYPES)
    required = serializers.BooleanField(required=False, default=False)


# --- providers and channel definitions ---

class ProviderChannelDefinitionSerializer(serializers.Serializer):
    channel = serializers.CharField()
    credential_schema = SchemaFieldSerializer(many=True)
    settings_schema = SchemaFieldSerializer(many=True)


class ProviderSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    code = serializers.CharField()
    name = serializers.CharField()
    protocol_type = serializers.ChoiceField(choices=ProtocolType.choices)
    is_active = serializers.BooleanField()
    channel_definitions = ProviderChannelDefinitionSerializer(many=True)


class ProviderCreateSerializer(StrictSerializer):
    code = serializers.RegexField(r"^[A-Za-z0-9_.-]+$", max_length=64,
                                  error_messages={"invalid": "Letters, digits, '_', '-' and '.' only."})
    name = serializers.CharField(max_length=255)
    protocol_type = serializers.ChoiceField(choices=ProtocolType.choices)


class ProviderUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=255, required=False)
    protocol_type = serializers.ChoiceField(choices=ProtocolType.choices, required=False)
    is_active = serializers.BooleanField(required=False)


class ChannelDefinitionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    dispatch_provider_id = serializers.UUIDField(source="provider_id")
    channel = serializers.ChoiceField(choices=Channel.choices)
    credential_schema = SchemaFieldSerializer(many=True)
    settings_schema = SchemaFieldSerializer(many=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ChannelDefinitionCreateSerializer(StrictSerializer):
    channel = serializers.ChoiceField(choices=Channel.choices)
    credential_schema = SchemaFieldSerializer(many=True, required=False, default=list)
    settings_schema = SchemaFieldSerializer(many=True, required=False, default=list)


class ChannelDefinitionUpdateSerializer(StrictSerializer):
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    credential_schema = SchemaFieldSerializer(many=True, required=False)
    settings_schema = SchemaFieldSerializer(many=True, required=False)


# --- dispatch configs ---

class ProviderBriefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class DispatchConfigSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    dispatch_provider_id = serializers.UUIDField(source="provider_id")
    channel = serializers.ChoiceField(choices=Channel.choices)
    base_url = serializers.CharField()
    settings = serializers.DictField(help_text="Non-secret settings, as stored.")
    is_active = serializers.BooleanField()
    credential_keys = serializers.ListField(child=serializers.CharField(),
                                            help_text="Names of the stored credentials; never their values.")
    dispatch_provider = ProviderBriefSerializer(source="provider")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class DispatchConfigCreatedSerializer(DispatchConfigSerializer):
    callback_secret = serializers.CharField(
        source="new_callback_secret",
        help_text="The Standard Webhooks secret (whsec_...) for POST /api/dispatch-callbacks/:id. Shown only "
                  "now: store it; rotate-callback-secret replaces it.")


class CallbackSecretSerializer(serializers.Serializer):
    callback_secret = serializers.CharField(help_text="The new secret, shown only now; the old one stopped working.")


class DispatchConfigCreateSerializer(StrictSerializer):
    dispatch_provider_id = serializers.UUIDField()
    channel = serializers.ChoiceField(choices=Channel.choices)
    base_url = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    credentials = serializers.DictField(required=False, default=dict,
                                        help_text="Validated against the channel definition; stored encrypted.")
    settings = serializers.DictField(required=False, default=dict)


class DispatchConfigUpdateSerializer(StrictSerializer):
    base_url = serializers.CharField(max_length=500, required=False, allow_blank=True)
    credentials = serializers.DictField(required=False, help_text="Replaces every stored credential.")
    settings = serializers.DictField(required=False, help_text="Replaces the stored settings.")
    is_active = serializers.BooleanField(required=False)


class DispatchConfigTestSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    status_code = serializers.IntegerField(required=False)
    error = serializers.CharField(required=False, help_text="Reten's own words; never the provider's response body.")
    error_code = serializers.CharField(
        required=False, help_text="PROVIDER_HTTP_<status>, TIMEOUT, CONNECTION_REFUSED, URL_NOT_ALLOWED...")
    latency_ms = serializers.IntegerField()


class DispatchAttemptSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    activity_id = serializers.UUIDField()
    attempt = serializers.IntegerField()
    dispatch_config_id = serializers.UUIDField(allow_null=True)
    started_at = serializers.DateTimeField()
    duration_ms = serializers.IntegerField()
    outcome = serializers.ChoiceField(choices=AttemptOutcome.choices)
    http_status = serializers.IntegerField(allow_null=True)
    error_code = serializers.CharField()
    error_message = serializers.CharField(help_text="Reten's words (credentials masked), never the provider's body.")
    provider_activity_id = serializers.CharField(allow_null=True)
