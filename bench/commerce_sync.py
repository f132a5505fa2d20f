"""Commerce sync throughput against a plain bulk_create baseline (issue 3, SPEC section 3).

Syncs N commerces (default 10,000; each with 2 users, each user with 1 role and 2 contacts) in batches
(default 1,000) and prints commerces/second for:

  baseline   the same rows written with plain bulk_create, one transaction per batch, no validation
  service    commerces.services.commerce_sync (validation, upsert lookups, bulk writes), new rows
  api        POST /api/commerces/sync through Django's test client (JSON, auth, serializer, service), new rows
             (these three take turns batch by batch, so table growth and machine load weigh on each alike)
  resync     the service again on the same rows, unchanged (the idempotent re-run)
  update     the service again with every name, user name and primary contact changed

and the ratio of each to the baseline (target for service and api: >= 0.4), plus the number of SQL
queries per sync call for several batch sizes (it must not grow with the batch size).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reten_bench_commerce .venv/bin/python bench/commerce_sync.py

It works in dedicated tenants (slug bench-commerce-*) that it deletes afterwards, also after a failure;
run `manage.py migrate` on that database first.
"""
import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reten.settings")
# A benchmark needs no real secrets; these defaults apply only when the environment has none.
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz-0123456789")
os.environ.setdefault("RETEN_CREDENTIALS_KEYS", "bench:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from bench._server import print_result  # noqa: E402
from commerces.models import (  # noqa: E402
    Commerce,
    CommerceUser,
    CommerceUserRoleAssignment,
    Contact,
    Source,
)
from commerces.services import commerce_sync  # noqa: E402
from tenants.models import ApiKey, Membership, Role, Tenant, User  # noqa: E402
from tenants.services import api_key_create  # noqa: E402

SLUG_PREFIX = "bench-commerce-"
TARGET_RATIO = 0.4


class QueryCounter:
    """Counts statements through an execute wrapper (cheaper than recording every SQL string)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def make_items(prefix, start, count, *, variant=0):
    """Commerce payloads as an integration sends them; `variant` changes names and which contact is primary."""
    items = []
    for number in range(start, start + count):
        suffix = f" v{variant}" if variant else ""
        users = []
        for position, role in ((1, "OWNER"), (2, "COMMERCE_REP")):
            users.append({
                "external_id": f"{prefix}-{number:06d}-{position}",
                "first_name": f"Person{suffix}",
                "last_name": f"{role.title()} {number}",
                "roles": [role],
                "contacts": [
                    {"contact_type": "PHONE", "value": f"+569{position}{number:07d}",
                     "is_primary": variant % 2 == 0},
                    {"contact_type": "EMAIL", "value": f"u{position}.{number}@{prefix.lower()}.example.com",
                     "is_primary": True},
                ],
            })
        items.append({
            "external_id": f"{prefix}-{number:06d}",
            "name": f"Commerce {number}{suffix}",
            "tax_id": f"{prefix}{number:08d}",
            "metadata": {"segment": "A" if number % 2 else "B"},
            "users": users,
        })
    return items


def baseline_write(tenant, items):
    """The same rows with plain bulk_create: no lookups, no validation, no normalisation."""
    commerces, users, roles, contacts = [], [], [], []
    for item in items:
        commerce = Commerce(tenant=tenant, external_id=item["external_id"], name=item["name"],
                            tax_id=item["tax_id"], metadata=item["metadata"])
        commerces.append(commerce)
        for payload in item["users"]:
            user = CommerceUser(commerce=commerce, external_id=payload["external_id"],
                                first_name=payload["first_name"], last_name=payload["last_name"],
                                source=Source.INTEGRATION)
            users.append(user)
            roles += [CommerceUserRoleAssignment(commerce_user=user, role=role) for role in payload["roles"]]
            contacts += [Contact(commerce_user=user, contact_type=c["contact_type"], value=c["value"],
                                 is_primary=c["is_primary"], source=Source.INTEGRATION) for c in payload["contacts"]]
    with transaction.atomic():
        Commerce.objects.bulk_create(commerces)
        CommerceUser.objects.bulk_create(users)
        CommerceUserRoleAssignment.objects.bulk_create(roles)
        Contact.objects.bulk_create(contacts)


def run_batches(label, batches, write):
    """Time `write(batch)` over every batch; returns (seconds, queries per batch, last result)."""
    (seconds, queries, result), = run_interleaved([(label, batches, write)]).values()
    return seconds, queries, result


def run_interleaved(runs):
    """Time several writers batch by batch, taking turns (in a rotating order), so that table growth and other
    load on the machine weigh on each of them alike. Returns {label: (seconds, queries per batch, last result)}."""
    counter = QueryCounter()
    totals = {label: [0.0, [], None] for label, _, _ in runs}
    with connection.execute_wrapper(counter):
        for index in range(len(runs[0][1])):
            shift = index % len(runs)
            for label, batches, write in runs[shift:] + runs[:shift]:
                before = counter.count
                started = time.perf_counter()
                result = write(batches[index])
                totals[label][0] += time.perf_counter() - started
                totals[label][1].append(counter.count - before)
                totals[label][2] = result
    return {label: tuple(values) for label, values in totals.items()}


def new_tenant(label):
    slug = f"{SLUG_PREFIX}{label}-{uuid.uuid4().hex[:8]}"
    return Tenant.objects.create(name=f"Bench {label}", slug=slug)


def cleanup():
    tenants = list(Tenant.objects.filter(slug__startswith=SLUG_PREFIX))
    if not tenants:
        return
    Contact.objects.filter(commerce_user__commerce__tenant__in=tenants).delete()
    CommerceUserRoleAssignment.objects.filter(commerce_user__commerce__tenant__in=tenants).delete()
    CommerceUser.objects.filter(commerce__tenant__in=tenants).delete()
    Commerce.objects.filter(tenant__in=tenants).delete()
    ApiKey.objects.filter(tenant__in=tenants).delete()
    users = list(User.objects.filter(memberships__tenant__in=tenants).distinct())
    Membership.objects.filter(tenant__in=tenants).delete()
    User.objects.filter(pk__in=[user.pk for user in users], email__endswith="@bench.invalid").delete()
    Tenant.objects.filter(pk__in=[tenant.pk for tenant in tenants]).delete()


def chunk(items, size):
    return [items[start:start + size] for start in range(0, len(items), size)]


def api_writer(tenant):
    user = User.objects.create_user(email=f"{tenant.slug}@bench.invalid", password=uuid.uuid4().hex)
    Membership.objects.create(user=user, tenant=tenant).roles.add(Role.objects.get(name="ADMIN"))
    _, plaintext = api_key_create(tenant=tenant, creator=user, name="bench", permissions=["SYNC_COMMERCES"])
    client = Client(HTTP_X_API_KEY=plaintext)

    def write(body):
        response = client.post("/api/commerces/sync", body, content_type="application/json")
        if response.status_code != 201:
            raise SystemExit(f"API sync failed: {response.status_code} {response.content[:500]!r}")
        return response.json()

    return write


def report_rate(label, count, seconds, baseline_rate=None, queries=None):
    rate = count / seconds if seconds else float("inf")
    line = f"{label:<9} {count:>7} commerces in {seconds:7.2f} s = {rate:9.0f} commerces/s"
    if baseline_rate:
        line += f"   ratio {rate / baseline_rate:5.2f}"
    if queries:
        line += f"   queries/batch {min(queries)}-{max(queries)}"
    print(line, flush=True)
    return rate


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commerces", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1_000)
    args = parser.parse_args()
    if not settings.DATABASES["default"]["ENGINE"].endswith(".postgresql"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database (this benchmark measures PostgreSQL).")
    total, size = args.commerces, args.batch
    cleanup()  # leftovers of an interrupted run
    try:
        print(f"commerce sync: {total} commerces in batches of {size}; each with 2 users (1 role, 2 contacts each)"
              f" -> {total * 9} rows", flush=True)
        base_tenant, sync_tenant, api_tenant = new_tenant("base"), new_tenant("sync"), new_tenant("api")

        with override_settings(ALLOWED_HOSTS=["testserver"], SECURE_SSL_REDIRECT=False):
            bodies = [json.dumps({"items": batch}) for batch in chunk(make_items("API", 0, total), size)]
            timings = run_interleaved([
                ("baseline", chunk(make_items("BASE", 0, total), size),
                 lambda batch: baseline_write(base_tenant, batch)),
                ("service", chunk(make_items("SYNC", 0, total), size),
                 lambda batch: commerce_sync(tenant=sync_tenant, items=batch)),
                ("api", bodies, api_writer(api_tenant)),
            ])
        seconds, queries, _ = timings["baseline"]
        baseline_rate = report_rate("baseline", total, seconds, queries=queries)
        seconds, queries, _ = timings["service"]
        service_rate = report_rate("service", total, seconds, baseline_rate, queries)
        seconds, queries, _ = timings["api"]
        api_rate = report_rate("api", total, seconds, baseline_rate, queries)

        seconds, queries, result = run_batches("resync", chunk(make_items("SYNC", 0, total), size),
                                               lambda batch: commerce_sync(tenant=sync_tenant, items=batch))
        report_rate("resync", total, seconds, baseline_rate, queries)
        assert (result.created, result.updated) == (0, size), result

        seconds, queries, result = run_batches("update", chunk(make_items("SYNC", 0, total, variant=1), size),
                                               lambda batch: commerce_sync(tenant=sync_tenant, items=batch))
        report_rate("update", total, seconds, baseline_rate, queries)

        print("queries per sync call by batch size (new rows, then the same rows updated):", flush=True)
        for batch_size in (10, 100, size):
            tenant = new_tenant(f"q{batch_size}")
            _, created_queries, _ = run_batches("q", [make_items("Q", 0, batch_size)],
                                                lambda batch, t=tenant: commerce_sync(tenant=t, items=batch))
            _, updated_queries, _ = run_batches("q", [make_items("Q", 0, batch_size, variant=1)],
                                                lambda batch, t=tenant: commerce_sync(tenant=t, items=batch))
            print(f"  {batch_size:>5} items: {created_queries[0]} queries (create), "
                  f"{updated_queries[0]} queries (update)", flush=True)

        rows = Commerce.objects.filter(tenant=sync_tenant).count(), Commerce.objects.filter(tenant=api_tenant).count()
        assert rows == (total, total), rows
        worst = min(service_rate, api_rate) / baseline_rate
        verdict = "meets" if worst >= TARGET_RATIO else "MISSES"
        print(f"result: service {service_rate / baseline_rate:.2f}x, api {api_rate / baseline_rate:.2f}x of the "
              f"bulk_create baseline ({verdict} the {TARGET_RATIO} target)", flush=True)
        print_result(name="commerce_sync service", figure=service_rate, unit="commerces/s", baseline=baseline_rate,
                     target=TARGET_RATIO)
        print_result(name="commerce_sync api", figure=api_rate, unit="commerces/s", baseline=baseline_rate,
                     target=TARGET_RATIO)
    finally:
        cleanup()


if __name__ == "__main__":
    main()
