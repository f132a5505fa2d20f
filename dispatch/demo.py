"""Demo data: a MOCK config on every channel for the tenant, so `make run` shows activities leaving. Idempotent."""
from activities.models import Channel
from dispatch.models import DispatchConfig, DispatchProvider
from dispatch.services import dispatch_config_create

MOCK_SETTINGS = {"failureRate": 0.1, "latencyMs": 50}


def seed(*, tenant, stdout):
    mock = DispatchProvider.objects.filter(code="MOCK").first()
    if mock is None:
        stdout.write("dispatch: the MOCK provider is missing (run migrations); no configs seeded")
        return
    active = set(DispatchConfig.objects.for_tenant(tenant).filter(is_active=True).values_list("channel", flat=True))
    created = 0
    for channel in Channel.values:
        if channel in active:
            continue
        dispatch_config_create(tenant=tenant, dispatch_provider_id=mock.pk, channel=channel,
                               settings=dict(MOCK_SETTINGS))
        created += 1
    stdout.write(f"dispatch: {created} MOCK config(s) created, {len(active)} channel(s) already configured")
