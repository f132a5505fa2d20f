"""Task result ingestion through the real HTTP stack (issue 9, SPEC 6.1).

Against gunicorn serving the real app on PostgreSQL (the server, database and RESULT line of bench/_server.py):

  baseline  POST /bench/baseline-result: same HTTP, API-key-only auth and tenancy, then one bare result INSERT
  results   POST /api/integration/activity-results/tasks: validation, matching, lock, dedupe, result type,
            the result row, the status events and the activity's transition

The results are a PENDING then a final result (COMPLETED / EFFECTIVE / NOT_EFFECTIVE / NOT_EXECUTED) for each
of count/2 DISPATCHED tasks, half matched by activity_id and half by provider_activity_id. It prints requests per
second, results/baseline (target >= 0.4), and the SQL statements of one result on a task with no history and on
one with 5 earlier results (target <= 10, the same for both).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/result_ingest.py

The benchmark creates, migrates and (unless --keep) drops its own database (default reten_bench_results).
Options: --count (5,000 results), --clients (4), --workers (2), --rounds (4: baseline and results alternate),
--port (8766).
"""
import argparse
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._server import BenchDatabase, Server, load, print_result  # noqa: E402 - the path above

TARGET_RATIO = 0.4
TARGET_QUERIES = 10
FINAL_STATUSES = ["COMPLETED", "EFFECTIVE", "NOT_EFFECTIVE", "NOT_EXECUTED"]
URL = "/api/integration/activity-results/tasks"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--database", default="reten_bench_results")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    return parser.parse_args()


def setup_data(task_count):
    """Tenant, API key, 200 commerces, a route, an operator, result types and `task_count` DISPATCHED tasks."""
    import django

    django.setup()
    from django.utils import timezone

    from activities.models import Activity, CommerceAssignment, TaskDetails, TaskResultType
    from commerces.models import Commerce, Operator, Route
    from tenants.models import Membership, Role, Tenant, User
    from tenants.services import api_key_create

    tenant = Tenant.objects.create(name="Bench results", slug=f"bench-results-{uuid.uuid4().hex[:6]}")
    user = User.objects.create_user(email=f"bench-{uuid.uuid4().hex[:6]}@bench.example", password=None)
    Membership.objects.create(user=user, tenant=tenant).roles.add(Role.objects.get(name="ADMIN"))
    _, api_key = api_key_create(tenant=tenant, creator=user, name="bench", permissions=["SUBMIT_ACTIVITY_RESULT"])
    commerces = Commerce.objects.bulk_create([
        Commerce(tenant=tenant, external_id=f"B-{n:04d}", name=f"Bench store {n}") for n in range(200)])
    route = Route.objects.create(tenant=tenant, code="BENCH", name="Bench route")
    operator = Operator.objects.create(tenant=tenant, type="SALESMAN", external_id="BENCH-OP", name="Bench",
                                       email="bench-op@bench.example")
    TaskResultType.objects.bulk_create([TaskResultType(tenant=tenant, code=code, label=code)
                                        for code in ("VISITED", "ORDER_TAKEN")])
    now = timezone.now()
    activities = Activity.objects.bulk_create([
        Activity(tenant=tenant, type="TASK", channel="SALESMAN", status="DISPATCHED", reason="Bench visit",
                 idempotency_key=f"bench-{n}", scheduled_at=now, provider_activity_id=f"prov-{n:06d}",
                 dispatched_at=now) for n in range(task_count)], batch_size=1000)
    CommerceAssignment.objects.bulk_create([
        CommerceAssignment(activity=a, commerce=commerces[n % 200], assigned_at=now)
        for n, a in enumerate(activities)], batch_size=1000)
    TaskDetails.objects.bulk_create([TaskDetails(activity=a, route=route, operator=operator) for a in activities],
                                    batch_size=1000)
    tasks = [(str(a.pk), a.provider_activity_id, commerces[n % 200].external_id) for n, a in enumerate(activities)]
    return api_key, tasks, str(commerces[0].pk)


def result(task, index, status, minute):
    activity_id, provider_id, commerce_external_id = task
    body = {"commerce_external_id": commerce_external_id, "occurred_at": f"2025-01-16T12:{minute:02d}:00Z",
            "status": status, "external_status": "bench", "raw_payload": {"bench": index},
            "task_result": {"result": "VISITED" if status == "PENDING" else "ORDER_TAKEN", "comment": "bench"}}
    if index % 2:
        body["provider_activity_id"] = provider_id
    else:
        body["activity_id"] = activity_id
    return body


def queries_per_result(api_key, tasks):
    """In-process (no outer transaction, as under gunicorn): statements of one result, with and without history."""
    from django.db import connection
    from django.test import Client

    client = Client(HTTP_X_API_KEY=api_key)
    counts = {}
    fresh, seasoned = tasks[-1], tasks[-2]
    for minute in range(5):  # five earlier PENDING results on one task
        client.post(URL, result(seasoned, 0, "PENDING", minute), content_type="application/json")
    client.post(URL, result(tasks[-3], 0, "PENDING", 0), content_type="application/json")  # warm: last_used_at
    for label, task in (("no history", fresh), ("5 earlier results", seasoned)):
        statements = []

        def count(execute, sql, params, many, context, statements=statements):
            statements.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            response = client.post(URL, result(task, 0, "COMPLETED", 30), content_type="application/json")
        assert response.status_code == 201, response.content
        assert response.json()["activityStatus"] == "COMPLETED", response.json()
        counts[label] = len(statements)
    return counts


def main():
    args = parse_args()
    half = args.count // 2
    with BenchDatabase(args.database, keep=args.keep) as env:
        api_key, tasks, commerce_id = setup_data(half + 3 + 20)
        queries = queries_per_result(api_key, tasks[half:half + 3])
        with Server(env, args.port, args.workers) as base:
            warm = tasks[half + 3:]
            load(f"{base}/bench/baseline-result", api_key, [{"commerce_id": commerce_id}] * 20, args.clients, 201)
            load(f"{base}{URL}", api_key, [result(t, i, "PENDING", 0) for i, t in enumerate(warm)], args.clients,
                 201)
            # Every task gets its PENDING result, then its final one; baseline rounds alternate with result rounds.
            payloads = [result(tasks[i], i, "PENDING", 1) for i in range(half)]
            payloads += [result(tasks[i], i, FINAL_STATUSES[i % len(FINAL_STATUSES)], 2) for i in range(half)]
            baseline_s = results_s = 0.0
            rounds = max(1, args.rounds)
            n = len(payloads)
            for round_number in range(rounds):
                part = payloads[round_number * n // rounds:(round_number + 1) * n // rounds]
                baseline_s += load(f"{base}/bench/baseline-result", api_key,
                                   [{"commerce_id": commerce_id}] * len(part), args.clients, 201)
                results_s += load(f"{base}{URL}", api_key, part, args.clients, 201)

    baseline_rate, results_rate = n / baseline_s, n / results_s
    ratio = results_rate / baseline_rate
    flat = len(set(queries.values())) == 1
    print(f"task result ingestion, {n} each, gunicorn {args.workers} workers, {args.clients} clients, PostgreSQL")
    print(f"  baseline (bare INSERT)        {baseline_rate:8.1f} req/s")
    print(f"  POST {URL} {results_rate:8.1f} req/s   ratio to baseline {ratio:.2f} "
          f"(target >= {TARGET_RATIO}) {'OK' if ratio >= TARGET_RATIO else 'BELOW TARGET'}")
    print("  SQL statements per result: " + ", ".join(f"{label}: {count}" for label, count in queries.items())
          + f" (target <= {TARGET_QUERIES}, independent of history) "
          + ("OK" if max(queries.values()) <= TARGET_QUERIES and flat else "BELOW TARGET"))
    print_result(name="result_ingest", figure=results_rate, unit="req/s", baseline=baseline_rate,
                 target=TARGET_RATIO)


if __name__ == "__main__":
    main()
