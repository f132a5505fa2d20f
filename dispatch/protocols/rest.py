"""YOM and generic REST: POST {base_url}/activities with x-api-key and Idempotency-Key: <activity id>."""
from dispatch.protocols import http
from dispatch.protocols.base import Protocol, ProviderReceipt


class RestProtocol(Protocol):
    name = "REST"
    activities_path = "activities"
    health_path = "health"

    def headers(self, config, payload=None):
        headers = {}
        if config.credentials.get("apiKey"):
            headers["x-api-key"] = config.credentials["apiKey"]
        if payload is not None:
            # The same key on every attempt: a provider that saw it before must not create a second activity.
            headers["Idempotency-Key"] = str(payload["activityId"])
        return headers

    def send(self, payload, config):
        response = http.request("POST", http.join(config.base_url, self.activities_path),
                                content=http.encode_json(payload), headers=self.headers(config, payload))
        http.require_success(response, config)
        return ProviderReceipt(provider_activity_id=http.provider_id_from(response, config, "id", "providerActivityId"),
                               status_code=response.status_code)

    def check(self, config):
        return http.http_check("GET", http.join(config.base_url, self.health_path), config=config,
                               headers=self.headers(config))
