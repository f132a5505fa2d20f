"""Webhook delivery throughput against a plain HTTP baseline (issue 11, SPEC 13).

Writes N PENDING deliveries (default 5,000, realistic activity.created payloads) to one endpoint pointing at a
local receiver (the stub provider, in its own process on 127.0.0.1) on PostgreSQL, and prints deliveries/second:

  baseline   the same HTTP client and signing (webhooks.services.delivery.post_signed, one pooled client)
             POSTing the same N bodies with the same concurrency (WEBHOOK_CONCURRENCY), no database work
  delivery   webhooks.services.delivery.deliver_pass: claims (select_for_update skip_locked + lease),
             signed POSTs from the thread pool, outcome transactions, batches of WEBHOOK_BATCH_SIZE

and the ratio delivery / baseline (target >= 0.6). The baseline runs before and after; the mean is used. The last
line is `RESULT {json}` (bench/_server.py).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reten_bench_webhooks .venv/bin/python bench/webhook_delivery.py

Options: --events, --latency (seconds the receiver waits; default 0, the harshest case for the ratio), --port
(the receiver's; default any free one). It migrates the database, works in a dedicated tenant (slug
bench-webhooks) and deletes it afterwards.
"""
import argparse
import json
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# The dispatch benchmark's environment, Django set-up, own database (--database: created here, dropped at the end)
# and out-of-process receiver (the stub provider) come with importing bench.dispatch_throughput.
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from bench._server import print_result  # noqa: E402
from bench.dispatch_throughput import Stub, recreate_database  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint  # noqa: E402
from webhooks.secrets import endpoint_secret  # noqa: E402
from webhooks.services.delivery import deliver_pass, delivery_client, post_signed  # noqa: E402
from webhooks.services.endpoints import endpoint_create  # noqa: E402

SLUG = "bench-webhooks"
TARGET_RATIO = 0.6


def cleanup():
    tenants = Tenant.objects.filter(slug=SLUG)
    WebhookEndpoint.objects.filter(tenant__in=tenants).delete()
    tenants.delete()


def payload(tenant_id, event_id):
    activity_id = str(uuid.uuid4())
    return {"id": event_id, "type": "activity.created", "createdAt": "2026-01-16T09:00:00.000Z",
            "tenantId": str(tenant_id), "sequence": 1, "data": {
                "activity": {"id": activity_id, "type": "MESSAGE", "channel": "WHATSAPP", "status": "READY",
                             "reason": "Win back", "scheduledAt": "2026-01-16T09:00:00.000Z", "score": 7,
                             "dispatchAttemptCount": 0, "providerActivityId": None,
                             "commerceAssignment": {"commerceId": str(uuid.uuid4()), "commerce": {
                                 "id": str(uuid.uuid4()), "name": "Almacén Rosa", "externalId": "C-1001"}},
                             "createdAt": "2026-01-16T08:00:00.000Z", "updatedAt": "2026-01-16T08:00:00.000Z"},
                "event": {"eventType": "CREATED", "fromStatus": None, "toStatus": "READY", "errorCode": None,
                          "errorMessage": None, "occurredAt": "2026-01-16T08:00:00.000Z"}}}


def baseline(bodies, *, url, secret, concurrency):
    client = delivery_client()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        outcomes = list(pool.map(lambda item: post_signed(client, url=url, secret=secret, event_id=item[0],
                                                          body=item[1], timeout=settings.WEBHOOK_HTTP_TIMEOUT),
                                 bodies))
    elapsed = time.perf_counter() - started
    assert all(outcome.ok for outcome in outcomes)
    return len(bodies) / elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--port", type=int, default=0, help="the receiver's port on 127.0.0.1 (0: any free one)")
    parser.add_argument("--database", default="reten_bench_dispatch", help="its own database (created and dropped)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run this against PostgreSQL: set DATABASE_URL=postgres://...")
    settings.WEBHOOK_DELIVER_ON_COMMIT = False
    recreate_database()
    call_command("migrate", verbosity=0)
    cleanup()
    stub = Stub(args.latency, args.port)
    try:
        tenant = Tenant.objects.create(name="Bench webhooks", slug=SLUG)
        endpoint = endpoint_create(tenant=tenant, url=stub.url + "/hooks", description="bench").endpoint
        secret = endpoint_secret(endpoint)
        event_ids = [f"evt_{uuid.uuid4().hex}" for _ in range(args.events)]
        payloads = [payload(tenant.pk, event_id) for event_id in event_ids]
        bodies = [(p["id"], json.dumps(p, separators=(",", ":"))) for p in payloads]
        concurrency = settings.WEBHOOK_CONCURRENCY

        base_before = baseline(bodies, url=endpoint.url, secret=secret, concurrency=concurrency)
        WebhookDelivery.objects.bulk_create([WebhookDelivery(endpoint=endpoint, event_id=p["id"],
                                                             event_type=p["type"], payload=p) for p in payloads],
                                            batch_size=1000)
        stub.reset()
        started = time.perf_counter()
        passes = delivered = 0
        while True:
            report = deliver_pass()
            passes += 1
            delivered += report.delivered
            if not report.claimed:
                break
        elapsed = time.perf_counter() - started
        received = stub.count()
        base_after = baseline(bodies, url=endpoint.url, secret=secret, concurrency=concurrency)
        base = (base_before + base_after) / 2
        rate = delivered / elapsed
        left = WebhookDelivery.objects.filter(endpoint=endpoint).exclude(status=DeliveryStatus.DELIVERED).count()
        assert delivered == args.events and left == 0 and received == args.events, (delivered, left, received)
        ratio = rate / base
        print(f"webhook delivery: {args.events} events to one endpoint, PostgreSQL, receiver latency "
              f"{args.latency * 1000:.0f} ms, concurrency {concurrency}, batch {settings.WEBHOOK_BATCH_SIZE}")
        print(f"  baseline  {base:8.1f} deliveries/s  (HTTP + signing only; {base_before:.1f} before, "
              f"{base_after:.1f} after)")
        print(f"  delivery  {rate:8.1f} deliveries/s  ({passes} passes in {elapsed:.2f} s; receiver got {received})")
        print(f"  ratio     {ratio:8.2f}   (target >= {TARGET_RATIO}) {'OK' if ratio >= TARGET_RATIO else 'BELOW'}")
        print_result(name="webhook_delivery", figure=rate, unit="deliveries/s", baseline=base, target=TARGET_RATIO)
        return 0 if ratio >= TARGET_RATIO else 1
    finally:
        stub.stop()
        cleanup()
        connection.close()
        if not args.keep:
            recreate_database(drop_only=True)


if __name__ == "__main__":
    sys.exit(main())
