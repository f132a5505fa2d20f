"""The one interface every provider protocol implements: send(payload, config) and check(config)."""
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProviderConfig:
    """What a protocol needs from a dispatch config, credentials decrypted. Never printed with its secrets."""

    id: object
    tenant_id: object
    provider_code: str
    protocol_type: str
    channel: str
    base_url: str
    settings: dict
    credentials: dict = field(repr=False)

    def __repr__(self):
        keys = ", ".join(sorted(self.credentials))
        return (f"ProviderConfig(id={self.id}, provider={self.provider_code}, channel={self.channel}, "
                f"base_url={self.base_url!r}, credentials=[{keys}])")

    __str__ = __repr__

    def scrub(self, text):
        """`text` with any credential value masked: a provider may echo a key back in an error body."""
        for value in self.credentials.values():
            if isinstance(value, str) and len(value) >= 4:
                text = text.replace(value, "***")
        return text


@dataclass(frozen=True)
class ProviderReceipt:
    """The provider accepted the activity under `provider_activity_id`."""

    provider_activity_id: str
    status_code: int | None = None


class ProviderError(Exception):
    """The provider refused the activity or could not be reached. `code` is short and stable for events."""

    def __init__(self, message, *, code="PROVIDER_ERROR", status_code=None, retry_after=None):
        self.message = message
        self.code = code
        self.status_code = status_code
        # Seconds the provider asked us to wait (its Retry-After header), None when it did not say.
        self.retry_after = retry_after
        super().__init__(message)


@dataclass(frozen=True)
class HealthReport:
    ok: bool
    latency_ms: int
    status_code: int | None = None
    error: str | None = None
    error_code: str | None = None


class Protocol:
    """One small class per protocol. Subclasses implement `send` and `check`; they never touch the database."""

    name = "base"
    requires_base_url = True

    def send(self, payload, config):
        raise NotImplementedError

    def check(self, config):
        raise NotImplementedError


class Stopwatch:
    def __init__(self):
        self.started = time.monotonic()

    @property
    def ms(self):
        return int((time.monotonic() - self.started) * 1000)
