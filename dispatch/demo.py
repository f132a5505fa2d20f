"""Demo data: a MOCK config on every channel for the tenant, so `make run` shows activities leaving. Idempotent.

The message channels' MOCK configs report delivery receipts by themselves (SPEC 6.2: `receiptDelayMs`,
`receiptFailureRate`), so the demo's messages reach COMPLETED, or FAILED, without anyone posting a receipt.
"""
from activities.models import Channel
from dispatch.models import DispatchConfig, DispatchProvider
from dispatch.services import dispatch_config_create

MOCK_SETTINGS = {"failureRate": 0.1, "latencyMs": 50}
TASK_CHANNELS = (Channel.SALESMAN, Channel.CALLCENTER)
MOCK_RECEIPT_SETTINGS = {"receiptDelayMs": 3000, "receiptFailureRate": 0.15}


def mock_settings(channel):
    if channel in TASK_CHANNELS:
        return dict(MOCK_SETTINGS)
    return {**MOCK_SETTINGS, **MOCK_RECEIPT_SETTINGS}


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
                               settings=mock_settings(channel))
        created += 1
    upgraded = _add_receipts_to_older_mock_configs(tenant)
    stdout.write(f"dispatch: {created} MOCK config(s) created, {len(active)} channel(s) already configured"
                 + (f", {upgraded} now report delivery receipts" if upgraded else ""))


def _add_receipts_to_older_mock_configs(tenant):
    """MOCK message configs seeded before receipts existed get the receipt settings once (never overwritten)."""
    upgraded = 0
    for config in (DispatchConfig.objects.for_tenant(tenant)
                   .filter(is_active=True, provider__code="MOCK").exclude(channel__in=TASK_CHANNELS)):
        if "receiptDelayMs" in (config.settings or {}):
            continue
        config.settings = {**(config.settings or {}), **MOCK_RECEIPT_SETTINGS}
        config.save(update_fields=["settings", "updated_at"])
        upgraded += 1
    return upgraded
