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
import os
import subprocess
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

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from activities.models import Activity, ActivityStatus  # noqa: E402
from commerces.models import Commerce  # noqa: E402
from dispatch.models import DispatchConfig, DispatchProvider  # noqa: E402
from dispatch.protocols import protocol_for  # noqa: E402
from dispatch.services import dispatch_pass, provider_config_of  # noqa: E402
from dispatch.services.payload import payloads_for  # noqa: E402
from dispatch.tests import factories  # noqa: E402
from tenants.models import Tenant  # noqa: E402

SLUG_PREFIX = "bench-dispatch-"
PROVIDER_CODE = "BENCH"
TARGET_RATIO = 0.5
DESIGN_BATCH, DESIGN_INTERVAL = 100, 30  # SPEC 5.3 defaults: DISPATCH_BATCH_SIZE, DISPATCH_INTERVAL_SECONDS


class Stub:
    """The stub provider in its own process, so it never competes with the measured code for the GIL."""

    def __init__(self, latency, port=0):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dispatch.tests.stub_provider", "--latency", str(latency), "--port", str(port)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        self.url = self.process.stdout.readline().strip()

    def count(self):
        self.process.stdin.write("count\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def reset(self):
        self.process.stdin.write("reset\n")
        self.process.stdin.flush()
        self.process.stdout.readline()

    def stop(self):
        self.process.stdin.close()
        self.process.wait(timeout=10)


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--activities", type=int, default=5000)
    parser.add_argument("--tenants", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--concurrency", type=int, default=None)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run this against PostgreSQL: set DATABASE_URL=postgres://...")
    if args.concurrency:
        settings.DISPATCH_CONCURRENCY = args.concurrency
    concurrency = settings.DISPATCH_CONCURRENCY
    call_command("migrate", verbosity=0)
    cleanup()
    stub = Stub(args.latency)
    try:
        setup(activities=args.activities, tenants=args.tenants, stub_url=stub.url)
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
        base = (base_before + base_after) / 2
        rate = dispatched / elapsed

        left = Activity.objects.filter(tenant_id__in=tenant_ids, status=ActivityStatus.READY).count()
        assert dispatched == len(ids) and left == 0 and received == len(ids), (dispatched, left, received)
        ratio = rate / base
        print(f"dispatch throughput: {len(ids)} due activities over {args.tenants} tenants, PostgreSQL, "
              f"stub latency {args.latency * 1000:.0f} ms, concurrency {concurrency}, "
              f"batch {settings.DISPATCH_BATCH_SIZE}/tenant/pass")
        print(f"  baseline    {base:8.1f} activities/s  (HTTP only; {base_before:.1f} before, {base_after:.1f} after)")
        print(f"  dispatcher  {rate:8.1f} activities/s  ({passes} passes back to back in {elapsed:.2f} s; "
              f"stub got {received}; {rate / args.tenants:.1f}/s per tenant)")
        print(f"  ratio       {ratio:8.2f}   (target >= {TARGET_RATIO}) {'OK' if ratio >= TARGET_RATIO else 'BELOW'}")
        print(f"  for scale: the documented design, {DESIGN_BATCH} per tenant every {DESIGN_INTERVAL} s, is "
              f"{DESIGN_BATCH / DESIGN_INTERVAL:.1f} activities/s per tenant "
              f"({DESIGN_BATCH / DESIGN_INTERVAL * args.tenants:.1f}/s for {args.tenants} tenants)")
        if (settings.DISPATCH_BATCH_SIZE, settings.DISPATCH_INTERVAL_SECONDS) != (DESIGN_BATCH, DESIGN_INTERVAL):
            print(f"             (this environment: {settings.DISPATCH_BATCH_SIZE} every "
                  f"{settings.DISPATCH_INTERVAL_SECONDS} s = "
                  f"{settings.DISPATCH_BATCH_SIZE / settings.DISPATCH_INTERVAL_SECONDS:.1f}/s per tenant)")
        return 0 if ratio >= TARGET_RATIO else 1
    finally:
        stub.stop()
        cleanup()


if __name__ == "__main__":
    sys.exit(main())
