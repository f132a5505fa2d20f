"""MOCK's delivery receipts (SPEC 6.2): a MOCK config with `receiptDelayMs` reports, for each MESSAGE it accepted,
a SENT receipt and then DELIVERED (or, with probability `receiptFailureRate`, UNDELIVERED) once the delay has
passed since the dispatch, through the same receipt service a real provider's post reaches.

No network and no thread: it is a step at the end of every dispatcher pass (command, `--loop`, Celery), so a
receipt arrives at the first pass after its delay. It is idempotent by construction: it only looks at DISPATCHED
messages, and the receipts it sends close them.
"""
import random
from datetime import timedelta

from django.utils import timezone

from activities.models import Activity, ActivityStatus, ActivityType, ReceiptStatus
from activities.services import delivery_receipts_submit
from activities.services.receipts import MAX_BATCH_RECEIPTS
from dispatch.models import DispatchConfig
from tenants.actors import SYSTEM

MOCK_CODE = "MOCK"
FAILURE_CODE = "MOCK_UNDELIVERED"


def _number(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0 else None


def _receipt_configs(tenant_id):
    configs = DispatchConfig.objects.filter(provider__code=MOCK_CODE).select_related("tenant")
    if tenant_id is not None:
        configs = configs.filter(tenant_id=tenant_id)
    return [config for config in configs if _number((config.settings or {}).get("receiptDelayMs")) is not None]


def report_mock_receipts(*, tenant_id=None, now=None) -> int:
    """Send the receipts that are due; returns how many were stored."""
    now = now or timezone.now()
    stored = 0
    for config in _receipt_configs(tenant_id):
        delay = timedelta(milliseconds=_number(config.settings["receiptDelayMs"]))
        failure_rate = min(1.0, _number(config.settings.get("receiptFailureRate")) or 0.0)
        due = list(Activity.objects.filter(dispatch_config=config, type=ActivityType.MESSAGE,
                                           status=ActivityStatus.DISPATCHED, dispatched_at__lte=now - delay)
                   .order_by("dispatched_at").values_list("id", "dispatched_at")[:MAX_BATCH_RECEIPTS // 2])
        items = []
        for activity_id, dispatched_at in due:
            items.append({"activity_id": activity_id, "status": ReceiptStatus.SENT, "occurred_at": dispatched_at,
                          "raw_payload": {"source": "MOCK"}})
            if random.random() < failure_rate:
                items.append({"activity_id": activity_id, "status": ReceiptStatus.UNDELIVERED,
                              "occurred_at": dispatched_at + delay, "error_code": FAILURE_CODE,
                              "error_message": f"MOCK simulated undelivered message (receiptFailureRate "
                                               f"{failure_rate:g})", "raw_payload": {"source": "MOCK"}})
            else:
                items.append({"activity_id": activity_id, "status": ReceiptStatus.DELIVERED,
                              "occurred_at": dispatched_at + delay, "raw_payload": {"source": "MOCK"}})
        if items:
            outcomes = delivery_receipts_submit(tenant=config.tenant, actor=SYSTEM, items=items)
            stored += sum(1 for outcome in outcomes if outcome.created)
    return stored
