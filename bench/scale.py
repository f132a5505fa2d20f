"""The hot read paths at production size (issue 15): 1,000,000 activities over 50 tenants against 10,000.

Loads two sets of 50 tenants into one database: the small one (--small, default 10,000 activities) and the large
one (--rows, default 1,000,000), then measures each path on both in alternating rounds, so a burst of load on the
shared machine hits both figures alike. Rows are written with COPY (psycopg 3 `cursor.copy`), never through the
API; like a restore, the trigram indexes are built once after the load. The data grows the way a production
database grows: by history. Every size has the same daily volume (10,000 activities are the last 3 days; 1,000,000
are 300 days), so the recent work — READY activities due now, the last day's report — is the same and only the
history is larger. One tenant (the one measured) holds 30% of the rows (300,000 at the default size: the case of
issue 15); the other 49 share the rest. A third of the activities are TASKs (operator, route, a last result once
closed).

Measured, each through the real code (the API views with Django's test client, the dispatcher's claim, the
result lookup of result submission, activities/reports.py), as p50/p95 of --repeat runs (and the SQL time of one):
  claim          the dispatcher's claim of one batch (dispatch/services/dispatcher/claims.py claim_due, rolled back)
  list p1        GET /api/activities (page 1), and `list deep`: page 500 (or the last page when there are fewer)
  search         GET /api/activities?search=... (a commerce external id; an idempotency-key fragment)
  ordering=X     GET /api/activities?ordering=X, each allowed ordering (SPEC 4.4), page 1
  integration    GET /api/integration/activities/tasks (SPEC 6.4), page 1 and with status=PENDING
  report         activities_report by status and effectiveness_report over the last day
  result lookup  the activity of a task result by provider_activity_id (activities/services/results.py)
Targets: each large figure within 2x of its small figure; the list's p95 under 150 ms; the EXPLAIN of each hot
query uses an index (every plan is printed; a Seq Scan on a table this benchmark fills is flagged).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reten_bench_scale .venv/bin/python bench/scale.py --rows 100000

DATABASE_URL names a migrated-or-empty PostgreSQL database that this script may fill (it migrates it); `make
bench` gives it a throwaway one. Prints `RESULT {json}` lines (bench/run_all.py collects them).
"""
import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reten.settings")
# A benchmark needs no real secrets; these defaults apply only when the environment has none.
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz-0123456789")
os.environ.setdefault("RETEN_CREDENTIALS_KEYS", "bench:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from activities import reports  # noqa: E402
from activities.models import Activity  # noqa: E402
from activities.services import results as result_services  # noqa: E402
from commerces.models import Commerce, Operator, Route  # noqa: E402
from dispatch.services import dispatcher  # noqa: E402
from tenants.models import Membership, Role, Tenant, User  # noqa: E402
from tenants.services import api_key_create  # noqa: E402

TENANTS = 50
LOADED_TABLES = ("activities_activity", "activities_commerceassignment", "activities_taskdetails",
                 "activities_taskresult")
BIG_SHARE = 0.30
COMMERCES_PER_TENANT = 200
PER_DAY = 10_000 / 3  # activities a day over all tenants, whatever the size
CHUNK = 20_000
LIST_P95_MS = 150
RATIO_LIMIT = 2.0
SLUG_PREFIX = "bench-scale-"
MESSAGE_CHANNELS = ["SMS", "EMAIL", "WHATSAPP"]
TASK_CHANNELS = ["SALESMAN", "CALLCENTER"]
REASONS = ["Win back after {n} days without orders", "Reactivation campaign {n}", "Upsell new catalogue {n}",
           "Payment reminder {n}", "Visit to check stock {n}", "Survey after delivery {n}"]
RESULTS = [("EFFECTIVE", "VISITED"), ("NOT_EFFECTIVE", "VISITED"), ("NOT_EXECUTED", "ABSENT")]

ACTIVITY_COLUMNS = ("id", "created_at", "updated_at", "type", "channel", "status", "reason", "idempotency_key",
                    "request_hash", "scheduled_at", "score", "provider_activity_id", "dispatch_attempt_count",
                    "last_dispatch_error", "dispatched_at", "completed_at", "tenant_id", "last_result_id",
                    "failed_by")
ASSIGNMENT_COLUMNS = ("id", "created_at", "updated_at", "assignment_reason", "assigned_at", "activity_id",
                      "commerce_id")
DETAILS_COLUMNS = ("id", "created_at", "updated_at", "activity_id", "operator_id", "route_id")
RESULT_COLUMNS = ("id", "created_at", "updated_at", "source", "provider_activity_id", "status", "occurred_at",
                  "hard_override", "result_code", "actor_type", "dedupe_key", "activity_id", "commerce_id",
                  "tenant_id")


def say(line):
    print(line, flush=True)


# --- loading ---------------------------------------------------------------------------------------------------

def setup_tenants(label):
    """50 tenants, each with 200 commerces, 20 operators, 10 routes; an API key on the measured (first) one."""
    run = f"{label}-{uuid.uuid4().hex[:6]}"
    tenants = Tenant.objects.bulk_create([Tenant(name=f"Bench scale {label} {n}", slug=f"{SLUG_PREFIX}{run}-{n}")
                                          for n in range(TENANTS)])
    world = []
    for n, tenant in enumerate(tenants):
        commerces = Commerce.objects.bulk_create([
            Commerce(tenant=tenant, external_id=f"B{n:02d}-{c:04d}", name=f"Store {c} of tenant {n}")
            for c in range(COMMERCES_PER_TENANT)])
        operators = Operator.objects.bulk_create([
            Operator(tenant=tenant, external_id=f"OP-{o}", name=f"Operator {o}", type="SALESMAN") for o in range(20)])
        routes = Route.objects.bulk_create([Route(tenant=tenant, code=f"R-{r}", name=f"Route {r}")
                                            for r in range(10)])
        world.append(SimpleNamespace(tenant=tenant, index=n, commerces=[c.pk for c in commerces],
                                     operators=[o.pk for o in operators], routes=[r.pk for r in routes]))
    user = User.objects.create_user(email=f"bench-scale-{run}@bench.example", password=None)
    Membership.objects.create(user=user, tenant=tenants[0]).roles.add(Role.objects.get(name="ADMIN"))
    _, api_key = api_key_create(tenant=tenants[0], creator=user, name="bench scale",
                                permissions=["VIEW_ACTIVITIES", "CREATE_ACTIVITY"])
    return SimpleNamespace(places=world, api_key=api_key, tenant=tenants[0])


def generate(n, places, now, rng):
    """Activity n: n = 0 is the newest; a larger n is older (history)."""
    age = timedelta(days=n / PER_DAY + rng.random() / PER_DAY)
    created = now - age
    place = places[0] if rng.random() < BIG_SHARE else places[1 + rng.randrange(TENANTS - 1)]
    is_task = rng.random() < 1 / 3
    channel = rng.choice(TASK_CHANNELS if is_task else MESSAGE_CHANNELS)
    hours = age.total_seconds() / 3600
    roll = rng.random()
    if hours < 24 and roll < 0.35:
        status = "READY"
    elif hours < 48 and roll < 0.6:
        status = "DISPATCHED"
    else:
        status = "COMPLETED" if roll < 0.75 else "FAILED" if roll < 0.9 else "CANCELED"
    scheduled = created + timedelta(minutes=rng.choice([0, 0, 5, 60]))
    dispatched = scheduled + timedelta(seconds=rng.expovariate(1 / 30)) if status not in ("READY", "CANCELED") else None
    completed = dispatched + timedelta(minutes=rng.expovariate(1 / 90)) if status == "COMPLETED" else None
    return SimpleNamespace(
        id=uuid.uuid4(), created=created, place=place, is_task=is_task, channel=channel, status=status,
        scheduled=scheduled, dispatched=dispatched, completed=completed,
        score=None if rng.random() < 0.2 else rng.randrange(101),
        reason=rng.choice(REASONS).format(n=rng.randrange(1, 90)),
        key=f"idem-{place.index}-{n:07d}", provider=f"prov-{n:07d}" if dispatched else None,
        commerce=rng.choice(place.commerces))


def load(stop, world, now, rng):
    """Activities start..stop-1 (with assignments, task details and last results) by COPY, CHUNK per transaction."""
    started = time.perf_counter()
    for offset in range(0, stop, CHUNK):
        rows = [generate(n, world.places, now, rng) for n in range(offset, min(offset + CHUNK, stop))]
        activities, assignments, details, results = [], [], [], []
        for a in rows:
            tenant_id = a.place.tenant.pk
            last_result = None
            if a.is_task and a.status in ("COMPLETED", "FAILED"):
                last_result = uuid.uuid4()
                status, code = RESULTS[2] if a.status == "FAILED" else rng.choice(RESULTS[:2])
                occurred = a.completed or a.dispatched or a.created
                results.append((last_result, occurred, occurred, "RETEN_ACTIVITY", a.provider, status, occurred,
                                False, code, "API_KEY", uuid.uuid4().hex, a.id, a.commerce, tenant_id))
            failed_by = "EXECUTION_FAILED" if a.status == "FAILED" and a.is_task else (
                "DISPATCH_FAILED" if a.status == "FAILED" else "")
            activities.append((a.id, a.created, a.completed or a.dispatched or a.created, "TASK" if a.is_task
                               else "MESSAGE", a.channel, a.status, a.reason, a.key, "", a.scheduled, a.score,
                               a.provider, 1 if a.dispatched else 0, "", a.dispatched, a.completed, tenant_id,
                               last_result, failed_by))
            assignments.append((uuid.uuid4(), a.created, a.created, "", a.created, a.id, a.commerce))
            if a.is_task:
                details.append((uuid.uuid4(), a.created, a.created, a.id, rng.choice(a.place.operators),
                                rng.choice(a.place.routes)))
        with transaction.atomic():
            raw = connection.connection.cursor()
            for table, columns, data in (("activities_activity", ACTIVITY_COLUMNS, activities),
                                         ("activities_taskresult", RESULT_COLUMNS, results),
                                         ("activities_commerceassignment", ASSIGNMENT_COLUMNS, assignments),
                                         ("activities_taskdetails", DETAILS_COLUMNS, details)):
                with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in data:
                        copy.write_row(row)
        done = min(offset + CHUNK, stop)
        rate = done / (time.perf_counter() - started)
        say(f"  loaded {done:>9,} activities ({rate:,.0f}/s)")


def drop_trigram_indexes():
    """Like a restore, the bulk load builds the trigram (GIN) indexes of activities once at the end instead of
    row by row; [(name, definition)] to rebuild."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'activities_activity' "
                       "AND indexdef LIKE '%%gin_trgm_ops%%'")
        deferred = cursor.fetchall()
        for name, _ in deferred:
            cursor.execute(f'DROP INDEX "{name}"')
    return deferred


def rebuild(deferred):
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '256MB'")
        for _, definition in deferred:
            cursor.execute(definition)
    if deferred:
        say(f"  rebuilt {len(deferred)} trigram indexes in {time.perf_counter() - started:.1f} s")


def analyze():
    with connection.cursor() as cursor:
        for table in ("activities_activity", "activities_commerceassignment", "activities_taskdetails",
                      "activities_taskresult", "commerces_commerce"):
            cursor.execute(f"VACUUM ANALYZE {table}")


# --- measuring -------------------------------------------------------------------------------------------------

class Rollback(Exception):
    pass


def percentiles(times):
    times = sorted(times)
    return {"p50": statistics.median(times), "p95": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]}


def timed_side_by_side(runs, repeat):
    """runs: {label: callable}. Each round runs each once, so a burst of load on the machine hits all alike."""
    for run in runs.values():
        run()  # warm (plans, caches)
    times = {label: [] for label in runs}
    for _ in range(repeat):
        for label, run in runs.items():
            started = time.perf_counter()
            run()
            times[label].append((time.perf_counter() - started) * 1000)
    return {label: percentiles(values) for label, values in times.items()}


def explain(run):
    """EXPLAIN of each statement `run` sends that reads an activities table: ([(sql, plan, seq_scans)], SQL ms).
    A Seq Scan is flagged on the tables this benchmark fills (one on an empty table, e.g. receipts, is no cost)."""
    with CaptureQueriesContext(connection) as captured:
        try:
            with transaction.atomic():
                run()
                raise Rollback
        except Rollback:
            pass
    plans = []
    for query in captured.captured_queries:
        sql = query["sql"]
        if not sql.lstrip().upper().startswith("SELECT") or "activities_" not in sql:
            continue
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {sql}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        plans.append((sql, plan, [line.strip() for line in plan.splitlines()
                                  if any(f"Seq Scan on {table} " in line for table in LOADED_TABLES)]))
    sql_ms = sum(float(query["time"]) for query in captured.captured_queries) * 1000
    return plans, sql_ms


def api(client, path, expect=200):
    def run():
        response = client.get(path)
        if response.status_code != expect:
            raise SystemExit(f"GET {path} answered {response.status_code}: {response.content[:300]!r}")
        return response
    return run


def deep_page_of(world):
    return min(500, max(1, -(-Activity.objects.filter(tenant=world.tenant).count() // 25)))


def cases(world, now):
    """[(name, callable)] of the hot paths, for the measured tenant of `world`."""
    tenant = world.tenant
    client = Client(HTTP_X_API_KEY=world.api_key)
    configs = {channel: SimpleNamespace(settings={}) for channel in MESSAGE_CHANNELS + TASK_CHANNELS}
    # The oldest dispatched activity of the measured tenant: its provider id is deep in the index at any size.
    provider_id = (Activity.objects.filter(tenant=tenant, provider_activity_id__isnull=False)
                   .order_by("created_at").values_list("provider_activity_id", flat=True).first())
    window = {"tenant": tenant, "date_from": now - timedelta(days=1), "date_to": now}

    def claim():
        with transaction.atomic():
            dispatcher.claim_due(tenant_id=tenant.pk, configs_by_channel=configs,
                                 quota=settings.DISPATCH_BATCH_SIZE)
            transaction.set_rollback(True)

    def lookup():
        with transaction.atomic():
            found = result_services._locked_match(tenant=tenant, data={"provider_activity_id": provider_id})
            assert found is not None, provider_id
            transaction.set_rollback(True)

    named = [("claim", claim),
             ("list p1", api(client, "/api/activities")),
             ("list deep page", api(client, f"/api/activities?page={deep_page_of(world)}")),
             ("search commerce id", api(client, "/api/activities?search=B00-0007")),
             ("search key fragment", api(client, "/api/activities?search=idem-0-00001"))]
    for ordering in ("scheduled_at", "-scheduled_at", "created_at", "-created_at", "score", "-score"):
        named.append((f"ordering={ordering}", api(client, f"/api/activities?ordering={ordering}")))
    named += [("integration list", api(client, "/api/integration/activities/tasks")),
              ("integration PENDING", api(client, "/api/integration/activities/tasks?status=PENDING")),
              ("report by status (1 day)", lambda: reports.activities_report(**window, group_by=["status"])),
              ("report effectiveness (1 day)", lambda: reports.effectiveness_report(**window)),
              ("result lookup", lookup)]
    return named


def measure(small, large, now, repeat, show_plans):
    """{name: {"small": {p50, p95}, "large": {...}}}, {name: [Seq Scan lines of the large plans]}"""
    say(f"measuring side by side: {Activity.objects.filter(tenant=small.tenant).count():,} and "
        f"{Activity.objects.filter(tenant=large.tenant).count():,} activities in the measured tenants; deep pages "
        f"{deep_page_of(small)} and {deep_page_of(large)}; p50/p95 of {repeat} runs each")
    figures, flags = {}, {}
    for (name, run_small), (_, run_large) in zip(cases(small, now), cases(large, now), strict=True):
        figures[name] = timed_side_by_side({"small": run_small, "large": run_large}, repeat)
        plans, sql_ms = explain(run_large)
        flags[name] = [line for _, _, seq in plans for line in seq]
        f = figures[name]
        say(f"  {name:<30} small p50 {f['small']['p50']:7.1f} p95 {f['small']['p95']:7.1f} ms   "
            f"large p50 {f['large']['p50']:7.1f} p95 {f['large']['p95']:7.1f} ms (SQL {sql_ms:6.1f} ms of one run)"
            + (f"   SEQ SCAN: {flags[name]}" if flags[name] else ""))
        if show_plans:
            for sql, plan, _ in plans:
                say(f"    -- {sql[:160]}{'...' if len(sql) > 160 else ''}")
                for line in plan.splitlines():
                    say(f"       {line}")
    return figures, flags


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--quiet-plans", action="store_true", help="do not print the EXPLAIN plans")
    parser.add_argument("--keep", action="store_true", help="keep the loaded rows afterwards")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run this against PostgreSQL: set DATABASE_URL=postgres://...")
    if args.rows <= args.small:
        sys.exit("--rows must be larger than --small")
    say(f"scale: {args.small:,} and {args.rows:,} activities, each over {TENANTS} tenants, PostgreSQL")
    call_command("migrate", verbosity=0)
    rng = random.Random(15)
    now = timezone.now()
    small, large = setup_tenants("small"), setup_tenants("large")
    deferred = []
    try:
        with override_settings(ALLOWED_HOSTS=["testserver"], SECURE_SSL_REDIRECT=False):
            deferred = drop_trigram_indexes()
            say(f"loading {args.small:,} activities (history: {args.small / PER_DAY:.0f} days)")
            load(args.small, small, now, rng)
            say(f"loading {args.rows:,} activities (history: {args.rows / PER_DAY:.0f} days)")
            load(args.rows, large, now, rng)
            rebuild(deferred)
            deferred = []
            analyze()
            figures, flags = measure(small, large, now, args.repeat, show_plans=not args.quiet_plans)
    finally:
        rebuild(deferred)  # after a failure during the load: leave the schema as the migrations made it
        if not args.keep:
            say("removing the benchmark tenants and their rows")
            cleanup([small, large])
    report(figures, flags, args)


def report(figures, flags, args):
    failed = []
    say(f"\n{'':<30} {'p95 ' + format(args.small, ','):>12} {'p95 ' + format(args.rows, ','):>12} {'ratio':>6}  target")
    for name, f in figures.items():
        small, large = f["small"]["p95"], f["large"]["p95"]
        ratio = large / small
        is_list = name.startswith(("list", "search", "ordering"))
        ok = ratio <= RATIO_LIMIT and not flags[name] and not (is_list and large >= LIST_P95_MS)
        if not ok:
            failed.append(name)
        say(f"{name:<30} {small:10.1f}ms {large:10.1f}ms {ratio:6.2f}  <= {RATIO_LIMIT}x"
            f"{' and < 150 ms' if is_list else ''}{', SEQ SCAN' if flags[name] else ''}  {'ok' if ok else 'MISSED'}")
        # The large figure is the measurement and the small one its baseline; ratio = large / small, at most 2.
        result(f"scale {name}: p95 at {args.rows:,} vs {args.small:,}", large, "ms", small, ratio, RATIO_LIMIT)
        if is_list:
            result(f"scale {name}: p95 at {args.rows:,} under {LIST_P95_MS} ms", large, "ms", LIST_P95_MS,
                   large / LIST_P95_MS, 1.0)
    seq = sorted(name for name in flags if flags[name])
    result("scale: hot queries with a Seq Scan on a loaded table", len(seq), "queries", 0, len(seq), 0)
    say("all within target" if not failed else f"missed: {', '.join(failed)}")


def result(name, figure, unit, baseline, ratio, target):
    """One RESULT line for bench/run_all.py: here lower is better (ratio at most target)."""
    line = {"name": name, "figure": round(figure, 2), "unit": unit, "baseline": round(baseline, 2),
            "ratio": round(ratio, 3), "target": target, "higher_is_better": False}
    print("RESULT " + json.dumps(line), flush=True)


def cleanup(worlds):
    ids = [str(place.tenant.pk) for world in worlds for place in world.places]
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # bulk delete without per-row FK triggers
        for table in ("activities_taskdetails", "activities_commerceassignment"):
            cursor.execute(f"DELETE FROM {table} t USING activities_activity a WHERE t.activity_id = a.id "
                           "AND a.tenant_id = ANY(%s::uuid[])", [ids])
        for table in ("activities_statusevent", "dispatch_dispatchattempt"):
            cursor.execute(f"DELETE FROM {table} t USING activities_activity a WHERE t.activity_id = a.id "
                           "AND a.tenant_id = ANY(%s::uuid[])", [ids])
        for table in ("activities_taskresult", "activities_activity", "commerces_operator", "commerces_route",
                      "commerces_commerce", "tenants_apikey", "tenants_membership_roles", "tenants_membership"):
            if table == "tenants_membership_roles":
                cursor.execute("DELETE FROM tenants_membership_roles WHERE membership_id IN "
                               "(SELECT id FROM tenants_membership WHERE tenant_id = ANY(%s::uuid[]))", [ids])
                continue
            cursor.execute(f"DELETE FROM {table} WHERE tenant_id = ANY(%s::uuid[])", [ids])
        cursor.execute("DELETE FROM tenants_tenant WHERE id = ANY(%s::uuid[])", [ids])
        cursor.execute("SET session_replication_role = DEFAULT")


if __name__ == "__main__":
    main()
