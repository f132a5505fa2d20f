"""Mixed API traffic under load: gunicorn (4 workers) on PostgreSQL driven by Locust (issue 15).

It seeds 3 tenants with the ORM (not the API): per tenant an API key, 100 commerces with reachable people, a route,
an operator, task result types and --rows activities (READY messages, DISPATCHED tasks and messages), then runs
Locust headless on 127.0.0.1 for --duration seconds with --users users twice, side by side:

  mixed     list, detail, create, bulk create (--bulk items), cancel, integration result, delivery receipt and
            the integration task list, weighted 4:3:2:1:1:2:2:2, users round-robin over the 3 tenants
  ceiling   GET /bench/ceiling: the same HTTP, API-key auth and tenancy stack, a constant body (bench/_urls.py)

and prints requests/second, p50/p95/p99, failures and 5xx of each, then RESULT lines for bench/run (make bench).
Targets: zero failures, zero 5xx, p99 under 500 ms, mixed req/s >= 0.3 of the ceiling's.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ .venv/bin/python bench/api_load.py --duration 60

The server named in DATABASE_URL is used; the benchmark creates, migrates and (unless --keep) drops its own
database (default reten_bench_api_load). Locust runs in its own process (gevent), gunicorn in its own group.
"""
import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._server import (  # noqa: E402 - the path above makes the project importable
    BENCH_ENV,
    PYTHON,
    database_urls,
    recreate_database,
    start_server,
    stop_server,
)

SETTINGS = "bench._settings"
TENANTS = 3
TARGET_P99_MS = 500.0
TARGET_CEILING_RATIO = 0.3
LOCUSTFILE = ROOT / "bench" / "api_load_locustfile.py"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=60, help="seconds of each Locust run (60)")
    parser.add_argument("--users", type=int, default=8, help="concurrent Locust users (8)")
    parser.add_argument("--rows", type=int, default=3000, help="seeded activities per tenant (3,000)")
    parser.add_argument("--bulk", type=int, default=20, help="items per bulk create (20)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8768")))
    parser.add_argument("--database", default="reten_bench_api_load")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    return parser.parse_args()


def seed(rows):
    """Three tenants; returns what the Locust users need (API keys and ids), per tenant."""
    import django

    django.setup()
    from django.utils import timezone

    from activities.models import Activity, CommerceAssignment, TaskDetails, TaskResultType
    from commerces.models import Commerce, CommerceUser, CommerceUserRoleAssignment, Contact, Operator, Route
    from tenants.models import Membership, Role, Tenant, User
    from tenants.services import api_key_create

    out = []
    now = timezone.now()
    for t in range(TENANTS):
        tag = uuid.uuid4().hex[:6]
        tenant = Tenant.objects.create(name=f"Load tenant {t}", slug=f"load-{t}-{tag}")
        user = User.objects.create_user(email=f"load-{t}-{tag}@bench.example", password=None)
        Membership.objects.create(user=user, tenant=tenant).roles.add(Role.objects.get(name="ADMIN"))
        _, api_key = api_key_create(tenant=tenant, creator=user, name="load", permissions=[
            "CREATE_ACTIVITY", "VIEW_ACTIVITIES", "CANCEL_ACTIVITY", "SUBMIT_ACTIVITY_RESULT"])
        commerces = Commerce.objects.bulk_create([
            Commerce(tenant=tenant, external_id=f"L{t}-{n:04d}", name=f"Store {n}", tax_id=f"{n}-K",
                     metadata={"promotions": [{"code": f"P{n}"}]}) for n in range(100)])
        people = CommerceUser.objects.bulk_create([
            CommerceUser(commerce=c, external_id=f"{c.external_id}-{role}", first_name="Load", last_name=role)
            for c in commerces for role in ("REP", "OWN")])
        CommerceUserRoleAssignment.objects.bulk_create([
            CommerceUserRoleAssignment(commerce_user=p, role="COMMERCE_REP" if p.last_name == "REP" else "OWNER")
            for p in people])
        Contact.objects.bulk_create([Contact(commerce_user=p, contact_type="PHONE", value=f"+56{t}{n:08d}",
                                             is_primary=True) for n, p in enumerate(people)])
        route = Route.objects.create(tenant=tenant, code="LOAD", name="Load route")
        operator = Operator.objects.create(tenant=tenant, type="SALESMAN", external_id="LOAD-OP", name="Load",
                                           email=f"load-op-{t}@bench.example")
        TaskResultType.objects.bulk_create([TaskResultType(tenant=tenant, code=code, label=code)
                                            for code in ("VISITED", "ORDER_TAKEN")])
        kinds = []  # (type, channel, status) in thirds: READY messages, DISPATCHED tasks, DISPATCHED messages
        for n in range(rows):
            kinds.append([("MESSAGE", "SMS", "READY"), ("TASK", "SALESMAN", "DISPATCHED"),
                          ("MESSAGE", "WHATSAPP", "DISPATCHED")][n % 3])
        activities = Activity.objects.bulk_create([
            Activity(tenant=tenant, type=kind, channel=channel, status=status, reason=f"Load seed {n}",
                     idempotency_key=f"seed-{n}", scheduled_at="2030-01-01T00:00:00Z", score=n % 10,
                     provider_activity_id=f"prov-{t}-{n:06d}" if status == "DISPATCHED" else None,
                     dispatched_at=now if status == "DISPATCHED" else None)
            for n, (kind, channel, status) in enumerate(kinds)], batch_size=1000)
        CommerceAssignment.objects.bulk_create([
            CommerceAssignment(activity=a, commerce=commerces[n % 100], assigned_at=now)
            for n, a in enumerate(activities)], batch_size=1000)
        tasks = [a for a in activities if a.type == "TASK"]
        TaskDetails.objects.bulk_create([TaskDetails(activity=a, route=route, operator=operator) for a in tasks],
                                        batch_size=1000)
        by_id = {a.pk: commerces[n % 100] for n, a in enumerate(activities)}
        out.append({
            "api_key": api_key,
            "commerce_ids": [str(c.pk) for c in commerces],
            "detail_ids": [str(a.pk) for a in activities[::7]],
            "cancel_ids": [str(a.pk) for a in activities if a.status == "READY"],
            "task_ids": [(str(a.pk), by_id[a.pk].external_id) for a in tasks],
            "message_ids": [str(a.pk) for a in activities if a.type == "MESSAGE" and a.status == "DISPATCHED"],
        })
    return out


def locust(env, *, host, mode, users, duration, run, data_path, workdir):
    """One headless Locust run; returns its aggregated stats and the failures by message."""
    prefix = Path(workdir) / f"{mode}-{run}"
    command = [str(Path(PYTHON).parent / "locust"), "-f", str(LOCUSTFILE), "--headless", "--host", host,
               "--users", str(users), "--spawn-rate", str(users), "--run-time", f"{duration}s", "--stop-timeout", "10",
               "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0"]
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                   env={**env, "BENCH_LOAD_DATA": str(data_path), "BENCH_LOAD_MODE": mode, "BENCH_LOAD_RUN": str(run)})
    with open(f"{prefix}_stats.csv") as handle:
        rows = list(csv.DictReader(handle))
    failures = []
    with open(f"{prefix}_failures.csv") as handle:
        failures = list(csv.DictReader(handle))
    aggregated = next(r for r in rows if r["Name"] == "Aggregated")
    per_route = [r for r in rows if r["Name"] != "Aggregated"]
    return aggregated, per_route, failures


def summary(aggregated, failures):
    # The locustfile's failure message starts with the status: CatchResponseError('503 {...}').
    fivexx = sum(int(f["Occurrences"]) for f in failures if re.search(r"^\w*\(?['\"]?5\d\d\b", f["Error"]))
    return {"requests": int(aggregated["Request Count"]), "failures": int(aggregated["Failure Count"]),
            "rps": float(aggregated["Requests/s"]), "p50": float(aggregated["50%"]),
            "p95": float(aggregated["95%"]), "p99": float(aggregated["99%"]), "fivexx": fivexx}


def result(name, figure, unit, baseline, target, higher_is_better=True):
    ratio = figure / baseline if baseline else None
    print("RESULT " + json.dumps({"name": name, "figure": round(figure, 3), "unit": unit,
                                  "baseline": None if baseline is None else round(baseline, 3),
                                  "ratio": None if ratio is None else round(ratio, 3), "target": target,
                                  "higher_is_better": higher_is_better}), flush=True)
    if target is None:
        return True
    return (ratio if baseline else figure) >= target if higher_is_better else figure <= target


def main():
    args = parse_args()
    admin_url, bench_url = database_urls(args.database)
    env = {**os.environ, **BENCH_ENV, "DJANGO_SETTINGS_MODULE": SETTINGS, "DATABASE_URL": bench_url,
           # A checkout has no collected static files: whitenoise would say so in every worker.
           "PYTHONWARNINGS": "ignore::UserWarning"}
    os.environ.update({k: v for k, v in env.items() if k in (*BENCH_ENV, "DATABASE_URL")})
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    print(f"api load: database {args.database}, seeding {TENANTS} tenants x {args.rows} activities", flush=True)
    recreate_database(admin_url, args.database)
    server = None
    try:
        subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        tenants = seed(args.rows)
        from django.db import connections

        connections.close_all()
        server = start_server(env, args.port, args.workers)
        host = f"http://127.0.0.1:{args.port}"
        with tempfile.TemporaryDirectory(prefix="reten-api-load-") as workdir:
            data_path = Path(workdir) / "data.json"
            data_path.write_text(json.dumps({"tenants": tenants, "bulk_size": args.bulk}))
            common = {"host": host, "users": args.users, "data_path": data_path, "workdir": workdir}
            print("  warming up (5 s each)", flush=True)
            locust(env, mode="ceiling", duration=5, run=1, **common)
            locust(env, mode="mixed", duration=5, run=1, **common)
            # The ceiling runs half the time before and half after the mixed run, so a change in the machine's
            # background load weighs on both alike.
            half = max(1, args.duration // 2)
            print(f"  ceiling (before): {half} s, {args.users} users", flush=True)
            before = locust(env, mode="ceiling", duration=half, run=2, **common)
            print(f"  mixed: {args.duration} s, {args.users} users", flush=True)
            mixed_agg, routes, mixed_fail = locust(env, mode="mixed", duration=args.duration, run=3, **common)
            print(f"  ceiling (after): {half} s, {args.users} users", flush=True)
            after = locust(env, mode="ceiling", duration=half, run=2, **common)
    finally:
        if server is not None:
            stop_server(server)
        from django.db import connections

        connections.close_all()
        if not args.keep:
            recreate_database(admin_url, args.database, drop_only=True)

    mixed = summary(mixed_agg, mixed_fail)
    first, second = summary(before[0], before[2]), summary(after[0], after[2])
    ceiling = {key: (first[key] + second[key]) / 2 if key in ("rps", "p50", "p95", "p99") else first[key] + second[key]
               for key in first}
    ceiling_fail = before[2] + after[2]
    print(f"api load, gunicorn {args.workers} workers, {args.users} Locust users, {args.duration} s each, "
          f"{TENANTS} tenants x {args.rows} seeded activities, PostgreSQL")
    print(f"  ceiling before {first['rps']:.1f} req/s, after {second['rps']:.1f} req/s; the mean below")
    for label, s in (("ceiling", ceiling), ("mixed", mixed)):
        print(f"  {label:8} {s['rps']:8.1f} req/s  p50 {s['p50']:.0f} ms  p95 {s['p95']:.0f} ms  p99 {s['p99']:.0f} ms"
              f"  {s['requests']} requests, {s['failures']} failures, {s['fivexx']} 5xx")
    print("  mixed by route:")
    for row in routes:
        print(f"    {row['Name']:42} {int(row['Request Count']):6} req  {int(row['Failure Count']):4} failed  "
              f"p50 {float(row['50%']):5.0f}  p95 {float(row['95%']):5.0f}  p99 {float(row['99%']):5.0f} ms")
    for failure in (mixed_fail + ceiling_fail)[:10]:
        print(f"  failure x{failure['Occurrences']}: {failure['Method']} {failure['Name']}: {failure['Error'][:200]}")
    ok = [
        result("api_load.mixed_rps_vs_ceiling", mixed["rps"], "req/s", ceiling["rps"], TARGET_CEILING_RATIO),
        result("api_load.mixed_p99", mixed["p99"], "ms", None, TARGET_P99_MS, higher_is_better=False),
        result("api_load.mixed_p95", mixed["p95"], "ms", None, None, higher_is_better=False),
        result("api_load.mixed_p50", mixed["p50"], "ms", None, None, higher_is_better=False),
        result("api_load.mixed_failures", mixed["failures"] + ceiling["failures"], "requests", None, 0,
               higher_is_better=False),
        result("api_load.mixed_5xx", mixed["fivexx"] + ceiling["fivexx"], "requests", None, 0,
               higher_is_better=False),
    ]
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
