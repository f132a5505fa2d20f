"""Real delivery workers (the dispatcher loop's webhook pass step) against the test database on PostgreSQL."""
import signal
from collections import Counter

import pytest

from dispatch.tests.test_concurrency_postgres import start_dispatcher, stop, wait_until
from tenants.tests.factories import TenantFactory
from webhooks.models import DeliveryStatus, WebhookDelivery
from webhooks.tests import factories

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def pending_deliveries(endpoint, count, prefix):
    rows = [WebhookDelivery(endpoint=endpoint, event_id=f"evt_{prefix}_{n}", event_type="activity.created",
                            payload={"id": f"evt_{prefix}_{n}", "type": "activity.created", "sequence": 1})
            for n in range(count)]
    WebhookDelivery.objects.bulk_create(rows)
    return {row.event_id for row in rows}


def undelivered():
    return WebhookDelivery.objects.exclude(status=DeliveryStatus.DELIVERED).count()


def test_four_workers_deliver_each_webhook_exactly_once(receiver):
    event_ids = set()
    for n in range(4):
        endpoint = factories.endpoint(TenantFactory(), url=f"{receiver.url}/tenant-{n}")
        event_ids |= pending_deliveries(endpoint, 500, f"t{n}")
    assert len(event_ids) == 2000

    processes = [start_dispatcher(WEBHOOK_BATCH_SIZE=40, WEBHOOK_CONCURRENCY=6) for _ in range(4)]
    try:
        drained = wait_until(lambda: undelivered() == 0, timeout=180, step=0.25)
    finally:
        outputs = stop(processes)

    assert drained, f"{undelivered()} deliveries not delivered"
    assert [process.returncode for process in processes] == [0, 0, 0, 0], outputs
    passes_with_work = [sum("Webhook pass: claimed=" in line for line in out.splitlines()) for out, _ in outputs]
    assert sum(1 for count in passes_with_work if count) >= 2, "the work was not shared between processes"
    received = Counter(r.headers["webhook-id"] for r in receiver.requests)
    assert received == Counter(dict.fromkeys(event_ids, 1))
    assert set(WebhookDelivery.objects.values_list("attempts", flat=True)) == {1}
    assert not WebhookDelivery.objects.filter(next_attempt_at__isnull=False).exists()


def test_a_killed_worker_loses_nothing_and_resends_with_the_same_webhook_id(receiver):
    endpoint = factories.endpoint(TenantFactory(), url=receiver.url)
    event_ids = pending_deliveries(endpoint, 300, "kill")
    receiver.set("accept", latency=0.03)
    env = {"WEBHOOK_BATCH_SIZE": 50, "WEBHOOK_CONCURRENCY": 4, "WEBHOOK_LEASE_SECONDS": 3,
           "WEBHOOK_HTTP_TIMEOUT": 1}

    first = start_dispatcher(**env)
    try:
        assert wait_until(lambda: len(receiver.requests) >= 80, timeout=60, step=0.02)
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
    assert first.returncode == -signal.SIGKILL
    sent_before_kill = {r.headers["webhook-id"] for r in receiver.requests}
    claimed_unrecorded = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, attempts=1).count()
    assert undelivered() > 0 and claimed_unrecorded > 0  # it really died mid-pass

    second = start_dispatcher(**env)
    try:
        drained = wait_until(lambda: undelivered() == 0, timeout=120, step=0.2)
    finally:
        outputs = stop([second])
    assert drained, outputs

    received = Counter(r.headers["webhook-id"] for r in receiver.requests)
    assert set(received) == event_ids
    resent = {event_id for event_id, count in received.items() if count > 1}
    assert resent and resent <= sent_before_kill
    attempts = dict(WebhookDelivery.objects.values_list("event_id", "attempts"))
    assert all(attempts[event_id] == 2 for event_id in resent)
