"""Activity creation throughput through the real HTTP stack (issue 4, SPEC 4.3).

Against gunicorn (2 sync workers) serving the real app on PostgreSQL, it measures:

  baseline   POST /bench/baseline-activity: same HTTP, API-key auth and tenancy, then one bare activity INSERT
  single     POST /api/activities: validation, idempotency, target + attribute resolution, 5-6 INSERTs
  bulk       the same bodies through POST /api/activities/bulk in batches of 500

and prints requests (activities) per second, single/baseline (target >= 0.35), bulk/single (target >= 5),
and the SQL queries of one create for 0..5 attribute keys (target <= 15, flat from 1 to 5 keys).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/activity_create.py

The server named in DATABASE_URL is used; the benchmark creates, migrates and (unless --keep) drops its own
database (default reten_bench_activities). Options: --count (2,000), --clients (4 concurrent HTTP clients),
--batch (500), --workers (2), --rounds (4: baseline and single creates alternate, so background load that
changes during the run weighs on both alike), --port (8765). The server, database and the final
`RESULT {json}` line come from bench/_server.py.
"""
import argparse
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._server import BenchDatabase, Server, load, print_result  # noqa: E402 - the path above

TARGET_RATIO = 0.35
TARGET_QUERIES = 15
TARGET_BULK_FACTOR = 5
MAIN_KEYS = ["commerce_info", "promotions"]
EXTRA_KEYS = ["bench_segment", "bench_tier"]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=4, help="baseline and single alternate in this many rounds")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database", default="reten_bench_activities")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    return parser.parse_args()


def setup_data(count):
    """Tenant, API key, 200 commerces with reachable people, two extra caller-provided attribute keys."""
    import django

    django.setup()
    from activities.models import AttributeKey, AttributePolicy, AttributeStrategy
    from commerces.models import Commerce, CommerceUser, CommerceUserRoleAssignment, Contact
    from tenants.models import Membership, Role, Tenant, User
    from tenants.services import api_key_create

    tenant = Tenant.objects.create(name="Bench activities", slug=f"bench-activities-{uuid.uuid4().hex[:6]}")
    user = User.objects.create_user(email=f"bench-{uuid.uuid4().hex[:6]}@bench.example", password=None)
    Membership.objects.create(user=user, tenant=tenant).roles.add(Role.objects.get(name="ADMIN"))
    _, api_key = api_key_create(tenant=tenant, creator=user, name="bench", permissions=["CREATE_ACTIVITY",
                                                                                        "VIEW_ACTIVITIES"])
    commerces = Commerce.objects.bulk_create([
        Commerce(tenant=tenant, external_id=f"B-{n:04d}", name=f"Bench store {n}", tax_id=f"{n}-K",
                 metadata={"promotions": [{"code": f"P{n}"}]}) for n in range(200)])
    people = CommerceUser.objects.bulk_create([
        CommerceUser(commerce=c, external_id=f"{c.external_id}-{role}", first_name="Bench", last_name=role)
        for c in commerces for role in ("REP", "OWN")])
    CommerceUserRoleAssignment.objects.bulk_create([
        CommerceUserRoleAssignment(commerce_user=p, role="COMMERCE_REP" if p.last_name == "REP" else "OWNER")
        for p in people])
    Contact.objects.bulk_create([Contact(commerce_user=p, contact_type="PHONE", value=f"+569{n:08d}",
                                         is_primary=True) for n, p in enumerate(people)])
    for key in EXTRA_KEYS:
        attribute_key, _ = AttributeKey.objects.get_or_create(key=key, defaults={"label": key})
        AttributePolicy.objects.create(tenant=tenant, attribute_key=attribute_key,
                                       strategy=AttributeStrategy.CALLER_PROVIDED)
    return tenant, api_key, [str(c.pk) for c in commerces]


def body(commerce_id, key, attribute_keys=MAIN_KEYS):
    caller = [{"key": k, "value": {"bench": k}} for k in attribute_keys if k in ("last_order", *EXTRA_KEYS)]
    return {"type": "MESSAGE", "reason": "Bench win back", "channel": "WHATSAPP", "commerce_id": commerce_id,
            "idempotency_key": key, "scheduled_at": "2030-01-16T09:00:00Z", "score": 5,
            "attribute_keys": [k for k in attribute_keys if k not in ("last_order", *EXTRA_KEYS)],
            "attributes": caller}


def queries_per_create(api_key, commerce_ids):
    """In-process (no outer transaction, as under gunicorn): SQL statements of one create by number of keys."""
    from django.db import connection
    from django.test import Client

    counts = {}
    client = Client(HTTP_X_API_KEY=api_key)
    keysets = [[], ["commerce_info"], MAIN_KEYS, [*MAIN_KEYS, "last_order"], [*MAIN_KEYS, "last_order", EXTRA_KEYS[0]],
               [*MAIN_KEYS, "last_order", *EXTRA_KEYS]]
    for index, keys in enumerate(keysets):
        statements = []

        def count(execute, sql, params, many, context, statements=statements):
            statements.append(sql)
            return execute(sql, params, many, context)

        payload = body(commerce_ids[index], f"count-{index}", keys)
        client.post("/api/activities", payload, content_type="application/json")  # warm: last_used_at, caches
        payload["idempotency_key"] = f"count-{index}-measured"
        with connection.execute_wrapper(count):
            response = client.post("/api/activities", payload, content_type="application/json")
        assert response.status_code == 201, response.content
        assert response.json()["status"] == "READY", response.json()
        counts[len(keys)] = len(statements)
    return counts


def main():
    args = parse_args()
    with BenchDatabase(args.database, keep=args.keep) as env:
        tenant, api_key, commerce_ids = setup_data(args.count)
        queries = queries_per_create(api_key, commerce_ids)
        with Server(env, args.port, args.workers) as base:
            n = args.count
            run_id = uuid.uuid4().hex[:6]
            # Warm both endpoints (imports, connections) before timing.
            load(f"{base}/bench/baseline-activity", api_key, [{"idempotency_key": f"warm-{run_id}-{i}"}
                                                               for i in range(20)], args.clients, 201)
            load(f"{base}/api/activities", api_key, [body(commerce_ids[i % 200], f"warm-single-{run_id}-{i}")
                                                     for i in range(20)], args.clients, 201)
            # Baseline and single creates alternate in rounds, so a change in background load hits both alike.
            baseline_s = single_s = 0.0
            rounds = max(1, args.rounds)
            for round_number in range(rounds):
                part = range(round_number * n // rounds, (round_number + 1) * n // rounds)
                baseline_s += load(f"{base}/bench/baseline-activity", api_key,
                                   [{"idempotency_key": f"base-{run_id}-{i}"} for i in part], args.clients, 201)
                single_s += load(f"{base}/api/activities", api_key,
                                 [body(commerce_ids[i % 200], f"single-{run_id}-{i}") for i in part],
                                 args.clients, 201)
            batches = [{"items": [body(commerce_ids[i % 200], f"bulk-{run_id}-{i}")
                                  for i in range(start, min(start + args.batch, n))]}
                       for start in range(0, n, args.batch)]
            bulk_s = load(f"{base}/api/activities/bulk", api_key, batches, min(args.workers, len(batches)), 200)

    baseline_rate, single_rate, bulk_rate = n / baseline_s, n / single_s, n / bulk_s
    ratio, factor = single_rate / baseline_rate, bulk_rate / single_rate
    flat = len({count for keys, count in queries.items() if keys >= 1}) == 1
    print(f"activity creation, {n} each, gunicorn {args.workers} workers, {args.clients} clients, PostgreSQL")
    print(f"  baseline (bare INSERT)   {baseline_rate:8.1f} req/s")
    print(f"  single POST /activities  {single_rate:8.1f} req/s   ratio to baseline {ratio:.2f} "
          f"(target >= {TARGET_RATIO}) {'OK' if ratio >= TARGET_RATIO else 'BELOW TARGET'}")
    print(f"  bulk, batches of {args.batch}     {bulk_rate:8.1f} activities/s   {factor:.1f}x single "
          f"(target >= {TARGET_BULK_FACTOR}x) {'OK' if factor >= TARGET_BULK_FACTOR else 'BELOW TARGET'}")
    print("  SQL queries per create by number of attribute keys: "
          + ", ".join(f"{keys}: {count}" for keys, count in sorted(queries.items()))
          + f" (target <= {TARGET_QUERIES}, flat from 1 to 5) "
          + ("OK" if max(queries.values()) <= TARGET_QUERIES and flat else "BELOW TARGET"))
    print_result(name="activity_create", figure=single_rate, unit="req/s", baseline=baseline_rate,
                 target=TARGET_RATIO)


if __name__ == "__main__":
    main()
