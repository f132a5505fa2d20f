"""The per-tenant activity counts PostgreSQL keeps for the list's `meta.total` (TenantActivityCount, migration
0010). The triggers keep them exact; this rebuilds them from the rows, for an operator who restored data with the
triggers disabled (`pg_restore --disable-triggers`) or wants to check them (`manage.py recount_activities`)."""
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Count, Sum

from activities.models import Activity, TenantActivityCount


@dataclass(frozen=True)
class TenantCount:
    tenant_id: object
    kept: int
    counted: int

    @property
    def off(self):
        return self.kept != self.counted


def activity_counts_rebuild(*, tenant=None, dry_run=False):
    """Each tenant's kept count next to its COUNT(*) (every tenant with either, or the one given), and, unless
    dry_run, the counts replaced by the COUNT(*) ones. Writers of activities wait while it runs (a SHARE lock on
    the table: readers go on), so no insert falls between counting and replacing. Returns [TenantCount], ordered by
    tenant id; [] where nothing keeps counts (not PostgreSQL)."""
    if connection.vendor != "postgresql":
        return []
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {Activity._meta.db_table} IN SHARE MODE")
        kept_rows = TenantActivityCount.objects.all()
        activities = Activity.objects.all()
        if tenant is not None:
            kept_rows = kept_rows.filter(tenant=tenant)
            activities = activities.filter(tenant=tenant)
        kept = dict(kept_rows.values_list("tenant_id").annotate(total=Sum("total")).order_by())
        counted = dict(activities.values_list("tenant_id").annotate(total=Count("id")).order_by())
        report = [TenantCount(tenant_id, kept.get(tenant_id, 0), counted.get(tenant_id, 0))
                  for tenant_id in sorted(set(kept) | set(counted), key=str)]
        if not dry_run:
            kept_rows.delete()
            TenantActivityCount.objects.bulk_create(
                TenantActivityCount(tenant_id=tenant_id, slot=0, total=total) for tenant_id, total in counted.items())
    return report
