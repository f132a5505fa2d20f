"""The per-tenant activity counts PostgreSQL keeps for the list's meta.total (issue 15, migration 0010)."""
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from activities import selectors
from activities.api.serializers import ActivityListFilterSerializer
from activities.models import Activity, TenantActivityCount
from activities.services import activity_bulk_create, activity_counts_rebuild
from activities.tests.factories import commerce_with_rep, create_body, make_activity
from commerces.tests.factories import CommerceFactory
from reten.db import bulk_insert
from tenants.actors import SYSTEM

pytestmark = pytest.mark.postgres


def kept(tenant):
    return selectors.activity_list_total(tenant=tenant)


def counted(tenant):
    return Activity.objects.filter(tenant=tenant).count()


def list_meta(api, **params):
    response = api.get("/api/activities", params)
    assert response.status_code == 200, response.json()
    return response.json()["meta"]


@pytest.fixture
def other_commerce(other_tenant):
    return CommerceFactory(tenant=other_tenant)


def test_every_way_of_writing_activities_moves_its_own_tenants_count_only(commerce, other_commerce):
    tenant, other = commerce.tenant, other_commerce.tenant
    assert kept(tenant) == 0 and kept(other) == 0  # no row yet: zero, not None
    make_activity(commerce)
    make_activity(other_commerce)
    activity_bulk_create(tenant=tenant, actor=SYSTEM, items=[create_body(commerce) for _ in range(5)])
    template = Activity.objects.filter(tenant=tenant).first()
    copies = [Activity(tenant=tenant, type=template.type, channel=template.channel, reason="copy",
                       idempotency_key=f"copy-{n}", scheduled_at=template.scheduled_at) for n in range(3)]
    bulk_insert(Activity, copies)  # one unnest() statement of three rows
    assert (kept(tenant), kept(other)) == (counted(tenant), counted(other)) == (9, 1)

    Activity.objects.filter(pk__in=[copy.pk for copy in copies[:2]]).delete()
    assert (kept(tenant), kept(other)) == (counted(tenant), 1) == (7, 1)


def test_a_rolled_back_insert_counts_nothing(commerce):
    make_activity(commerce)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_activity(commerce, idempotency_key="rolled-back")
        Activity.objects.create(tenant=commerce.tenant, type="MESSAGE", channel="SMS", reason="x",
                                idempotency_key="rolled-back", scheduled_at="2025-01-01T00:00:00Z")
    assert kept(commerce.tenant) == counted(commerce.tenant) == 1


def test_truncating_the_activities_empties_the_counts(commerce):
    make_activity(commerce)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE refuses to run with deferred checks pending
        cursor.execute("TRUNCATE activities_activity CASCADE")
    assert not TenantActivityCount.objects.exists()
    assert kept(commerce.tenant) == 0


def test_the_unfiltered_list_reads_the_kept_count_instead_of_counting(admin_api, commerce):
    for _ in range(3):
        make_activity(commerce)
    list_meta(admin_api)  # warm the auth caches
    for ordering in ("-created_at", "score", "scheduled_at"):
        with CaptureQueriesContext(connection) as captured:
            assert list_meta(admin_api, ordering=ordering, per_page=2) == {
                "page": 1, "limit": 2, "total": 3, "totalPages": 2}
        sql = [query["sql"] for query in captured.captured_queries]
        assert not [q for q in sql if "COUNT(" in q.upper() and '"activities_activity"' in q], sql
        assert [q for q in sql if '"activities_tenantactivitycount"' in q]


def test_a_filtered_list_counts_its_matches(admin_api, commerce):
    make_activity(commerce, channel="SMS")
    make_activity(commerce)
    with CaptureQueriesContext(connection) as captured:
        assert list_meta(admin_api, channel="SMS")["total"] == 1
    assert not [q for q in captured.captured_queries if '"activities_tenantactivitycount"' in q["sql"]]
    assert list_meta(admin_api, search="   ")["total"] == 2  # a blank search narrows nothing


def test_every_list_filter_but_ordering_stops_the_kept_count(tenant):
    """A filter added to the list later must be named in NARROWING_FILTERS, or the total would count rows the
    list leaves out."""
    sample = {"status": "READY", "type": "TASK", "channel": "SMS",
              "commerce_id": "5b1f4a8e-1111-4c2b-9d1e-000000000001", "scheduled_from": "2025-01-01",
              "scheduled_to": "2025-01-02", "search": "x"}
    fields = set(ActivityListFilterSerializer().fields) - {"ordering"}
    assert fields == set(sample)
    for name in fields:
        filters = ActivityListFilterSerializer(data={name: sample[name]})
        assert filters.is_valid(), filters.errors
        assert selectors.activity_list_total(tenant=tenant, filters=filters.validated_data) is None, name
    assert selectors.activity_list_total(tenant=tenant, filters={"ordering": "score"}) == 0


def test_recount_reports_and_fixes_counts_that_are_off(commerce, other_commerce, capsys):
    make_activity(commerce)
    make_activity(commerce)
    make_activity(other_commerce)
    TenantActivityCount.objects.filter(tenant=commerce.tenant).update(total=40)

    with pytest.raises(CommandError, match="1 tenant count"):
        call_command("recount_activities", "--dry-run")
    assert f"{commerce.tenant.slug}: kept 40, counted 2" in capsys.readouterr().out
    assert kept(commerce.tenant) == 40  # a dry run changes nothing

    call_command("recount_activities")
    assert "2 tenant(s) recounted; fixed 1." in capsys.readouterr().out
    assert (kept(commerce.tenant), kept(other_commerce.tenant)) == (2, 1)
    call_command("recount_activities", "--dry-run")  # nothing off any more: no error
    assert "would fix 0." in capsys.readouterr().out

    make_activity(commerce)  # the triggers go on from the rebuilt counts
    assert kept(commerce.tenant) == counted(commerce.tenant) == 3


def test_recount_of_one_tenant_leaves_the_others_alone(commerce, other_commerce):
    make_activity(commerce)
    make_activity(other_commerce)
    TenantActivityCount.objects.update(total=7)
    report = activity_counts_rebuild(tenant=commerce.tenant)
    assert [(row.tenant_id, row.kept, row.counted) for row in report] == [(commerce.tenant_id, 7, 1)]
    assert (kept(commerce.tenant), kept(other_commerce.tenant)) == (1, 7)
    with pytest.raises(CommandError, match="Unknown tenant slug"):
        call_command("recount_activities", "--tenant", "no-such-tenant")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_creators_of_one_tenant_lose_no_count(tenant):
    commerce = commerce_with_rep(tenant)
    errors = []

    def create(n):
        try:
            for i in range(10):
                make_activity(commerce, idempotency_key=f"thread-{n}-{i}")
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert kept(tenant) == counted(tenant) == 40
