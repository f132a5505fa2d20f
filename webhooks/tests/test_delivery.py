"""Delivery (SPEC 13) against real HTTP receivers on 127.0.0.1: signing, retries on the schedule, FAILED, disabling."""
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from dispatch.tests.stub_provider import closed_port_url
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from webhooks.services.delivery import BACKOFF_SCHEDULE, deliver_pass
from webhooks.services.endpoints import endpoint_rotate_secret
from webhooks.tests import factories

pytestmark = pytest.mark.django_db


def make_due():
    WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).update(next_attempt_at=timezone.now())


def verify(request, secret):
    """As a receiver would: the standardwebhooks library checks the three headers against the raw body."""
    return Webhook(secret).verify(request.body.decode(), {k: v for k, v in request.headers.items()
                                                         if k.startswith("webhook-")})


def test_a_delivery_is_posted_signed_and_marked_delivered(receiver, tenant):
    created = factories.endpoint_with_secret(tenant, url=receiver.url + "/hooks")
    delivery = factories.delivery(created.endpoint, event_id="evt_one")
    report = deliver_pass()
    assert (report.claimed, report.delivered) == (1, 1)
    [request] = receiver.requests
    assert request.method == "POST" and request.path == "/hooks"
    assert request.headers["webhook-id"] == "evt_one"
    assert request.headers["content-type"] == "application/json"
    assert verify(request, created.secret) == {"id": "evt_one", "type": "activity.created"}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.DELIVERED, 1, 201)
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None
    assert deliver_pass().claimed == 0  # delivered once, never again


def test_a_rotated_secret_signs_from_then_on(receiver, tenant):
    created = factories.endpoint_with_secret(tenant, url=receiver.url)
    rotated = endpoint_rotate_secret(endpoint=created.endpoint)
    assert rotated.secret != created.secret and rotated.secret.startswith("whsec_")
    factories.delivery(created.endpoint)
    deliver_pass()
    verify(receiver.requests[0], rotated.secret)
    with pytest.raises(Exception):  # noqa: B017 (the library raises its own WebhookVerificationError)
        verify(receiver.requests[0], created.secret)


@pytest.mark.parametrize("failure", ["error", "timeout", "refused"])
def test_failures_are_retried_on_the_schedule_then_failed(receiver, tenant, settings, failure):
    settings.WEBHOOK_HTTP_TIMEOUT = 0.3
    settings.WEBHOOK_MAX_ATTEMPTS = 8
    url = closed_port_url() if failure == "refused" else receiver.url
    receiver.set("error" if failure == "error" else "slow", delay=1.0)
    endpoint = factories.endpoint(tenant, url=url)
    delivery = factories.delivery(endpoint, event_id="evt_retry")
    expected_error = {"error": "HTTP_500", "timeout": "TIMEOUT", "refused": "CONNECTION_REFUSED"}[failure]
    for attempt in range(1, 8):
        report = deliver_pass()
        assert (report.claimed, report.retrying) == (1, 1)
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == attempt
        assert delivery.last_error.startswith(expected_error)
        assert delivery.last_status_code == (500 if failure == "error" else None)
        waited = (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds()
        assert BACKOFF_SCHEDULE[attempt - 1] * 0.9 <= waited <= BACKOFF_SCHEDULE[attempt - 1] * 1.1 + 1
        assert deliver_pass().claimed == 0  # waiting out its backoff
        make_due()
    report = deliver_pass()
    assert (report.claimed, report.failed) == (1, 1)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (DeliveryStatus.FAILED, 8, None)
    make_due()
    assert deliver_pass().claimed == 0  # FAILED is final
    if failure != "refused":
        assert [r.headers["webhook-id"] for r in receiver.requests] == ["evt_retry"] * 8


def test_a_receiver_that_recovers_gets_the_event_exactly_once_more(receiver, tenant):
    endpoint = factories.endpoint(tenant, url=receiver.url)
    delivery = factories.delivery(endpoint, event_id="evt_recover")
    receiver.set("error")
    deliver_pass()
    deliver_pass()  # still waiting: not sent
    receiver.set("accept")
    make_due()
    assert deliver_pass().delivered == 1
    make_due()
    assert deliver_pass().claimed == 0
    assert [r.headers["webhook-id"] for r in receiver.requests] == ["evt_recover", "evt_recover"]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)


def test_an_endpoint_whose_last_deliveries_all_failed_is_disabled(receiver, tenant, settings):
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    receiver.set("error")
    endpoint = factories.endpoint(tenant, url=receiver.url)
    other = factories.endpoint(tenant, url=receiver.url + "/fine")
    factories.delivery(endpoint, event_id="evt_a")
    factories.delivery(endpoint, event_id="evt_b")
    deliver_pass()
    endpoint.refresh_from_db()
    assert endpoint.is_active  # two failures of three
    factories.delivery(endpoint, event_id="evt_c")
    report = deliver_pass()
    assert report.disabled == 1
    endpoint.refresh_from_db()
    assert endpoint.is_active is False
    assert endpoint.disabled_reason == "Disabled automatically: the last 3 deliveries all failed"
    assert WebhookEndpoint.objects.get(pk=other.pk).is_active
    # A disabled endpoint's deliveries wait: nothing is sent to it any more.
    receiver.reset()
    make_due()
    assert deliver_pass().claimed == 0
    assert receiver.requests == []


def test_one_success_among_the_last_deliveries_keeps_the_endpoint(receiver, tenant, settings):
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 2
    endpoint = factories.endpoint(tenant, url=receiver.url)
    factories.delivery(endpoint, event_id="evt_ok")
    deliver_pass()
    receiver.set("error")
    factories.delivery(endpoint, event_id="evt_bad")
    deliver_pass()
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.disabled_reason == ""


def test_a_url_that_became_private_is_refused_at_send_time(receiver, tenant, settings):
    endpoint = factories.endpoint(tenant, url=receiver.url)  # stored while private URLs were allowed
    delivery = factories.delivery(endpoint)
    settings.RETEN_ALLOW_PRIVATE_URLS = False
    deliver_pass()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.last_error.startswith("URL_NOT_ALLOWED")
    assert receiver.requests == []


def test_an_expired_lease_is_claimed_again_with_the_same_webhook_id(receiver, tenant):
    endpoint = factories.endpoint(tenant, url=receiver.url)
    delivery = factories.delivery(endpoint, event_id="evt_lease")
    # A worker claimed it and died: attempts 1, a lease in next_attempt_at that has run out.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=1,
                                                          next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert deliver_pass().delivered == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert [r.headers["webhook-id"] for r in receiver.requests] == ["evt_lease"]


def test_a_claim_held_by_another_worker_is_not_sent(receiver, tenant):
    endpoint = factories.endpoint(tenant, url=receiver.url)
    factories.delivery(endpoint, attempts=1, next_attempt_at=timezone.now() + timedelta(seconds=60))
    assert deliver_pass().claimed == 0
    assert receiver.requests == []
