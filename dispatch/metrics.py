"""Dispatch's scrape-time metric (SPEC 14): the due activities per tenant. The dispatcher's outcome recorder
counts attempts and READY->DISPATCHED latency through reten.metrics."""
from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from activities.models import Activity, ActivityStatus
from dispatch.services.dispatcher import _not_waiting


class ActivitiesDueCollector:
    """reten_activities_due{tenant}: READY activities whose time has come and that wait for no retry, per tenant.

    Computed at each scrape with one aggregate query (the dispatcher's "not waiting" rule).
    """

    NAME = "reten_activities_due"
    HELP = "READY activities due now (scheduled_at passed, no retry pending), per tenant."

    def describe(self):
        return [GaugeMetricFamily(self.NAME, self.HELP, labels=["tenant"])]

    def collect(self):
        now = timezone.now()
        family = GaugeMetricFamily(self.NAME, self.HELP, labels=["tenant"])
        rows = (Activity.objects.filter(status=ActivityStatus.READY, scheduled_at__lte=now).filter(_not_waiting(now))
                .order_by().values_list("tenant_id").annotate(due=Count("id")))
        for tenant_id, due in rows:
            family.add_metric([str(tenant_id)], due)
        yield family
