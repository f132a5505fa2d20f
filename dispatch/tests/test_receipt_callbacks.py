"""Signed per-config receipt callbacks, the callback secret's life, completeOnAccept and MOCK receipts (SPEC 6.2).

The provider side is the `standardwebhooks` library itself, signing exactly as a provider would.
"""
import importlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.utils import timezone
from standardwebhooks import Webhook

from activities.models import Activity, ActivityType, Channel, DeliveryReceipt, StatusEvent
from dispatch import crypto
from dispatch.models import DispatchConfig, DispatchProvider
from dispatch.services import callback_secret_of, dispatch_pass
from dispatch.services.mock_receipts import report_mock_receipts
from dispatch.tests import factories
from dispatch.tests.test_crypto import KEY_A, KEY_B
from tenants.tests.factories import member

pytestmark = pytest.mark.django_db
OCCURRED = "2025-01-16T12:00:00Z"


@pytest.fixture
def mock_provider(db):
    return DispatchProvider.objects.get(code="MOCK")


@pytest.fixture
def config(tenant, mock_provider):
    return factories.config(tenant, channel=Channel.SMS, provider_obj=mock_provider)


@pytest.fixture
def secret(config):
    return callback_secret_of(config)


def dispatched(tenant, config, *, type=ActivityType.MESSAGE, channel=Channel.SMS):
    activity = factories.activity(tenant, type=type, channel=channel)
    Activity.objects.filter(pk=activity.pk).update(status="DISPATCHED", dispatch_config=config,
                                                   provider_activity_id=f"p-{activity.pk.hex[:8]}",
                                                   dispatched_at=timezone.now())
    return Activity.objects.get(pk=activity.pk)


def signed_post(client, config_id, body, secret, *, at=None, msg_id="msg_2Kx", tamper=None):
    """POST as a Standard Webhooks sender: sign id.timestamp.body with the secret."""
    payload = json.dumps(body)
    at = at or datetime.now(tz=UTC)
    signature = Webhook(secret).sign(msg_id, at, payload)
    sent = tamper(payload) if tamper else payload
    return client.post(f"/api/dispatch-callbacks/{config_id}", data=sent, content_type="application/json",
                       HTTP_WEBHOOK_ID=msg_id, HTTP_WEBHOOK_TIMESTAMP=str(int(at.timestamp())),
                       HTTP_WEBHOOK_SIGNATURE=signature)


def receipt_body(activity, status="DELIVERED", **extra):
    return {"activity_id": str(activity.pk), "status": status, "occurred_at": OCCURRED, **extra}


def trail(activity):
    return list(StatusEvent.objects.filter(activity=activity).order_by("occurred_at")
                .values_list("event_type", flat=True))


# --- the secret ---------------------------------------------------------------------------------------------------


def test_the_secret_is_returned_once_at_creation_and_stored_encrypted(admin_api, mock_provider):
    created = admin_api.post("/api/dispatch-configs", {"dispatch_provider_id": str(mock_provider.pk),
                                                       "channel": "EMAIL"})

    assert created.status_code == 201, created.json()
    secret = created.json()["callbackSecret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    config = DispatchConfig.objects.get(pk=created.json()["id"])
    assert secret not in config.callback_secret_encrypted and config.callback_secret_encrypted
    assert callback_secret_of(config) == secret
    listed = admin_api.get("/api/dispatch-configs").content.decode()
    detail = admin_api.get(f"/api/dispatch-configs/{config.pk}").content.decode()
    assert secret not in listed and secret not in detail and "callbackSecret" not in detail


def test_a_signed_callback_stores_the_receipt_in_the_configs_tenant(client, tenant, config, secret):
    message = dispatched(tenant, config)

    response = signed_post(client, config.pk, receipt_body(message, "READ"), secret)

    assert response.status_code == 201, response.json()
    receipt = DeliveryReceipt.objects.get(activity=message)
    assert (receipt.status, receipt.actor_type) == ("READ", "SYSTEM")
    assert Activity.objects.get(pk=message.pk).status == "COMPLETED"
    assert trail(message) == ["DELIVERY_RECEIPT", "COMPLETED"]
    again = signed_post(client, config.pk, receipt_body(message, "READ"), secret, msg_id="msg_other")
    assert again.status_code == 200 and DeliveryReceipt.objects.count() == 1


@pytest.mark.parametrize("case", ["unsigned", "wrong secret", "old timestamp", "future timestamp", "tampered body",
                                  "garbage signature", "unknown config"])
def test_a_bad_callback_is_401_and_stores_nothing(client, tenant, config, secret, case):
    message = dispatched(tenant, config)
    body = receipt_body(message)
    config_id = config.pk
    if case == "unsigned":
        response = client.post(f"/api/dispatch-callbacks/{config_id}", data=json.dumps(body),
                               content_type="application/json")
    elif case == "garbage signature":
        response = client.post(f"/api/dispatch-callbacks/{config_id}", data=json.dumps(body),
                               content_type="application/json", HTTP_WEBHOOK_ID="m",
                               HTTP_WEBHOOK_TIMESTAMP=str(int(datetime.now(tz=UTC).timestamp())),
                               HTTP_WEBHOOK_SIGNATURE="v1")
    else:
        key = secret
        at = None
        tamper = None
        if case == "wrong secret":
            key = crypto.new_callback_secret()
        elif case == "old timestamp":  # a replay of a capture from 6 minutes ago
            at = datetime.now(tz=UTC) - timedelta(minutes=6)
        elif case == "future timestamp":
            at = datetime.now(tz=UTC) + timedelta(minutes=6)
        elif case == "tampered body":
            tamper = lambda payload: payload.replace("DELIVERED", "BOUNCED")  # noqa: E731
        elif case == "unknown config":
            config_id = uuid.uuid4()
        response = signed_post(client, config_id, body, key, at=at, tamper=tamper)

    assert response.status_code == 401
    # The same answer whether the config exists or not: the route reveals no config ids.
    assert response.json()["message"] == ("Missing or invalid webhook signature (webhook-id, webhook-timestamp, "
                                          "webhook-signature)")
    assert not DeliveryReceipt.objects.exists()
    assert Activity.objects.get(pk=message.pk).status == "DISPATCHED"
    assert trail(message) == []


def test_a_callback_acts_only_on_the_configs_tenant(client, tenant, other_tenant, config, secret, mock_provider):
    theirs = dispatched(other_tenant, factories.config(other_tenant, channel=Channel.SMS, provider_obj=mock_provider))

    response = signed_post(client, config.pk, receipt_body(theirs), secret)

    assert response.status_code == 404
    assert not DeliveryReceipt.objects.exists()
    assert Activity.objects.get(pk=theirs.pk).status == "DISPATCHED"


def test_a_bad_body_under_a_good_signature_is_400(client, config, secret):
    response = signed_post(client, config.pk, {"status": "LOST"}, secret)

    assert response.status_code == 400
    assert not DeliveryReceipt.objects.exists()


def test_a_rotated_secret_works_at_once_and_the_old_one_stops(client, admin_api, tenant, config, secret):
    message = dispatched(tenant, config)

    rotated = admin_api.post(f"/api/dispatch-configs/{config.pk}/rotate-callback-secret")

    assert rotated.status_code == 200
    new_secret = rotated.json()["callbackSecret"]
    assert new_secret.startswith("whsec_") and new_secret != secret
    assert signed_post(client, config.pk, receipt_body(message, "SENT"), secret).status_code == 401
    assert not DeliveryReceipt.objects.exists()
    assert signed_post(client, config.pk, receipt_body(message, "SENT"), new_secret).status_code == 201


def test_rotating_needs_manage_activity_config(api_as, tenant, config, secret):
    viewer = api_as(member(tenant, "VIEWER"), tenant)

    response = viewer.post(f"/api/dispatch-configs/{config.pk}/rotate-callback-secret")

    assert response.status_code == 403
    assert callback_secret_of(DispatchConfig.objects.get(pk=config.pk)) == secret


def test_rotate_credentials_key_re_encrypts_callback_secrets_too(settings, tenant, mock_provider):
    settings.RETEN_CREDENTIALS_KEYS = f"old:{KEY_A}"
    config = factories.config(tenant, channel=Channel.PUSH, provider_obj=mock_provider)
    before = callback_secret_of(config)
    settings.RETEN_CREDENTIALS_KEYS = f"new:{KEY_B},old:{KEY_A}"

    call_command("rotate_credentials_key", stdout=StringIO())

    settings.RETEN_CREDENTIALS_KEYS = f"new:{KEY_B}"  # the old key can go
    stored = DispatchConfig.objects.get(pk=config.pk)
    assert stored.callback_secret_encrypted.startswith("new:")
    assert callback_secret_of(stored) == before


def test_the_secret_cannot_be_moved_to_another_config(tenant, config, mock_provider):
    other = factories.config(tenant, channel=Channel.PUSH, provider_obj=mock_provider)
    DispatchConfig.objects.filter(pk=other.pk).update(callback_secret_encrypted=config.callback_secret_encrypted)

    with pytest.raises(crypto.CredentialsDecryptError):
        callback_secret_of(DispatchConfig.objects.get(pk=other.pk))


def test_the_migration_gives_older_configs_a_secret(config):
    DispatchConfig.objects.filter(pk=config.pk).update(callback_secret_encrypted="")
    migration = importlib.import_module("dispatch.migrations.0003_callback_secrets")

    migration.give_every_config_a_callback_secret(apps, None)

    secret = callback_secret_of(DispatchConfig.objects.get(pk=config.pk))
    assert secret.startswith("whsec_")


# --- completeOnAccept ---------------------------------------------------------------------------------------------


def test_complete_on_accept_closes_messages_when_the_provider_accepts(tenant, mock_provider):
    factories.config(tenant, channel=Channel.SMS, provider_obj=mock_provider, settings={"completeOnAccept": True})
    factories.config(tenant, channel=Channel.EMAIL, provider_obj=mock_provider)
    closes = factories.activity(tenant, channel=Channel.SMS)
    stays = factories.activity(tenant, channel=Channel.EMAIL)

    report = dispatch_pass()

    assert report.dispatched == 2
    closed = Activity.objects.get(pk=closes.pk)
    assert closed.status == "COMPLETED" and closed.completed_at is not None and closed.provider_activity_id
    assert trail(closed) == ["DISPATCH_SUCCESS", "COMPLETED"]
    assert Activity.objects.get(pk=stays.pk).status == "DISPATCHED"
    assert trail(stays) == ["DISPATCH_SUCCESS"]


def test_complete_on_accept_leaves_tasks_to_their_results(tenant, mock_provider):
    factories.config(tenant, channel=Channel.SALESMAN, provider_obj=mock_provider,
                     settings={"completeOnAccept": True})
    task = factories.activity(tenant, type=ActivityType.TASK, channel=Channel.SALESMAN)

    dispatch_pass()

    assert Activity.objects.get(pk=task.pk).status == "DISPATCHED"


def test_complete_on_accept_must_be_a_boolean(admin_api, mock_provider):
    response = admin_api.post("/api/dispatch-configs", {"dispatch_provider_id": str(mock_provider.pk),
                                                        "channel": "SMS", "settings": {"completeOnAccept": "yes"}})

    assert response.status_code == 400
    assert "settings.completeOnAccept" in response.json()["details"]
    assert not DispatchConfig.objects.exists()


# --- MOCK reports receipts ------------------------------------------------------------------------------------


@pytest.mark.parametrize("failure_rate, final, closing", [(0, "COMPLETED", "DELIVERED"), (1, "FAILED", "UNDELIVERED")])
def test_mock_reports_receipts_through_the_service(tenant, mock_provider, failure_rate, final, closing):
    factories.config(tenant, channel=Channel.SMS, provider_obj=mock_provider,
                     settings={"receiptDelayMs": 0, "receiptFailureRate": failure_rate})
    message = factories.activity(tenant, channel=Channel.SMS)

    dispatch_pass()  # accepts it, then (the delay being 0) reports its receipts in the same pass

    closed = Activity.objects.get(pk=message.pk)
    assert closed.status == final
    assert list(DeliveryReceipt.objects.filter(activity=message).values_list("status", flat=True)) == [
        "SENT", closing]
    expected_close = "COMPLETED" if final == "COMPLETED" else "EXECUTION_FAILED"
    assert trail(message) == ["DISPATCH_SUCCESS", "DELIVERY_RECEIPT", "DELIVERY_RECEIPT", expected_close]
    assert dispatch_pass().claimed == 0 and DeliveryReceipt.objects.count() == 2  # nothing more, nothing twice


def test_mock_receipts_wait_for_their_delay(tenant, mock_provider):
    factories.config(tenant, channel=Channel.SMS, provider_obj=mock_provider, settings={"receiptDelayMs": 60000})
    message = factories.activity(tenant, channel=Channel.SMS)

    dispatch_pass()

    assert Activity.objects.get(pk=message.pk).status == "DISPATCHED"
    assert not DeliveryReceipt.objects.exists()
    assert report_mock_receipts(now=timezone.now() + timedelta(seconds=61)) == 2
    assert Activity.objects.get(pk=message.pk).status == "COMPLETED"


def test_mock_without_receipt_settings_sends_none(tenant, mock_provider):
    factories.config(tenant, channel=Channel.SMS, provider_obj=mock_provider)
    message = factories.activity(tenant, channel=Channel.SMS)

    dispatch_pass()

    assert report_mock_receipts(now=timezone.now() + timedelta(days=1)) == 0
    assert Activity.objects.get(pk=message.pk).status == "DISPATCHED"
