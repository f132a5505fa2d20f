"""SPEC 14: reten_webhook_deliveries_total{outcome} counts each recorded delivery attempt by its outcome."""
import pytest
from prometheus_client import REGISTRY

from webhooks.services.delivery import deliver_pass
from webhooks.tests import factories

pytestmark = pytest.mark.django_db
OUTCOMES = ("delivered", "retrying", "failed", "superseded")


def counts():
    return {outcome: REGISTRY.get_sample_value("reten_webhook_deliveries_total", {"outcome": outcome}) or 0
            for outcome in OUTCOMES}


def grew(before):
    after = counts()
    return {outcome: after[outcome] - before[outcome] for outcome in OUTCOMES if after[outcome] != before[outcome]}


def test_delivered_attempts_are_counted(receiver, tenant):
    endpoint = factories.endpoint(tenant, url=receiver.url)
    factories.delivery(endpoint)
    factories.delivery(endpoint)
    before = counts()
    assert deliver_pass().delivered == 2
    assert grew(before) == {"delivered": 2}
    deliver_pass()  # nothing due: nothing counted
    assert grew(before) == {"delivered": 2}


def test_a_failed_attempt_counts_as_retrying_then_the_last_as_failed(receiver, tenant, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    receiver.set("error")
    endpoint = factories.endpoint(tenant, url=receiver.url)
    delivery = factories.delivery(endpoint)
    before = counts()
    assert deliver_pass().retrying == 1
    assert grew(before) == {"retrying": 1}
    type(delivery).objects.filter(pk=delivery.pk).update(next_attempt_at=None)  # due again now
    assert deliver_pass().failed == 1
    assert grew(before) == {"retrying": 1, "failed": 1}
