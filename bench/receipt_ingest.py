"""Delivery receipt ingestion through the real HTTP stack (issue 11, SPEC 6.2).

Against gunicorn serving the real app on PostgreSQL (the server, database and RESULT line of bench/_server.py):

  baseline  POST /bench/baseline-receipts: same HTTP, API-key-only auth and tenancy, then one bare bulk INSERT
            of the batch's receipts
  receipts  POST /api/integration/delivery-receipts/batch: validation of every item, set-based matching (by
            activity_id and by provider_activity_id), row locks, dedupe, the receipt rows, the status events and
            the activities' transitions

Each of count/2 DISPATCHED messages gets a SENT receipt, then DELIVERED, READ, UNDELIVERED or BOUNCED (half matched
by activity_id, half by provider_activity_id), posted in batches of --batch (500). It prints receipts per second
for both and their ratio (the batch route's work per receipt against a bare bulk INSERT).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/receipt_ingest.py

The benchmark creates, migrates and (unless --keep) drops its own database (default reten_bench_receipts).
Options: --count (20,000 receipts), --batch (500), --clients (2), --workers (2), --rounds (4: baseline and
receipts alternate), --port (8767).
"""
import argparse
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._server import BenchDatabase, Server, load, print_result  # noqa: E402 - the path above

CLOSING = [("DELIVERED", ""), ("READ", ""), ("UNDELIVERED", "30003"), ("BOUNCED", "5.1.1")]
URL = "/api/integration/delivery-receipts/batch"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--database", default="reten_bench_receipts")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    return parser.parse_args()


def setup_data(message_count):
    """Tenant, API key, 200 commerces and `message_count` DISPATCHED SMS messages."""
    import django

    django.setup()
    from django.utils import timezone

    from activities.models import Activity, CommerceAssignment
    from commerces.models import Commerce
    from tenants.models import Membership, Role, Tenant, User
    from tenants.services import api_key_create

    tenant = Tenant.objects.create(name="Bench receipts", slug=f"bench-receipts-{uuid.uuid4().hex[:6]}")
    user = User.objects.create_user(email=f"bench-{uuid.uuid4().hex[:6]}@bench.example", password=None)
    Membership.objects.create(user=user, tenant=tenant).roles.add(Role.objects.get(name="ADMIN"))
    _, api_key = api_key_create(tenant=tenant, creator=user, name="bench", permissions=["SUBMIT_ACTIVITY_RESULT"])
    commerces = Commerce.objects.bulk_create([
        Commerce(tenant=tenant, external_id=f"B-{n:04d}", name=f"Bench store {n}") for n in range(200)])
    now = timezone.now()
    messages = Activity.objects.bulk_create([
        Activity(tenant=tenant, type="MESSAGE", channel="SMS", status="DISPATCHED", reason="Bench message",
                 idempotency_key=f"bench-{n}", scheduled_at=now, provider_activity_id=f"sms-{n:06d}",
                 dispatched_at=now) for n in range(message_count)], batch_size=1000)
    CommerceAssignment.objects.bulk_create([
        CommerceAssignment(activity=a, commerce=commerces[n % 200], assigned_at=now)
        for n, a in enumerate(messages)], batch_size=1000)
    return api_key, [(str(a.pk), a.provider_activity_id) for a in messages]


def receipt(message, index, status, error_code, minute):
    activity_id, provider_id = message
    body = {"status": status, "occurred_at": f"2025-01-16T12:{minute:02d}:00Z", "raw_payload": {"bench": index}}
    if error_code:
        body.update(error_code=error_code, error_message="bench failure")
    if index % 2:
        body["provider_activity_id"] = provider_id
    else:
        body["activity_id"] = activity_id
    return body


def batches(items, size):
    return [{"items": items[i:i + size]} for i in range(0, len(items), size)]


def baseline_items(items, messages_by_provider):
    """The same receipts for the bare INSERT, every one naming its activity id (the INSERT matches nothing)."""
    out = []
    for item in items:
        activity_id = item.get("activity_id") or messages_by_provider[item["provider_activity_id"]]
        out.append({"activity_id": activity_id, "status": item["status"], "raw_payload": item["raw_payload"]})
    return out


def main():
    args = parse_args()
    half = args.count // 2
    with BenchDatabase(args.database, keep=args.keep) as env:
        api_key, messages = setup_data(half + 20)
        by_provider = {provider_id: activity_id for activity_id, provider_id in messages}
        warm, messages = messages[half:], messages[:half]
        with Server(env, args.port, args.workers) as base:
            warm_items = [receipt(m, i, "SENT", "", 0) for i, m in enumerate(warm)]
            load(f"{base}/bench/baseline-receipts", api_key, batches(baseline_items(warm_items, by_provider), 10),
                 args.clients, 200)
            load(f"{base}{URL}", api_key, batches(warm_items, 10), args.clients, 200)
            # Every message gets its SENT receipt, then its closing one; baseline rounds alternate with receipts.
            items = [receipt(m, i, "SENT", "", 1) for i, m in enumerate(messages)]
            items += [receipt(m, i, *CLOSING[i % len(CLOSING)], 2) for i, m in enumerate(messages)]
            product, baseline = batches(items, args.batch), batches(baseline_items(items, by_provider), args.batch)
            baseline_s = receipts_s = 0.0
            rounds = max(1, args.rounds)
            n = len(product)
            for round_number in range(rounds):
                start, end = round_number * n // rounds, (round_number + 1) * n // rounds
                baseline_s += load(f"{base}/bench/baseline-receipts", api_key, baseline[start:end], args.clients,
                                   200)
                receipts_s += load(f"{base}{URL}", api_key, product[start:end], args.clients, 200)
        check = verify(messages)

    count = len(items)
    baseline_rate, receipts_rate = count / baseline_s, count / receipts_s
    ratio = receipts_rate / baseline_rate
    print(f"delivery receipt ingestion, {count} receipts in batches of {args.batch}, gunicorn {args.workers} "
          f"workers, {args.clients} clients, PostgreSQL")
    print(f"  baseline (bare bulk INSERT)                  {baseline_rate:9.1f} receipts/s")
    print(f"  POST {URL}  {receipts_rate:9.1f} receipts/s   ratio to baseline {ratio:.2f}")
    print(f"  afterwards: {check}")
    # Issue 11 sets no target for this ratio: it is reported, not judged.
    print_result(name="receipt_ingest", figure=receipts_rate, unit="receipts/s", baseline=baseline_rate,
                 target=None)


def verify(messages):
    """Every message closed as its receipt said, with one receipt row per receipt posted."""
    from django.db.models import Count

    from activities.models import Activity, DeliveryReceipt

    ids = [activity_id for activity_id, _ in messages]
    statuses = dict(Activity.objects.filter(pk__in=ids).values_list("status").annotate(n=Count("id")))
    rows = DeliveryReceipt.objects.filter(activity_id__in=ids, occurred_at__year=2025).count()
    return f"activities {statuses}, receipt rows {rows}"


if __name__ == "__main__":
    main()
