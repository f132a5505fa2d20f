"""Celery: beat runs a delivery pass every DISPATCH_INTERVAL_SECONDS; on-commit deliveries are queued here."""
from celery import shared_task

from dispatch.services.dispatcher import surviving_database_faults
from webhooks.services.delivery import deliver_now, deliver_pass


@shared_task(name="webhooks.deliver_due", ignore_result=True)
def deliver_due_webhooks():
    report = surviving_database_faults(deliver_pass, doing="the webhook beat pass")
    return report.summary() if report is not None else None


@shared_task(name="webhooks.deliver", ignore_result=True)
def deliver_webhooks(delivery_ids):
    report = surviving_database_faults(lambda: deliver_now(delivery_ids),
                                       doing=f"the delivery of {len(delivery_ids)} new webhooks")
    return report.summary() if report is not None else None
