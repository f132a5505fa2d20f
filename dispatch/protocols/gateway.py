"""SMS and WSP gateways: POST {base_url}/messages with {to, body, activityId}."""
from dispatch.protocols import http
from dispatch.protocols.base import Protocol, ProviderError, ProviderReceipt

# Contact types that can receive a message on each gateway, best first.
RECIPIENT_TYPES = {"SMS": ("PHONE",), "WSP": ("WHATSAPP", "PHONE")}


def recipient(payload, contact_types):
    for contact_type in contact_types:
        for user in payload.get("targetUsers") or []:
            for contact in user.get("contacts") or []:
                if contact.get("type") == contact_type and contact.get("value"):
                    return contact["value"]
    return None


def message_body(payload, config):
    template = config.settings.get("bodyTemplate")
    if isinstance(template, str) and template:
        try:
            return template.format(reason=payload.get("reason", ""), **{
                key: value for key, value in (payload.get("attributes") or {}).items() if isinstance(key, str)
            })
        except (KeyError, IndexError, ValueError):
            pass  # a template naming data this activity lacks falls back to the plain reason
    return payload.get("reason", "")


class GatewayProtocol(Protocol):
    name = "GATEWAY"
    contact_types = ("PHONE",)

    def headers(self, config, activity_id=None):
        headers = {}
        if config.credentials.get("apiKey"):
            headers["x-api-key"] = config.credentials["apiKey"]
        if activity_id:
            headers["Idempotency-Key"] = str(activity_id)
        return headers

    def send(self, payload, config):
        to = recipient(payload, self.contact_types)
        if not to:
            raise ProviderError(f"No {' or '.join(self.contact_types)} contact among the target users",
                                code="NO_RECIPIENT")
        body = {"to": to, "body": message_body(payload, config), "activityId": str(payload["activityId"])}
        response = http.request("POST", http.join(config.base_url, "messages"), content=http.encode_json(body),
                                headers=self.headers(config, payload["activityId"]))
        http.require_success(response, config)
        return ProviderReceipt(
            provider_activity_id=http.provider_id_from(response, config, "id", "messageId", "providerActivityId"),
            status_code=response.status_code,
        )

    def check(self, config):
        return http.http_check("GET", http.join(config.base_url, "health"), config=config,
                               headers=self.headers(config))


class SmsProtocol(GatewayProtocol):
    name = "SMS"
    contact_types = RECIPIENT_TYPES["SMS"]


class WhatsappProtocol(GatewayProtocol):
    name = "WSP"
    contact_types = RECIPIENT_TYPES["WSP"]
