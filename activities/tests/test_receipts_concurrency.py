"""Delivery receipts under real concurrency (PostgreSQL only): one row, one transition, one set of events."""
import pytest

from activities.models import Activity, DeliveryReceipt, StatusEvent
from activities.tests.factories import commerce_with_rep, make_activity
from activities.tests.test_concurrency import race
from conftest import Api
from tenants.services import api_key_create
from tenants.tests.factories import TenantFactory, member

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
URL = "/api/integration/delivery-receipts"
BATCH_URL = "/api/integration/delivery-receipts/batch"


@pytest.fixture
def world():
    tenant = TenantFactory()
    admin = member(tenant, "ADMIN")
    _, plaintext = api_key_create(tenant=tenant, creator=admin, name="race", permissions=["SUBMIT_ACTIVITY_RESULT"])
    message = make_activity(commerce_with_rep(tenant))
    Activity.objects.filter(pk=message.pk).update(status="DISPATCHED", provider_activity_id="wamid.race")
    return plaintext, message


def trail(activity):
    return list(StatusEvent.objects.filter(activity=activity).order_by("occurred_at")
                .values_list("event_type", flat=True))


def post_all(plaintext, url, bodies):
    clients = [Api(api_key=plaintext) for _ in bodies]
    responses = race(*[lambda c=c, b=b: c.post(url, b) for c, b in zip(clients, bodies, strict=True)])
    assert all(not isinstance(r, Exception) for r in responses), responses
    return responses


def test_the_same_receipt_posted_20_times_at_once_is_one_row_and_one_transition(world):
    plaintext, message = world
    body = {"activity_id": str(message.pk), "status": "DELIVERED", "occurred_at": "2025-01-16T12:00:00Z"}

    responses = post_all(plaintext, URL, [body] * 20)

    assert sorted(r.status_code for r in responses) == [200] * 19 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert DeliveryReceipt.objects.filter(activity=message).count() == 1
    assert Activity.objects.get(pk=message.pk).status == "COMPLETED"
    assert trail(message) == ["CREATED", "DELIVERY_RECEIPT", "COMPLETED"]


def test_a_delivery_and_a_bounce_at_once_end_in_one_legal_state(world):
    plaintext, message = world
    delivered = {"provider_activity_id": "wamid.race", "status": "DELIVERED", "occurred_at": "2025-01-16T12:00:00Z"}
    bounced = {"activity_id": str(message.pk), "status": "BOUNCED", "occurred_at": "2025-01-16T12:00:01Z"}

    responses = post_all(plaintext, BATCH_URL, [{"items": [delivered]}, {"items": [bounced]}] * 5)

    assert sum(r.json()["created"] for r in responses) == 2
    final = Activity.objects.get(pk=message.pk).status
    assert final in ("COMPLETED", "FAILED")
    closing = "COMPLETED" if final == "COMPLETED" else "EXECUTION_FAILED"
    assert trail(message) == ["CREATED", "DELIVERY_RECEIPT", closing, "DELIVERY_RECEIPT"]
    assert DeliveryReceipt.objects.filter(activity=message).count() == 2
