"""MOCK: no network. Accepts with a random id, or fails with probability failureRate, after latencyMs."""
import random
import time
import uuid

from dispatch.protocols.base import HealthReport, Protocol, ProviderError, ProviderReceipt


def _number(value, default):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else default


class MockProtocol(Protocol):
    name = "MOCK"
    requires_base_url = False

    def send(self, payload, config):
        latency_ms = max(0.0, _number(config.settings.get("latencyMs"), 0))
        failure_rate = min(1.0, max(0.0, _number(config.settings.get("failureRate"), 0)))
        if latency_ms:
            time.sleep(latency_ms / 1000)
        if random.random() < failure_rate:
            raise ProviderError(f"MOCK simulated failure (failureRate {failure_rate:g})", code="MOCK_FAILURE")
        return ProviderReceipt(provider_activity_id=str(uuid.uuid4()))

    def check(self, config):
        return HealthReport(ok=True, latency_ms=int(_number(config.settings.get("latencyMs"), 0)))
