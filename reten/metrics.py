"""Reten's own Prometheus metrics (SPEC 14), beside django-prometheus' request and database metrics.

Every metric is defined here, so the apps that count (dispatch, results, receipts, webhooks) call one small
function each and never define a name twice. Values computed at scrape time (the due
activities per tenant) are collectors that an app registers with `register_scrape_collector`; they must cost at
most one aggregate query.

Under gunicorn each worker is a process: set PROMETHEUS_MULTIPROC_DIR (an empty directory, wiped at each start)
and the scrape adds up every worker's files (prometheus_client's multiprocess mode); see the README, Metrics.
"""
import os

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.exposition import choose_encoder

DISPATCH_ATTEMPTS = Counter(
    "reten_dispatch_attempts", "Dispatch attempts by outcome (dispatched, retrying, failed, superseded).",
    ["provider", "channel", "outcome"])
READY_TO_DISPATCHED = Histogram(
    "reten_ready_to_dispatched_seconds", "Seconds from an activity's creation to its acceptance by a provider.",
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 43200, 86400, 259200, 604800))
RESULTS = Counter("reten_results", "Task results stored, by result status.", ["status"])
RECEIPTS = Counter("reten_receipts", "Delivery receipts stored, by receipt status.", ["status"])
WEBHOOK_DELIVERIES = Counter("reten_webhook_deliveries", "Webhook delivery attempts, by outcome.", ["outcome"])

_scrape_collectors = []


def dispatch_attempt(*, provider: str, channel: str, outcome: str, created_at=None, dispatched_at=None) -> None:
    """One recorded dispatch outcome; with both times (a success) the READY->DISPATCHED latency too."""
    DISPATCH_ATTEMPTS.labels(provider=provider, channel=channel, outcome=outcome).inc()
    if created_at is not None and dispatched_at is not None:
        READY_TO_DISPATCHED.observe(max(0.0, (dispatched_at - created_at).total_seconds()))


def result_stored(*, status: str) -> None:
    RESULTS.labels(status=status).inc()


def receipt_stored(*, status: str, amount: int = 1) -> None:
    """For the delivery receipts (SPEC 6.2): `amount` receipts of this status were stored (after their commit)."""
    RECEIPTS.labels(status=status).inc(amount)


def webhook_delivery(*, outcome: str, amount: int = 1) -> None:
    """For the webhook deliveries (SPEC 13): `amount` delivery attempts were recorded with this outcome."""
    WEBHOOK_DELIVERIES.labels(outcome=outcome).inc(amount)


def register_scrape_collector(collector) -> None:
    """A collector computed at each scrape (it needs `describe()`, so registering it runs no query)."""
    if any(type(existing) is type(collector) for existing in _scrape_collectors):
        return
    _scrape_collectors.append(collector)
    REGISTRY.register(collector)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir") or None


def exposition(accept: str = "") -> tuple[bytes, str]:
    """One scrape in the format the scraper accepts (prometheus_client's negotiation; the classic text format by
    default): this process's registry, or every worker's files in multiprocess mode."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        for collector in _scrape_collectors:
            registry.register(collector)
    else:
        registry = REGISTRY
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type
