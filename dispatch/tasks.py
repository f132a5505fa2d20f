"""Celery: beat fans out one pass per tenant with due work; workers anywhere run the same dispatcher."""
from celery import shared_task
from django.conf import settings

from dispatch.services.dispatcher import (
    dispatch_activities_if_due,
    dispatch_pass,
    due_tenants,
    surviving_database_faults,
)


@shared_task(name="dispatch.due_tenants", ignore_result=True)
def dispatch_due_tenants():
    """The beat entry (every DISPATCH_INTERVAL_SECONDS): one dispatch_tenant task per tenant with due work."""
    rows = surviving_database_faults(due_tenants, doing="the dispatch beat") or []
    for row in rows:
        # A task still queued when the next beat fires is stale: the newer one replaces it.
        dispatch_tenant.apply_async(args=[str(row["tenant_id"])], expires=settings.DISPATCH_INTERVAL_SECONDS)
    return len(rows)


@shared_task(name="dispatch.tenant", ignore_result=True)
def dispatch_tenant(tenant_id):
    report = surviving_database_faults(lambda: dispatch_pass(tenant=tenant_id), doing=f"the pass of tenant {tenant_id}")
    return report.as_dict() if report is not None else None


@shared_task(name="dispatch.activities", ignore_result=True)
def dispatch_activities(activity_ids):
    """Activities created already due (queued on commit by dispatch.services.enqueue_if_due), with the other new
    due activities of their tenants whose tasks are still queued (up to DISPATCH_BATCH_SIZE: see
    dispatch_activities_if_due)."""
    report = surviving_database_faults(lambda: dispatch_activities_if_due(activity_ids=activity_ids,
                                                                          sweep=settings.DISPATCH_BATCH_SIZE),
                                       doing=f"the dispatch of {len(activity_ids)} new activities")
    return report.as_dict() if report is not None else None
