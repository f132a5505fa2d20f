"""WEBHOOK: POST {base_url} with the payload, signed X-Reten-Signature: t=<unix>,v1=<hex HMAC-SHA256("t.body")>."""
import hashlib
import hmac
import time

from dispatch.protocols import http
from dispatch.protocols.base import Protocol, ProviderError, ProviderReceipt

SIGNATURE_HEADER = "X-Reten-Signature"


def signature(secret, timestamp, body):
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class WebhookProtocol(Protocol):
    name = "WEBHOOK"

    def signed_headers(self, config, body):
        secret = config.credentials.get("signingSecret")
        return {SIGNATURE_HEADER: signature(secret, int(time.time()), body)} if secret else {}

    def send(self, payload, config):
        body = http.encode_json(payload)
        headers = {**self.signed_headers(config, body), "Idempotency-Key": str(payload["activityId"])}
        response = http.require_success(http.request("POST", config.base_url, content=body, headers=headers), config)
        try:
            provider_id = http.provider_id_from(response, config, "id", "providerActivityId")
        except ProviderError:
            # A webhook receiver owes us no id: the delivery is then known by the activity's own id.
            provider_id = str(payload["activityId"])
        return ProviderReceipt(provider_activity_id=provider_id, status_code=response.status_code)

    def check(self, config):
        body = http.encode_json({"event": "ping", "sentAt": int(time.time())})
        return http.http_check("POST", config.base_url, config=config, content=body,
                               headers=self.signed_headers(config, body))
