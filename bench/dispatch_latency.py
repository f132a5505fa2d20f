"""READY -> DISPATCHED latency of activities created already due (issue 15, SPEC 5.3 "right after creation").

Activities are created through the API (POST /api/activities on gunicorn, --web-workers workers), already due,
at --rate creates/second (open loop: each request leaves at its own moment) for --seconds,
for a tenant whose SMS config points at a local stub provider (a separate process on 127.0.0.1, answering after
--latency seconds). Two runs, side by side:

  on-commit  no broker: the gunicorn worker that created it sends it from its background pool after the commit
  celery     CELERY_BROKER_URL (default redis://127.0.0.1:6379/7): the commit queues a task, --workers Celery
             worker processes (prefork) claim and send it

The latency of each activity is its `dispatched_at - created_at` (both stamped by the application), so it
includes the commit, the queue, the claim, the provider call and the recording. No periodic pass runs: an
activity still READY at the end counts as missed. Prints p50/p95/p99/max per run and RESULT lines (make bench).
Targets: p50 < 300 ms and p99 < 2 s at 50 creates/second, nothing missed, nothing sent twice.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ .venv/bin/python bench/dispatch_latency.py

The server named in DATABASE_URL is used; the benchmark creates, migrates and (unless --keep) drops its own
database (default reten_bench_dispatch_latency). The Redis database given is flushed before and after the run.
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time
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

TARGET_P50_MS = 300.0
TARGET_P99_MS = 2000.0
LATENCY_ENV = {
    # The stub provider listens on 127.0.0.1 over http (SPEC 10 refuses both by default).
    "RETEN_ALLOW_PRIVATE_URLS": "true", "RETEN_ALLOW_INSECURE_URLS": "true",
    "DJANGO_SETTINGS_MODULE": "reten.settings", "PYTHONWARNINGS": "ignore::UserWarning",
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=50.0, help="creates per second (50)")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of creation per run (20)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds the stub provider waits (0)")
    parser.add_argument("--workers", type=int, default=4, help="Celery worker processes (4, as many as gunicorn's)")
    parser.add_argument("--creators", type=int, default=32,
                        help="connections creating activities (32): enough that none waits for a slow response")
    parser.add_argument("--broker", default=os.environ.get("BENCH_CELERY_BROKER_URL", "redis://127.0.0.1:6379/7"))
    parser.add_argument("--modes", default="on-commit,celery")
    parser.add_argument("--database", default="reten_bench_dispatch_latency")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn workers taking the creates (4)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8769")))
    return parser.parse_args()


# --- creating ---------------------------------------------------------------------------------------------------

def create_at_rate(base_url, data, *, mode, rate, seconds, creators):
    """POST due activities at `rate`/s, open loop: request n leaves at `n / rate` whatever the earlier ones are
    waiting for. `creators` threads (each its own connection) take the next request in turn, so only when that
    many are in flight at once (the server is the bottleneck) does a request leave late; those are counted."""
    import httpx

    total = int(rate * seconds)
    tag = f"{mode}-{uuid.uuid4().hex[:6]}"
    failures, late = [], []
    started = time.monotonic() + 0.5
    turns = iter(range(total))
    turns_lock = threading.Lock()

    def create():
        with httpx.Client(base_url=base_url, headers={"x-api-key": data["api_key"]}, timeout=30) as client:
            while True:
                with turns_lock:
                    n = next(turns, None)
                if n is None:
                    return
                delay = started + n / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                elif delay < -0.05:
                    late.append(-delay)
                scheduled = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
                body = {"type": "MESSAGE", "reason": f"latency {mode}", "channel": "SMS",
                        "commerce_id": data["commerce_ids"][n % len(data["commerce_ids"])],
                        "idempotency_key": f"{tag}-{n}", "scheduled_at": scheduled}
                response = client.post("/api/activities", json=body)
                if response.status_code != 201 or response.json()["status"] != "READY":
                    failures.append((response.status_code, response.text[:300]))

    threads = [threading.Thread(target=create) for _ in range(creators)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tag, total, time.monotonic() - started, failures, late


def wait_until_sent(tag, timeout=30):
    from activities.models import Activity

    mine = Activity.objects.filter(idempotency_key__startswith=f"{tag}-")
    deadline = time.monotonic() + timeout
    while mine.filter(status="READY").exists() and time.monotonic() < deadline:
        time.sleep(0.2)


# --- the benchmark -----------------------------------------------------------------------------------------------

def seed(stub_url):
    import django

    django.setup()
    from activities.models import AttributeKey  # noqa: F401 - the catalogue is migrated
    from commerces.models import Commerce, CommerceUser, CommerceUserRoleAssignment, Contact
    from dispatch.tests import factories
    from tenants.models import Membership, Role, Tenant, User
    from tenants.services import api_key_create

    tenant = Tenant.objects.create(name="Latency", slug=f"latency-{uuid.uuid4().hex[:6]}")
    user = User.objects.create_user(email=f"latency-{uuid.uuid4().hex[:6]}@bench.example", password=None)
    Membership.objects.create(user=user, tenant=tenant).roles.add(Role.objects.get(name="ADMIN"))
    _, api_key = api_key_create(tenant=tenant, creator=user, name="latency",
                                permissions=["CREATE_ACTIVITY", "VIEW_ACTIVITIES"])
    commerces = Commerce.objects.bulk_create([
        Commerce(tenant=tenant, external_id=f"LAT-{n:03d}", name=f"Store {n}", tax_id=f"{n}-K") for n in range(50)])
    people = CommerceUser.objects.bulk_create([
        CommerceUser(commerce=c, external_id=f"{c.external_id}-REP", first_name="Lat", last_name="Rep")
        for c in commerces])
    CommerceUserRoleAssignment.objects.bulk_create([
        CommerceUserRoleAssignment(commerce_user=p, role="COMMERCE_REP") for p in people])
    Contact.objects.bulk_create([Contact(commerce_user=p, contact_type="PHONE", value=f"+5691{n:07d}",
                                         is_primary=True) for n, p in enumerate(people)])
    provider = factories.provider(code="LATENCY", channels=["SMS"])
    factories.config(tenant, channel="SMS", base_url=stub_url, provider_obj=provider,
                     credentials={"apiKey": "bench-key"})
    return {"api_key": api_key, "commerce_ids": [str(c.pk) for c in commerces]}


def latencies(tag):
    from django.db.models import F

    from activities.models import Activity, EventType, StatusEvent

    rows = Activity.objects.filter(idempotency_key__startswith=f"{tag}-")
    dispatched = list(rows.filter(dispatched_at__isnull=False).annotate(lag=F("dispatched_at") - F("created_at"))
                      .values_list("lag", flat=True))
    missed = rows.filter(status="READY").count()
    # At most once: one DISPATCH_SUCCESS per activity, never two.
    successes = StatusEvent.objects.filter(activity__in=rows, event_type=EventType.DISPATCH_SUCCESS).count()
    return sorted(lag.total_seconds() * 1000 for lag in dispatched), missed, successes


def percentile(values, q):
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def start_workers(env, count, *, quiet=False):
    process = subprocess.Popen(
        [str(Path(PYTHON).parent / "celery"), "-A", "reten", "worker", "--concurrency", str(count),
         "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "--hostname", f"latency-{uuid.uuid4().hex[:6]}@%h"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    ready = threading.Event()

    def watch():
        for line in process.stderr:
            if " ready." in line:
                ready.set()
            elif not quiet and ("ERROR" in line or "Traceback" in line):
                print(f"    celery: {line.rstrip()[:200]}", flush=True)

    threading.Thread(target=watch, daemon=True).start()
    if not ready.wait(60):
        stop_process(process)
        sys.exit("the Celery worker did not start")
    return process


def stop_process(process):
    import signal

    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def flush_redis(url):
    import redis

    redis.Redis.from_url(url).flushdb()


def result(name, figure, unit, target, higher_is_better=False):
    print("RESULT " + json.dumps({"name": name, "figure": round(figure, 1), "unit": unit, "baseline": None,
                                  "ratio": None, "target": target, "higher_is_better": higher_is_better}), flush=True)
    return target is None or (figure >= target if higher_is_better else figure <= target)


def main():
    args = parse_args()
    admin_url, bench_url = database_urls(args.database)
    env = {**os.environ, **BENCH_ENV, **LATENCY_ENV, "DATABASE_URL": bench_url}
    env.pop("CELERY_BROKER_URL", None)
    os.environ.update({k: v for k, v in env.items() if k in (*BENCH_ENV, *LATENCY_ENV, "DATABASE_URL")})
    os.environ.pop("CELERY_BROKER_URL", None)
    recreate_database(admin_url, args.database)
    from bench.provider_stub import Stub

    stub = Stub(args.latency)
    runs = {}
    workers = None
    try:
        subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        from django.db import connections

        data = seed(stub.url)
        connections.close_all()
        port = args.port
        for mode in args.modes.split(","):
            mode_env = dict(env)
            if mode == "celery":
                flush_redis(args.broker)
                mode_env["CELERY_BROKER_URL"] = args.broker
                workers = start_workers(mode_env, args.workers)
            server = start_server(mode_env, port, args.web_workers)
            try:
                print(f"  {mode}: {int(args.rate * args.seconds)} creates at {args.rate:g}/s", flush=True)
                tag, total, elapsed, failures, late = create_at_rate(f"http://127.0.0.1:{port}", data, mode=mode,
                                                               rate=args.rate, seconds=args.seconds,
                                                               creators=args.creators)
                wait_until_sent(tag)
            finally:
                stop_server(server)
                if workers is not None:
                    stop_process(workers)
                    workers = None
                    flush_redis(args.broker)
            values, missed, successes = latencies(tag)
            report = {"created": total - len(failures), "failed": len(failures), "seconds": elapsed,
                      "failures": failures[:3], "late": late}
            runs[mode] = (report, values, missed, successes, stub.count())
            stub.reset()
    finally:
        if workers is not None:
            stop_process(workers)
        stub.stop()
        from django.db import connections

        connections.close_all()
        if not args.keep:
            recreate_database(admin_url, args.database, drop_only=True)

    print(f"dispatch latency (READY -> DISPATCHED, dispatched_at - created_at), {args.rate:g} creates/s for "
          f"{args.seconds:g} s, stub latency {args.latency * 1000:.0f} ms, PostgreSQL")
    ok = True
    for mode, (report, values, missed, successes, received) in runs.items():
        achieved = report["created"] / report["seconds"] if report["seconds"] else 0
        p50, p95, p99 = (percentile(values, q) for q in (0.5, 0.95, 0.99))
        print(f"  {mode:9} {len(values)} dispatched of {report['created']} created ({achieved:.1f}/s, "
              f"{report['failed']} create failures), {missed} still READY, stub got {received}, "
              f"{successes} DISPATCH_SUCCESS events")
        if report["late"]:
            print(f"            {len(report['late'])} creates left over 50 ms late (every connection was busy), "
                  f"at worst {max(report['late']) * 1000:.0f} ms")
        worst = values[-1] if values else 0
        print(f"            p50 {p50:7.0f} ms  p95 {p95:7.0f} ms  p99 {p99:7.0f} ms  max {worst:7.0f} ms")
        key = mode.replace("-", "_")
        # The latency targets hold "at 50 creates/second": say so when the server could not take that rate.
        print("RESULT " + json.dumps({"name": f"dispatch_latency.{key}.create_rate", "figure": round(achieved, 1),
                                      "unit": "creates/s", "baseline": args.rate,
                                      "ratio": round(achieved / args.rate, 3), "target": 0.95,
                                      "higher_is_better": True}), flush=True)
        ok &= achieved / args.rate >= 0.95
        ok &= result(f"dispatch_latency.{key}.p50", p50, "ms", TARGET_P50_MS)
        ok &= result(f"dispatch_latency.{key}.p99", p99, "ms", TARGET_P99_MS)
        ok &= result(f"dispatch_latency.{key}.missed", missed + report["failed"], "activities", 0)
        ok &= result(f"dispatch_latency.{key}.sent_twice", max(0, received - report["created"])
                     + max(0, successes - len(values)), "activities", 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
