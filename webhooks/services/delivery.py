"""Webhook delivery (SPEC 13): claim due deliveries, POST them with no row lock held, record the outcomes.

The dispatcher's shape (dispatch/services/dispatcher/), over WebhookDelivery rows: one short transaction claims
up to WEBHOOK_BATCH_SIZE PENDING deliveries (`select_for_update(skip_locked=True)`, attempts + 1, a lease in
`next_attempt_at`), commits, the calls run from a small thread pool, and outcomes are written in short
transactions, each update conditioned on the attempt it records (a claim superseded after its lease ran out
changes nothing). A lost database connection is reconnected with the dispatcher's `with_reconnect`; a worker that
dies leaves leases that expire, and the next claim re-sends with the same webhook-id.
"""
import logging
import random
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from standardwebhooks import Webhook

from dispatch.protocols.http import CONNECT_MESSAGES, connect_error_code
from dispatch.services.dispatcher import TRANSIENT_DATABASE_ERRORS, surviving_database_faults, with_reconnect
from dispatch.services.enqueue import broker_configured
from reten import metrics
from reten.background import BackgroundPool
from reten.http import ConnectNotAllowed, effective_timeout, outbound_client
from tenants.models import Tenant
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from webhooks.secrets import decrypt_secret

logger = logging.getLogger("reten.webhooks")

PENDING = DeliveryStatus.PENDING
# Seconds to wait after failed attempt 1, 2, ...; the last one repeats if WEBHOOK_MAX_ATTEMPTS asks for more.
BACKOFF_SCHEDULE = (5, 30, 120, 600, 1800, 3600, 10800)
RECORD_BATCH = 200


def backoff_seconds(attempt: int) -> float:
    """About 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 3 h; a little jitter spreads a batch that failed together."""
    return BACKOFF_SCHEDULE[min(attempt, len(BACKOFF_SCHEDULE)) - 1] * random.uniform(0.9, 1.1)


@dataclass(frozen=True)
class DeliveryClaim:
    delivery_id: object
    endpoint_id: object
    tenant_id: object
    attempt: int
    url: str
    secret: str
    event_id: str
    body: str
    send_by: float  # time.monotonic() after which the lease may be gone: the claim is handed back unsent


@dataclass(frozen=True)
class DeliveryOutcome:
    ok: bool
    status_code: int | None
    error: str
    latency_ms: int
    sent: bool = True  # False: handed back because the lease left no time for the call


@dataclass
class DeliveryReport:
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    released: int = 0
    superseded: int = 0
    disabled: int = 0

    def summary(self):
        return (f"Webhook pass: claimed={self.claimed} delivered={self.delivered} retrying={self.retrying} "
                f"failed={self.failed} released={self.released} superseded={self.superseded} "
                f"disabled={self.disabled}")


def _not_waiting(now):
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)


def _send_by():
    lease = settings.WEBHOOK_LEASE_SECONDS
    return time.monotonic() + lease - min(settings.WEBHOOK_HTTP_TIMEOUT, lease / 2)


# --- claiming --------------------------------------------------------------------------------------------------

def claim_due_deliveries(*, limit: int, only_ids=None) -> list[DeliveryClaim]:
    """Claim up to `limit` due PENDING deliveries of active endpoints in one short transaction."""
    now = timezone.now()
    due = WebhookDelivery.objects.filter(status=PENDING, endpoint__is_active=True).filter(_not_waiting(now))
    if only_ids is not None:
        due = due.filter(pk__in=list(only_ids))
    with transaction.atomic():
        rows = list(due.order_by("created_at", "id").select_for_update(skip_locked=True, of=("self",))
                    .values_list("id", "attempts")[:limit])
        if not rows:
            return []
        WebhookDelivery.objects.filter(pk__in=[row[0] for row in rows]).update(
            attempts=F("attempts") + 1, next_attempt_at=now + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS),
            last_attempt_at=now)
    attempts = dict(rows)
    send_by = _send_by()
    claims, secrets = [], {}
    # The stored JSON is sent as it is (as text: no decode and re-encode); the signature covers these bytes.
    rows = (WebhookDelivery.objects.filter(pk__in=list(attempts)).order_by("created_at", "id")
            .annotate(body=Cast("payload", output_field=TextField()))
            .values_list("id", "event_id", "body", "endpoint_id", "endpoint__tenant_id", "endpoint__url",
                         "endpoint__secret_encrypted"))
    for delivery_id, event_id, body, endpoint_id, tenant_id, url, secret_encrypted in rows:
        if endpoint_id not in secrets:
            secrets[endpoint_id] = decrypt_secret(secret_encrypted, tenant_id=tenant_id, endpoint_id=endpoint_id)
        claims.append(DeliveryClaim(
            delivery_id=delivery_id, endpoint_id=endpoint_id, tenant_id=tenant_id, attempt=attempts[delivery_id] + 1,
            url=url, secret=secrets[endpoint_id], event_id=event_id, body=body, send_by=send_by))
    return claims


def _hand_back(claims):
    """Undo claims never sent: not an attempt, due again at once. Safe to repeat."""
    for claim in claims:
        WebhookDelivery.objects.filter(pk=claim.delivery_id, status=PENDING, attempts=claim.attempt).update(
            attempts=F("attempts") - 1, next_attempt_at=None)


# --- sending ---------------------------------------------------------------------------------------------------

def signed_headers(*, secret: str, event_id: str, body: str, at: datetime | None = None) -> dict:
    """The Standard Webhooks headers, signed by the standardwebhooks library."""
    at = at or datetime.now(UTC)
    return {
        "content-type": "application/json",
        "webhook-id": event_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(event_id, at, body),
        "user-agent": "Reten-Webhooks/1",
    }


def post_signed(client: httpx.Client, *, url: str, secret: str, event_id: str, body: str,
                timeout: float) -> DeliveryOutcome:
    """POST one event; 2xx is delivered. The receiver's body is never kept (SPEC 10)."""
    started = time.monotonic()

    def outcome(ok, status_code, error):
        return DeliveryOutcome(ok=ok, status_code=status_code, error=error,
                               latency_ms=int((time.monotonic() - started) * 1000))

    try:
        response = client.post(url, content=body.encode(), timeout=timeout,
                               headers=signed_headers(secret=secret, event_id=event_id, body=body))
    except ConnectNotAllowed as exc:
        return outcome(False, None, f"URL_NOT_ALLOWED: {exc.reason}")
    except httpx.TimeoutException:
        return outcome(False, None, f"TIMEOUT: no answer within {timeout:g}s")
    except httpx.ConnectError as exc:
        code = connect_error_code(exc)
        return outcome(False, None, f"{code}: {CONNECT_MESSAGES[code].replace('provider', 'endpoint')}")
    except httpx.HTTPError as exc:
        return outcome(False, None, f"CONNECTION_ERROR: {exc.__class__.__name__}")
    if response.is_success:
        return outcome(True, response.status_code, "")
    note = " (redirects are not followed)" if 300 <= response.status_code < 400 else ""
    return outcome(False, response.status_code, f"HTTP_{response.status_code}: the endpoint answered "
                                                f"{response.status_code}{note}")


_client_lock = threading.Lock()
_client = None


def delivery_client() -> httpx.Client:
    """One pooled client per process (keep-alive to receivers), vetted connects (reten/http.py)."""
    global _client
    with _client_lock:
        if _client is None:
            _client = outbound_client(timeout=settings.WEBHOOK_HTTP_TIMEOUT, max_connections=64)
        return _client


def _send(client, claim):
    if time.monotonic() > claim.send_by:
        return DeliveryOutcome(ok=False, status_code=None, error="", latency_ms=0, sent=False)
    return post_signed(client, url=claim.url, secret=claim.secret, event_id=claim.event_id, body=claim.body,
                       timeout=effective_timeout(settings.WEBHOOK_HTTP_TIMEOUT))


# --- recording -------------------------------------------------------------------------------------------------

def _record_once(items, report_counts):
    now = timezone.now()
    failed_endpoints = set()
    with transaction.atomic():
        delivered = {}
        for claim, outcome in items:
            if outcome.ok:
                delivered.setdefault((claim.attempt, outcome.status_code), []).append(claim.delivery_id)
        for (attempt, status_code), ids in delivered.items():
            changed = WebhookDelivery.objects.filter(pk__in=ids, status=PENDING, attempts=attempt).update(
                status=DeliveryStatus.DELIVERED, delivered_at=now, next_attempt_at=None,
                last_status_code=status_code, last_error="")
            report_counts["delivered"] += changed
            report_counts["superseded"] += len(ids) - changed
        for claim, outcome in items:
            if outcome.ok:
                continue
            final = claim.attempt >= settings.WEBHOOK_MAX_ATTEMPTS
            changed = WebhookDelivery.objects.filter(pk=claim.delivery_id, status=PENDING,
                                                     attempts=claim.attempt).update(
                status=DeliveryStatus.FAILED if final else PENDING, last_status_code=outcome.status_code,
                last_error=outcome.error[:500],
                next_attempt_at=None if final else now + timedelta(seconds=backoff_seconds(claim.attempt)))
            if changed:
                report_counts["failed" if final else "retrying"] += 1
                failed_endpoints.add(claim.endpoint_id)
                logger.warning("Webhook delivery %s attempt %s to endpoint %s failed: %s", claim.delivery_id,
                               claim.attempt, claim.endpoint_id, outcome.error)
            else:
                report_counts["superseded"] += 1
        for endpoint_id in failed_endpoints:
            report_counts["disabled"] += disable_if_failing(endpoint_id)


def disable_if_failing(endpoint_id) -> int:
    """Disable an endpoint whose last WEBHOOK_DISABLE_AFTER_FAILURES attempted deliveries all failed. 1 if it was."""
    limit = settings.WEBHOOK_DISABLE_AFTER_FAILURES
    recent = list(WebhookDelivery.objects.filter(endpoint_id=endpoint_id, attempts__gt=0)
                  .exclude(status=PENDING, last_error="").order_by("-last_attempt_at", "-created_at")
                  .values_list("status", flat=True)[:limit])
    if len(recent) < limit or DeliveryStatus.DELIVERED in recent:
        return 0
    reason = f"Disabled automatically: the last {limit} deliveries all failed"
    changed = WebhookEndpoint.objects.filter(pk=endpoint_id, is_active=True).update(
        is_active=False, disabled_reason=reason, updated_at=timezone.now())
    if changed:
        tenant_id = WebhookEndpoint.objects.filter(pk=endpoint_id).values_list("tenant_id", flat=True).first()
        still = WebhookEndpoint.objects.filter(tenant_id=tenant_id, is_active=True).exists()
        Tenant.objects.filter(pk=tenant_id).update(has_webhook_endpoints=still)
        logger.warning("Webhook endpoint %s disabled: %s", endpoint_id, reason)
    return changed


def _record(items, report):
    if not items:
        return
    counts = dict.fromkeys(("delivered", "retrying", "failed", "superseded", "disabled"), 0)

    def once(retried):
        for key in counts:
            counts[key] = 0
        _record_once(items, counts)

    with_reconnect(once, doing=f"recording {len(items)} webhook outcomes")
    for key, amount in counts.items():
        setattr(report, key, getattr(report, key) + amount)
        if amount and key != "disabled":  # SPEC 14: reten_webhook_deliveries_total{outcome}, per attempt recorded
            metrics.webhook_delivery(outcome=key, amount=amount)


def process_delivery_claims(claims, *, report, concurrency=None):
    """Send claimed deliveries from a thread pool and record outcomes in batches; returns [(claim, outcome)]."""
    if not claims:
        return []
    client = delivery_client()
    concurrency = min(concurrency or settings.WEBHOOK_CONCURRENCY, len(claims))
    outcomes, pending, unsent = [], [], []
    try:
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="webhooks") as pool:
            for claim, outcome in zip(claims, pool.map(lambda c: _send(client, c), claims), strict=True):
                outcomes.append((claim, outcome))
                if not outcome.sent:
                    unsent.append(claim)
                    continue
                pending.append((claim, outcome))
                if len(pending) >= RECORD_BATCH:
                    _record(pending, report)
                    pending = []
        _record(pending, report)
    except TRANSIENT_DATABASE_ERRORS:
        logger.error("Could not record webhook outcomes; their leases expire and they are sent again with the "
                     "same webhook-id")
        raise
    if unsent:
        _hand_back(unsent)
        report.released += len(unsent)
    return outcomes


# --- the three runners -----------------------------------------------------------------------------------------

def _record_chunk(chunk, report):
    sent = [(claim, outcome) for claim, outcome in chunk if outcome.sent]
    unsent = [claim for claim, outcome in chunk if not outcome.sent]
    _record(sent, report)
    if unsent:
        _hand_back(unsent)
        report.released += len(unsent)


def deliver_pass(*, limit: int | None = None) -> DeliveryReport:
    """One pass: claim and send batches until nothing is due (or `limit` deliveries were claimed).

    The next batch is claimed, and the last one recorded, while the pool is still sending: the threads never
    wait for the database. At most two batches are claimed ahead, well inside their lease."""
    report = DeliveryReport()
    batch_size = settings.WEBHOOK_BATCH_SIZE
    client = delivery_client()
    in_flight = deque()
    exhausted, lost = False, None
    with ThreadPoolExecutor(max_workers=settings.WEBHOOK_CONCURRENCY, thread_name_prefix="webhooks") as pool:
        while True:
            while not exhausted and len(in_flight) < 2 * batch_size:
                want = batch_size if limit is None else min(batch_size, limit - report.claimed)
                try:
                    claims = claim_due_deliveries(limit=want) if want > 0 else []
                except TRANSIENT_DATABASE_ERRORS as exc:
                    claims, lost = [], exc  # send no more; what is in flight is still recorded
                exhausted = len(claims) < want or want <= 0
                report.claimed += len(claims)
                in_flight.extend((claim, pool.submit(_send, client, claim)) for claim in claims)
            if not in_flight:
                break
            chunk = []
            while in_flight and len(chunk) < RECORD_BATCH:
                claim, future = in_flight.popleft()
                chunk.append((claim, future.result()))
            _record_chunk(chunk, report)
    if report.claimed:
        logger.info(report.summary())
    if lost is not None:
        raise lost
    return report


def deliver_pass_surviving_faults():
    """The dispatcher loop's pass step: a summary line, or None when nothing was due."""
    report = surviving_database_faults(deliver_pass, doing="a webhook delivery pass")
    return report.summary() if report is not None and report.claimed else None


def deliver_now(delivery_ids) -> DeliveryReport:
    """Deliver these (on-commit, Celery, API retry) if due and nobody else holds them."""
    report = DeliveryReport()
    claims = claim_due_deliveries(limit=len(delivery_ids), only_ids=delivery_ids)
    report.claimed = len(claims)
    process_delivery_claims(claims, report=report)
    return report


BACKGROUND_WORKERS = 2
_executor_lock = threading.Lock()
_executor = None


def _background_executor():
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = BackgroundPool(BACKGROUND_WORKERS, name="webhooks-on-commit")
        return _executor


def _deliver_in_background(delivery_ids):
    try:
        return surviving_database_faults(lambda: deliver_now(delivery_ids),
                                         doing=f"the on-commit delivery of {len(delivery_ids)} webhooks")
    except Exception:
        logger.exception("On-commit webhook delivery failed; the next pass retries those deliveries")
        return None


def enqueue_deliveries(delivery_ids):
    """Right after the commit that wrote them: Celery with a broker, else a small background pool."""
    if not settings.WEBHOOK_DELIVER_ON_COMMIT or not delivery_ids:
        return None
    if broker_configured():
        from webhooks.tasks import deliver_webhooks

        try:
            return deliver_webhooks.apply_async(args=[[str(i) for i in delivery_ids]], retry=False)
        except Exception:
            logger.warning("Could not queue %s webhook deliveries; the next pass picks them up",
                           len(delivery_ids), exc_info=True)
            return None
    return _background_executor().submit(_deliver_in_background, list(delivery_ids))
