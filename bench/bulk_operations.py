"""Bulk cancel by filter (SPEC 11.4) against a bare UPDATE of the same rows.

Creates N READY activities (default 10,000) in a dedicated tenant and cancels them with the bulk service of
POST /api/activities/bulk-cancel (filter status=READY): the set-based path, 1,000 activities per transaction
(row locks, the cancel transition's rule on each row, one UPDATE, one event per activity, the webhook outbox).
Then creates N more and flips them with one bare UPDATE (no lock, no check, no event). Prints activities/second
for both and their ratio (target >= 0.2).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reten_bench .venv/bin/python bench/bulk_operations.py

Works in tenants with slug bench-bulk-* that it deletes afterwards, also after a failure; migrate that database
first.
"""
import argparse
import json
import os
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reten.settings")
# A benchmark needs no real secrets; these defaults apply only when the environment has none.
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz-0123456789")
os.environ.setdefault("RETEN_CREDENTIALS_KEYS", "bench:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from activities.models import Activity, ActivityStatus, CommerceAssignment, StatusEvent  # noqa: E402
from activities.services import activity_bulk_operate  # noqa: E402
from bench._server import print_result  # noqa: E402
from commerces.models import Commerce  # noqa: E402
from tenants.actors import SYSTEM  # noqa: E402
from tenants.models import Tenant  # noqa: E402

SLUG_PREFIX = "bench-bulk-"
TARGET_RATIO = 0.2


def make_tenant(label):
    tenant = Tenant.objects.create(name=f"Bench bulk {label}", slug=f"{SLUG_PREFIX}{label}-{uuid.uuid4().hex[:6]}")
    commerce = Commerce.objects.create(tenant=tenant, name="Bench store", external_id=f"bench-{uuid.uuid4().hex}")
    return tenant, commerce


def make_ready(tenant, commerce, count):
    now = timezone.now()
    activities = [Activity(tenant=tenant, type="MESSAGE", channel="SMS", reason="bench", scheduled_at=now
                           + timedelta(days=1), idempotency_key=f"bench-{uuid.uuid4()}") for _ in range(count)]
    Activity.objects.bulk_create(activities, batch_size=2000)
    CommerceAssignment.objects.bulk_create(
        [CommerceAssignment(activity=item, commerce=commerce, assigned_at=now) for item in activities],
        batch_size=2000)


def cleanup():
    tenants = list(Tenant.objects.filter(slug__startswith=SLUG_PREFIX))
    StatusEvent.objects.filter(activity__tenant__in=tenants).delete()
    CommerceAssignment.objects.filter(activity__tenant__in=tenants).delete()
    Activity.objects.filter(tenant__in=tenants).delete()
    Commerce.objects.filter(tenant__in=tenants).delete()
    Tenant.objects.filter(pk__in=[tenant.pk for tenant in tenants]).delete()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    args = parser.parse_args()
    cleanup()
    try:
        tenant, commerce = make_tenant("service")
        make_ready(tenant, commerce, args.count)
        started = time.perf_counter()
        result = activity_bulk_operate(tenant=tenant, actor=SYSTEM, operation="cancel",
                                       filters={"status": [ActivityStatus.READY]}, reason="bench")
        service_seconds = time.perf_counter() - started
        assert result.changed == args.count, result.as_dict()
        assert Activity.objects.filter(tenant=tenant, status=ActivityStatus.CANCELED).count() == args.count

        bare_tenant, bare_commerce = make_tenant("bare")
        make_ready(bare_tenant, bare_commerce, args.count)
        started = time.perf_counter()
        updated = Activity.objects.filter(tenant=bare_tenant, status=ActivityStatus.READY).update(
            status=ActivityStatus.CANCELED, updated_at=timezone.now())
        bare_seconds = time.perf_counter() - started
        assert updated == args.count
    finally:
        cleanup()
    service_rate, bare_rate = args.count / service_seconds, args.count / bare_seconds
    ratio = service_rate / bare_rate
    print(json.dumps({"database": connection.vendor, "activities": args.count,
                      "bulk_cancel_per_second": round(service_rate, 1), "bare_update_per_second": round(bare_rate, 1),
                      "ratio": round(ratio, 4), "target": TARGET_RATIO, "meets_target": ratio >= TARGET_RATIO}))
    print_result(name="bulk_cancel", figure=service_rate, unit="activities/s", baseline=bare_rate,
                 target=TARGET_RATIO)


if __name__ == "__main__":
    main()
