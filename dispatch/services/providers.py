"""Providers and channel definitions: global to the platform, changed only by super admins (SPEC 5.1)."""
from django.db import IntegrityError, transaction

from dispatch.models import ChannelDefinition, DispatchConfig, DispatchProvider
from dispatch.schemas import normalize_schema
from reten.errors import Conflict


def provider_create(*, code, name, protocol_type):
    code = code.strip()
    if DispatchProvider.objects.filter(code__iexact=code).exists():
        raise Conflict(f"A dispatch provider with code {code!r} already exists")
    try:
        with transaction.atomic():
            return DispatchProvider.objects.create(code=code, name=name.strip(), protocol_type=protocol_type)
    except IntegrityError:
        raise Conflict(f"A dispatch provider with code {code!r} already exists") from None


def provider_update(*, provider, data):
    fields = []
    for field in ("name", "protocol_type", "is_active"):
        if field in data:
            setattr(provider, field, data[field].strip() if field == "name" else data[field])
            fields.append(field)
    if fields:
        provider.save(update_fields=[*fields, "updated_at"])
    return provider


def channel_definition_create(*, provider, channel, credential_schema=None, settings_schema=None):
    credential_schema = normalize_schema(credential_schema, field_name="credential_schema")
    settings_schema = normalize_schema(settings_schema, field_name="settings_schema")
    if ChannelDefinition.objects.filter(provider=provider, channel=channel).exists():
        raise Conflict(f"Provider {provider.code} already defines channel {channel}")
    try:
        with transaction.atomic():
            return ChannelDefinition.objects.create(provider=provider, channel=channel,
                                                    credential_schema=credential_schema,
                                                    settings_schema=settings_schema)
    except IntegrityError:
        raise Conflict(f"Provider {provider.code} already defines channel {channel}") from None


def channel_definition_update(*, definition, data):
    fields = []
    if "channel" in data and data["channel"] != definition.channel:
        taken = ChannelDefinition.objects.filter(provider_id=definition.provider_id, channel=data["channel"])
        if taken.exclude(pk=definition.pk).exists():
            raise Conflict(f"This provider already defines channel {data['channel']}")
        if _configs_using(definition).exists():
            raise Conflict("Active dispatch configs use this channel definition; its channel cannot change")
        definition.channel = data["channel"]
        fields.append("channel")
    for field in ("credential_schema", "settings_schema"):
        if field in data:
            setattr(definition, field, normalize_schema(data[field], field_name=field))
            fields.append(field)
    if fields:
        definition.save(update_fields=[*fields, "updated_at"])
    return definition


def _configs_using(definition):
    return DispatchConfig.objects.filter(provider_id=definition.provider_id, channel=definition.channel,
                                         is_active=True)


def channel_definition_delete(*, definition):
    in_use = _configs_using(definition).count()
    if in_use:
        raise Conflict(f"{in_use} active dispatch config(s) use this channel definition; deactivate them first")
    definition.delete()
