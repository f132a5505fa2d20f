"""Dispatcher throughput against a plain HTTP baseline (issue 5, SPEC 5.3).

Creates N due activities (default 5,000) over T tenants (default 5) on PostgreSQL, with every tenant's SMS
config pointing at a local stub provider (a separate process on 127.0.0.1), and prints activities/second for:

  baseline    the same HTTP client (dispatch.protocols, one pooled httpx client) POSTing the same N
              payloads to the same stub with the same concurrency (DISPATCH_CONCURRENCY), no database work
  dispatcher  dispatch.services.dispatch_pass run back to back until nothing is due: claims
              (select_for_update skip_locked + lease), payloads, provider calls, outcome transactions
              and status events, per-tenant batches of DISPATCH_BATCH_SIZE, tenants round-robin

and the ratio dispatcher / baseline (target >= 0.5). The baseline runs before and after the dispatcher and
the mean is used, so machine load weighs on both alike. For scale it also prints the documented design's
rate: DISPATCH_BATCH_SIZE per tenant every DISPATCH_INTERVAL_SECONDS (100 every 30 s = 3.3/s per tenant).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reten_bench_dispatch .venv/bin/python bench/dispatch_throughput.py

Options: --activities, --tenants, --latency (seconds the stub waits before answering; default 0, the
harshest case for the ratio), --concurrency. It migrates the database, works in dedicated tenants
(slug bench-dispatch-*) and a BENCH provider, and deletes them afterwards, also after a failure.
"""
import argparse
import json
import os
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reten.settings")
# A benchmark needs no real secrets; these defaults apply only when the environment has none.
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz-0123456789")
os.environ.setdefault("RETEN_CREDENTIALS_KEYS", "bench:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# The stub provider listens on 127.0.0.1 over http (SPEC 10 refuses both by default).
os.environ.setdefault("RETEN_ALLOW_PRIVATE_URLS", "true")
os.environ.setdefault("RETEN_ALLOW_INSECURE_URLS", "true")

def _database_url():
    """This benchmark's own database on the server DATABASE_URL names (created here, dropped at the end)."""
    from urllib.parse import urlsplit, urlunsplit

    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--database", default="reten_bench_dispatch")
    name = pre.parse_known_args()[0].database
    raw = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/")
    if not raw.startswith(("postgres://", "postgresql://")):
        sys.exit("Run this against PostgreSQL: set DATABASE_URL=postgres://...")
    parts = urlsplit(raw)
    return name, urlunsplit(parts._replace(path="/postgres")), urlunsplit(parts._replace(path=f"/{name}"))


DATABASE_NAME, ADMIN_URL, os.environ["DATABASE_URL"] = _database_url()

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from activities.models import Activity, ActivityStatus  # noqa: E402
from bench.provider_stub import Stub  # noqa: E402
from commerces.models import Commerce  # noqa: E402
from dispatch.models import DispatchConfig, DispatchProvider  # noqa: E402
from dispatch.protocols import protocol_for  # noqa: E402
from dispatch.services import dispatch_pass, provider_config_of  # noqa: E402
from dispatch.services.payload import payloads_for  # noqa: E402
from dispatch.tests import factories  # noqa: E402
from tenants.models import Tenant  # noqa: E402

SLUG_PREFIX = "bench-dispatch-"
PROVIDER_CODE = "BENCH"
TARGET_RATIO = 0.85
DESIGN_BATCH, DESIGN_INTERVAL = 100, 30  # SPEC 5.3 defaults: DISPATCH_BATCH_SIZE, DISPATCH_INTERVAL_SECONDS


def cleanup():
    tenants = Tenant.objects.filter(slug__startswith=SLUG_PREFIX)
    Activity.objects.filter(tenant__in=tenants).delete()
    DispatchConfig.objects.filter(tenant__in=tenants).delete()
    Commerce.objects.filter(tenant__in=tenants).delete()
    tenants.delete()
    DispatchProvider.objects.filter(code=PROVIDER_CODE).delete()


def setup(*, activities, tenants, stub_url):
    provider = factories.provider(code=PROVIDER_CODE, channels=["SMS"])
    per_tenant = activities // tenants
    for index in range(tenants):
        tenant = Tenant.objects.create(name=f"Bench dispatch {index}", slug=f"{SLUG_PREFIX}{index}")
        factories.config(tenant, channel="SMS", base_url=stub_url, provider_obj=provider,
                         credentials={"apiKey": "bench-key"})
        count = per_tenant + (activities % tenants if index == tenants - 1 else 0)
        factories.due_activities(tenant, count, channel="SMS")


def baseline(payloads, configs, *, concurrency):
    """The same client and protocol code, the same payloads and concurrency, no database work."""
    protocol = protocol_for(provider_code=PROVIDER_CODE, protocol_type="REST")
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        receipts = list(pool.map(lambda item: protocol.send(item[0], configs[item[1]]), payloads))
    elapsed = time.perf_counter() - started
    assert len(receipts) == len(payloads)
    return len(payloads) / elapsed, elapsed


def run_dispatcher():
    started = time.perf_counter()
    passes = dispatched = 0
    while True:
        report = dispatch_pass()
        passes += 1
        dispatched += report.dispatched
        if not report.claimed:
            break
    return dispatched, time.perf_counter() - started, passes


CELLS = [(0.0, 8), (0.0, 64), (0.1, 8), (0.1, 64)]  # (provider latency s, concurrency): issue 15
CELL_ACTIVITIES = {(0.0, 8): 3000, (0.0, 64): 3000, (0.1, 8): 1000, (0.1, 64): 3000}


def recreate_database(*, drop_only=False):
    import psycopg

    connection.close()
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)')
        if not drop_only:
            admin.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


def result_line(name, figure, unit, baseline, target):
    print("RESULT " + json.dumps({"name": name, "figure": round(figure, 2), "unit": unit,
                                  "baseline": None if baseline is None else round(baseline, 2),
                                  "ratio": None if not baseline else round(figure / baseline, 3),
                                  "target": target, "higher_is_better": True}), flush=True)


def cell(*, activities, tenants, latency, concurrency):
    """One cell: the raw client before and after, the dispatcher between; returns (rate, raw rate, passes, s)."""
    settings.DISPATCH_CONCURRENCY = concurrency
    cleanup()
    stub = Stub(latency)
    try:
        setup(activities=activities, tenants=tenants, stub_url=stub.url)
        tenant_ids = list(Tenant.objects.filter(slug__startswith=SLUG_PREFIX).values_list("id", flat=True))
        ids = list(Activity.objects.filter(tenant_id__in=tenant_ids).values_list("id", flat=True))
        configs = {c.tenant_id: provider_config_of(c) for c in
                   DispatchConfig.objects.filter(tenant_id__in=tenant_ids).select_related("provider")}
        payloads = []
        for start in range(0, len(ids), 1000):
            payloads += [(payload, uuid.UUID(payload["tenantId"]))
                         for payload in payloads_for(ids[start:start + 1000]).values()]

        base_before, _ = baseline(payloads, configs, concurrency=concurrency)
        stub.reset()
        dispatched, elapsed, passes = run_dispatcher()
        received = stub.count()
        base_after, _ = baseline(payloads, configs, concurrency=concurrency)
        left = Activity.objects.filter(tenant_id__in=tenant_ids, status=ActivityStatus.READY).count()
        # Every activity sent exactly once, and none left behind.
        assert dispatched == len(ids) and left == 0 and received == len(ids), (dispatched, left, received)
        return dispatched / elapsed, base_before, base_after, passes, elapsed
    finally:
        stub.stop()
        cleanup()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--activities", type=int, default=None, help="per cell (default: 3,000; 1,000 at 100 ms/8)")
    parser.add_argument("--tenants", type=int, default=5)
    parser.add_argument("--latency", type=float, default=None, help="one cell only: provider latency in seconds")
    parser.add_argument("--concurrency", type=int, default=None, help="one cell only: the concurrency")
    parser.add_argument("--database", default=DATABASE_NAME)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    args = parser.parse_args()
    cells = CELLS
    if args.latency is not None or args.concurrency is not None:
        cells = [(args.latency if args.latency is not None else 0.0, args.concurrency or settings.DISPATCH_CONCURRENCY)]
    recreate_database()
    connection.close()
    call_command("migrate", verbosity=0)
    results = []
    try:
        for latency, concurrency in cells:
            activities = args.activities or CELL_ACTIVITIES.get((latency, concurrency), 3000)
            print(f"dispatch throughput: {activities} due activities over {args.tenants} tenants, stub latency "
                  f"{latency * 1000:.0f} ms, concurrency {concurrency} ...", flush=True)
            rate, before, after, passes, elapsed = cell(activities=activities, tenants=args.tenants, latency=latency,
                                                        concurrency=concurrency)
            results.append((latency, concurrency, rate, before, after, passes, elapsed))
    finally:
        connection.close()
        if not args.keep:
            recreate_database(drop_only=True)

    print(f"dispatch throughput, PostgreSQL, {args.tenants} tenants, batch {settings.DISPATCH_BATCH_SIZE}"
          f"/tenant/pass, passes back to back; raw = the same HTTP client and payloads, no database work "
          f"(mean of before and after)")
    print(f"  {'latency':>7} {'conc':>4} {'dispatcher':>11} {'raw':>9} {'ratio':>6} {'bound':>7} "
          f"{'disp/bound':>10} {'raw/bound':>9}")
    ok = True
    for latency, concurrency, rate, before, after, passes, elapsed in results:
        base = (before + after) / 2
        bound = concurrency / latency if latency else None
        ratio = rate / base
        ok &= ratio >= TARGET_RATIO
        print(f"  {latency * 1000:5.0f}ms {concurrency:4} {rate:9.1f}/s {base:7.1f}/s {ratio:6.2f} "
              + (f"{bound:6.0f}/s {rate / bound:10.2f} {base / bound:9.2f}" if bound
                 else f"{'-':>7} {'-':>10} {'-':>9}")
              + f"   ({passes} passes in {elapsed:.1f} s; raw {before:.0f} before, {after:.0f} after)")
        name = f"dispatch_throughput.{latency * 1000:.0f}ms_c{concurrency}"
        result_line(f"{name}.vs_raw_client", rate, "activities/s", base, TARGET_RATIO)
        if bound:
            result_line(f"{name}.vs_bound", rate, "activities/s", bound, None)
    print(f"  target: dispatcher >= {TARGET_RATIO} of the raw client in every cell. For scale: the documented "
          f"design, {DESIGN_BATCH} per tenant every {DESIGN_INTERVAL} s, is {DESIGN_BATCH / DESIGN_INTERVAL:.1f} "
          f"activities/s per tenant")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
