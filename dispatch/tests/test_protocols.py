"""Each protocol against a real server on 127.0.0.1 (HTTP stub, SMTP stub) or none at all (MOCK)."""
import hashlib
import hmac
import time
import uuid

import pytest

from dispatch.protocols import ProviderConfig, ProviderError, protocol_for
from dispatch.protocols.email import EmailProtocol
from dispatch.protocols.gateway import SmsProtocol, WhatsappProtocol
from dispatch.protocols.mock import MockProtocol
from dispatch.protocols.rest import RestProtocol
from dispatch.protocols.webhook import WebhookProtocol


def provider_config(*, code="YOM", protocol_type="REST", base_url="", credentials=None, settings=None,
                    channel="SALESMAN"):
    return ProviderConfig(id=uuid.uuid4(), tenant_id=uuid.uuid4(), provider_code=code, protocol_type=protocol_type,
                          channel=channel, base_url=base_url, settings=settings or {},
                          credentials=credentials or {})


def payload(**overrides):
    body = {
        "activityId": str(uuid.uuid4()), "tenantId": str(uuid.uuid4()), "type": "MESSAGE", "channel": "SMS",
        "reason": "Your promotion is waiting", "scheduledAt": "2025-01-16T09:00:00.000Z",
        "suggestedExecutionTime": None, "score": 7, "userStatus": None, "attempt": 1,
        "commerce": {"id": str(uuid.uuid4()), "externalId": "C-1", "name": "Almacen Rosa", "taxId": "76.1-K"},
        "targetUsers": [{"id": str(uuid.uuid4()), "firstName": "Rosa", "lastName": "Perez", "contacts": [
            {"type": "PHONE", "value": "+56911112222"}, {"type": "EMAIL", "value": "rosa@example.com"},
            {"type": "WHATSAPP", "value": "+56933334444"}]}],
        "attributes": {"promotions": ["2x1"]}, "task": None,
    }
    body.update(overrides)
    return body


def test_registry_prefers_the_provider_code_then_the_protocol_type():
    assert isinstance(protocol_for(provider_code="YOM", protocol_type="REST"), RestProtocol)
    assert isinstance(protocol_for(provider_code="MOCK", protocol_type="REST"), MockProtocol)
    assert isinstance(protocol_for(provider_code="ACME", protocol_type="REST"), RestProtocol)
    assert isinstance(protocol_for(provider_code="ACME", protocol_type="WEBHOOK"), WebhookProtocol)
    assert isinstance(protocol_for(provider_code="ACME", protocol_type="EMAIL"), EmailProtocol)
    assert isinstance(protocol_for(provider_code="ACME", protocol_type="SMS"), SmsProtocol)
    assert isinstance(protocol_for(provider_code="ACME", protocol_type="WSP"), WhatsappProtocol)


def test_config_repr_never_shows_credentials():
    config = provider_config(credentials={"apiKey": "sk_top_secret"})
    assert "sk_top_secret" not in repr(config) and "sk_top_secret" not in str(config)
    assert "apiKey" in repr(config)


# --- REST / YOM ---

def test_rest_posts_the_payload_with_api_key_and_idempotency_key(stub):
    body = payload()
    receipt = RestProtocol().send(body, provider_config(base_url=stub.url + "/v1/", credentials={"apiKey": "k-1"}))

    assert receipt.provider_activity_id == f"prov-{body['activityId']}" and receipt.status_code == 201
    [request] = stub.requests
    assert (request.method, request.path) == ("POST", "/v1/activities")
    assert request.headers["x-api-key"] == "k-1"
    assert request.headers["idempotency-key"] == body["activityId"]
    assert request.headers["content-type"] == "application/json"
    assert request.json == body


def test_rest_reads_provider_activity_id_too(stub):
    stub.set("accept_provider_activity_id")
    body = payload()
    receipt = RestProtocol().send(body, provider_config(base_url=stub.url))
    assert receipt.provider_activity_id == f"prov-{body['activityId']}"


@pytest.mark.parametrize("mode, code", [("error", "PROVIDER_HTTP_500"), ("no_id", "INVALID_RESPONSE")])
def test_rest_failures_are_provider_errors(stub, mode, code):
    stub.set(mode)
    with pytest.raises(ProviderError) as caught:
        RestProtocol().send(payload(), provider_config(base_url=stub.url))
    assert caught.value.code == code


def test_rest_timeout(stub, settings):
    settings.DISPATCH_HTTP_TIMEOUT = 0.3
    stub.set("slow", delay=1.5)
    started = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        RestProtocol().send(payload(), provider_config(base_url=stub.url))
    assert caught.value.code == "TIMEOUT"
    assert time.monotonic() - started < 1.2


def test_rest_refused_connection(refused_url):
    with pytest.raises(ProviderError) as caught:
        RestProtocol().send(payload(), provider_config(base_url=refused_url))
    assert caught.value.code == "CONNECTION_REFUSED"


# --- WEBHOOK ---

def test_webhook_signs_timestamp_dot_body(stub):
    body = payload()
    secret = "whsec_abc"
    receipt = WebhookProtocol().send(body, provider_config(code="HOOK", protocol_type="WEBHOOK",
                                                           base_url=stub.url + "/hooks/reten",
                                                           credentials={"signingSecret": secret}))

    [request] = stub.requests
    assert (request.method, request.path) == ("POST", "/hooks/reten")
    parts = dict(item.split("=", 1) for item in request.headers["x-reten-signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    assert abs(int(parts["t"]) - time.time()) < 5
    assert request.json == body
    assert receipt.provider_activity_id == f"prov-{body['activityId']}"


def test_webhook_without_an_id_in_the_answer_uses_the_activity_id(stub):
    stub.set("no_id")
    body = payload()
    receipt = WebhookProtocol().send(body, provider_config(code="HOOK", protocol_type="WEBHOOK", base_url=stub.url,
                                                           credentials={"signingSecret": "s"}))
    assert receipt.provider_activity_id == body["activityId"]


# --- SMS / WSP gateways ---

def test_sms_gateway_posts_to_messages_with_the_phone(stub):
    body = payload()
    SmsProtocol().send(body, provider_config(code="GW", protocol_type="SMS", base_url=stub.url,
                                             credentials={"apiKey": "gw-key"}, channel="SMS"))
    [request] = stub.requests
    assert request.path == "/messages"
    assert request.json == {"to": "+56911112222", "body": "Your promotion is waiting",
                            "activityId": body["activityId"]}
    assert request.headers["x-api-key"] == "gw-key"


def test_whatsapp_gateway_prefers_the_whatsapp_contact(stub):
    body = payload()
    WhatsappProtocol().send(body, provider_config(code="GW", protocol_type="WSP", base_url=stub.url,
                                                  channel="WHATSAPP"))
    assert stub.requests[0].json["to"] == "+56933334444"


def test_gateway_without_a_recipient_fails_without_calling(stub):
    with pytest.raises(ProviderError) as caught:
        SmsProtocol().send(payload(targetUsers=[]), provider_config(protocol_type="SMS", base_url=stub.url))
    assert caught.value.code == "NO_RECIPIENT"
    assert stub.requests == []


# --- EMAIL ---

def email_config(smtp, **credentials):
    return provider_config(code="MAILER", protocol_type="EMAIL", channel="EMAIL",
                           settings={"host": "127.0.0.1", "port": smtp.port, "fromEmail": "noreply@reten.example"},
                           credentials=credentials or {"username": "mailer", "password": "smtp-secret-pass"})


def test_email_goes_to_the_target_users_address_with_message_id(smtp):
    body = payload()
    receipt = EmailProtocol().send(body, email_config(smtp))

    [mail] = smtp.received
    assert mail.recipients == ["rosa@example.com"] and mail.mail_from == "noreply@reten.example"
    assert mail.auth == ("mailer", "smtp-secret-pass")
    assert f"Message-ID: {receipt.provider_activity_id}" in mail.data
    assert receipt.provider_activity_id.endswith("@reten.example>")
    assert "Your promotion is waiting" in mail.data


def test_email_with_wrong_credentials_fails(smtp):
    with pytest.raises(ProviderError) as caught:
        EmailProtocol().send(payload(), email_config(smtp, username="mailer", password="wrong"))
    assert caught.value.code == "SMTP_AUTH_FAILED"
    assert caught.value.message == "The SMTP server refused the login (reply 535)"  # not the server's own words
    assert smtp.received == []


def test_email_check_logs_in(smtp):
    assert EmailProtocol().check(email_config(smtp)).ok is True
    report = EmailProtocol().check(email_config(smtp, username="mailer", password="nope"))
    assert report.ok is False and "nope" not in report.error


# --- MOCK ---

def test_mock_accepts_with_a_uuid_after_its_latency():
    started = time.monotonic()
    receipt = MockProtocol().send(payload(), provider_config(code="MOCK", settings={"latencyMs": 60,
                                                                                   "failureRate": 0}))
    assert time.monotonic() - started >= 0.06
    assert uuid.UUID(receipt.provider_activity_id)


def test_mock_fails_with_its_failure_rate():
    with pytest.raises(ProviderError) as caught:
        MockProtocol().send(payload(), provider_config(code="MOCK", settings={"failureRate": 1}))
    assert caught.value.code == "MOCK_FAILURE"
    outcomes = []
    for _ in range(400):
        try:
            MockProtocol().send(payload(), provider_config(code="MOCK", settings={"failureRate": 0.25}))
            outcomes.append(True)
        except ProviderError:
            outcomes.append(False)
    assert 40 < outcomes.count(False) < 160
