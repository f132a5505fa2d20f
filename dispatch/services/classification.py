"""Retryable or permanent (SPEC 11.2): what a failed provider call means for the activity's next attempt.

Retryable — the same request may succeed later: timeouts, connection errors (refused, DNS, TLS, reset), an
invalid HTTP answer, 408, 425, 429 and every 5xx, the MOCK's simulated failure, a bug inside a protocol, an SMTP
error (the reply code is not kept, and most are transient), credentials this worker cannot decrypt (during a
key rotation another worker, or this one after a restart, may hold the key).
Permanent — sending the same thing again cannot succeed until someone changes the activity or its config, so
the activity goes FAILED at once: every other 4xx (including 3xx, since redirects are not followed), no
recipient among the target users, a payload the protocol cannot build, a URL the outbound rules refuse
(URL_NOT_ALLOWED: a config problem, not a passing fault) and an SMTP login refused. A force retry (11.3) gives
it another round once the cause is fixed.
"""
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings

from dispatch.models import AttemptOutcome

RETRYABLE_HTTP = frozenset({408, 425, 429})
RETRY_AFTER_HTTP = frozenset({429, 503})
TIMEOUT_CODES = frozenset({"TIMEOUT"})
CONNECTION_CODES = frozenset({"CONNECTION_REFUSED", "CONNECTION_ERROR", "DNS_ERROR", "TLS_ERROR"})
PERMANENT_CODES = frozenset({"NO_RECIPIENT", "PAYLOAD_INVALID", "URL_NOT_ALLOWED", "SMTP_AUTH_FAILED"})


@dataclass(frozen=True)
class Verdict:
    """outcome: the attempt row's outcome; retry_after: seconds the provider asked for (already capped), or None."""

    outcome: str
    retry_after: float | None = None

    @property
    def permanent(self):
        return self.outcome == AttemptOutcome.PERMANENT


def classify(error) -> Verdict:
    """The verdict on a ProviderError."""
    status = error.status_code
    if error.code in TIMEOUT_CODES:
        return Verdict(AttemptOutcome.TIMEOUT)
    if error.code in CONNECTION_CODES:
        return Verdict(AttemptOutcome.CONNECTION)
    if error.code in PERMANENT_CODES:
        return Verdict(AttemptOutcome.PERMANENT)
    if status is not None and error.code.startswith("PROVIDER_HTTP_"):
        if status in RETRYABLE_HTTP or 500 <= status <= 599:
            retry_after = None
            if status in RETRY_AFTER_HTTP and error.retry_after is not None:
                retry_after = min(float(error.retry_after), float(settings.DISPATCH_MAX_RETRY_AFTER_SECONDS))
            return Verdict(AttemptOutcome.RETRYABLE, retry_after=retry_after)
        return Verdict(AttemptOutcome.PERMANENT)
    return Verdict(AttemptOutcome.RETRYABLE)


def next_attempt_delay(verdict: Verdict, *, backoff: float) -> timedelta:
    """The provider's Retry-After when it gave one (capped), else the exponential backoff."""
    return timedelta(seconds=verdict.retry_after if verdict.retry_after is not None else backoff)
