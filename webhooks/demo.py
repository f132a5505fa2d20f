"""Demo webhook endpoints: examples to look at, inactive, so the demo never calls anyone's system."""
from reten.errors import ValidationFailed
from webhooks.models import WebhookEndpoint
from webhooks.services.endpoints import endpoint_create

DEMO_ENDPOINTS = [
    ("https://crm.example.com/reten/webhooks", "CRM: every event (example; inactive)", []),
    ("https://warehouse.example.com/hooks/reten", "Warehouse: closed activities only (example; inactive)",
     ["activity.completed", "activity.failed", "activity.canceled"]),
]


def seed(*, tenant, stdout):
    made = 0
    for url, description, event_types in DEMO_ENDPOINTS:
        if WebhookEndpoint.objects.for_tenant(tenant).filter(url=url).exists():
            continue
        try:
            endpoint_create(tenant=tenant, url=url, description=description, event_types=event_types,
                            is_active=False)
        except ValidationFailed as exc:  # the same URL rules as the API: offline, example.com may not resolve
            stdout.write(f"Webhook endpoint example {url} skipped: {exc.message}")
            continue
        made += 1
    stdout.write(f"Webhook endpoints: {made} example(s) created, inactive (PATCH isActive: true after pointing "
                 f"one at your own receiver; rotate-secret shows a secret)")
