"""Provider protocols: one small class per protocol behind `send(payload, config)` and `check(config)`."""
from dispatch.protocols.base import HealthReport, ProviderConfig, ProviderError, ProviderReceipt
from dispatch.protocols.registry import protocol_for, register

__all__ = ["HealthReport", "ProviderConfig", "ProviderError", "ProviderReceipt", "protocol_for", "register"]
