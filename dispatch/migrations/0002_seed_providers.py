"""Seed the YOM and MOCK providers with their channel definitions (SPEC 5.1). Idempotent."""
from django.db import migrations

ALL_CHANNELS = ["SALESMAN", "CALLCENTER", "WHATSAPP", "EMAIL", "SMS", "PUSH"]
YOM_CREDENTIALS = [{"key": "apiKey", "label": "API key", "type": "password", "required": True}]
MOCK_SETTINGS = [
    {"key": "failureRate", "label": "Failure rate (0 to 1)", "type": "number", "required": False},
    {"key": "latencyMs", "label": "Latency (ms)", "type": "number", "required": False},
]

PROVIDERS = [
    ("YOM", "YOM", "REST", {channel: (YOM_CREDENTIALS, []) for channel in ("SALESMAN", "CALLCENTER")}),
    ("MOCK", "Mock provider", "REST", {channel: ([], MOCK_SETTINGS) for channel in ALL_CHANNELS}),
]


def seed(apps, schema_editor):
    DispatchProvider = apps.get_model("dispatch", "DispatchProvider")
    ChannelDefinition = apps.get_model("dispatch", "ChannelDefinition")
    for code, name, protocol_type, definitions in PROVIDERS:
        provider, _ = DispatchProvider.objects.get_or_create(
            code=code, defaults={"name": name, "protocol_type": protocol_type, "is_active": True}
        )
        for channel, (credential_schema, settings_schema) in definitions.items():
            ChannelDefinition.objects.get_or_create(
                provider=provider, channel=channel,
                defaults={"credential_schema": credential_schema, "settings_schema": settings_schema},
            )


class Migration(migrations.Migration):
    dependencies = [("dispatch", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
