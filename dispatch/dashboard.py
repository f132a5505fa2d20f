"""The console's home page (SPEC 7): the dashboard of one tenant, every figure a link to the filtered list.

A fixed number of grouped queries whatever the volume (counts, 14 days per day, attempts per channel, results per
type, due without config, last 24 h of failures). Tenant staff choose among their tenants; platform staff among
all. Called by django-unfold (settings.UNFOLD["DASHBOARD_CALLBACK"]).
"""
import json
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone

from activities.models import Activity, ActivityStatus, Channel, EventType, StatusEvent, TaskResult
from dispatch.models import AttemptOutcome, DispatchAttempt, DispatchConfig
from tenants.console import console_permissions, is_tenant_staff
from tenants.models import Tenant
from tenants.roles import Permission

DAYS = 14


def _list_url(name, **filters):
    return reverse(f"admin:{name}_changelist") + ("?" + urlencode(filters) if filters else "")


def dashboard_tenants(request):
    """Tenants the user may see the dashboard of (VIEW_ACTIVITIES), by name."""
    tenants = Tenant.objects.filter(is_active=True).order_by("name")
    if is_tenant_staff(request):
        ids = [tid for tid, perms in console_permissions(request).items() if Permission.VIEW_ACTIVITIES in perms]
        tenants = tenants.filter(pk__in=ids)
    return list(tenants)


def dashboard_data(*, tenant, now=None):
    now = now or timezone.now()
    activities = Activity.objects.filter(tenant=tenant)
    t = {"tenant__id__exact": str(tenant.pk)}
    statuses = list(ActivityStatus.values)

    grid = {}
    for row in activities.values("channel", "status").annotate(n=Count("id")).order_by():
        grid.setdefault(row["channel"], dict.fromkeys(statuses, 0))[row["status"]] = row["n"]
    status_rows = [
        {"channel": channel, "url": _list_url("activities_activity", **t, channel__exact=channel),
         "total": sum(cells.values()),
         "cells": [{"status": s, "count": cells[s],
                    "url": _list_url("activities_activity", **t, channel__exact=channel, status__exact=s)}
                   for s in statuses]}
        for channel, cells in sorted(grid.items())
    ]
    status_totals = [{"status": s, "count": sum(cells[s] for cells in grid.values()),
                      "url": _list_url("activities_activity", **t, status__exact=s)} for s in statuses]

    since = (now - timedelta(days=DAYS - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    days = [(since + timedelta(days=i)).date() for i in range(DAYS)]
    series = {}
    for name, queryset, field in (
            ("created", activities, "created_at"),
            ("dispatched", activities, "dispatched_at"),
            ("completed", activities, "completed_at")):
        counted = dict(queryset.filter(**{f"{field}__gte": since}).annotate(day=TruncDate(field))
                       .values("day").annotate(n=Count("id")).values_list("day", "n").order_by())
        series[name] = [counted.get(day, 0) for day in days]
    failed = dict(StatusEvent.objects.filter(activity__tenant=tenant, to_status=ActivityStatus.FAILED,
                                             occurred_at__gte=since)
                  .annotate(day=TruncDate("occurred_at")).values("day").annotate(n=Count("id"))
                  .values_list("day", "n").order_by())
    series["failed"] = [failed.get(day, 0) for day in days]
    chart = {
        "labels": [day.strftime("%m-%d") for day in days],
        "datasets": [{"label": name.capitalize(), "data": values} for name, values in series.items()],
    }
    daily = [{"day": day, **{name: series[name][i] for name in series}} for i, day in enumerate(days)]

    rates = []
    for row in (DispatchAttempt.objects.filter(activity__tenant=tenant, started_at__gte=since)
                .values("activity__channel")
                .annotate(total=Count("id"), ok=Count("id", filter=Q(outcome=AttemptOutcome.ACCEPTED)))
                .order_by("activity__channel")):
        rates.append({"channel": row["activity__channel"], "total": row["total"], "ok": row["ok"],
                      "rate": round(100 * row["ok"] / row["total"]) if row["total"] else 0,
                      "url": _list_url("activities_activity", **t, channel__exact=row["activity__channel"])})

    results = [
        {"code": row["result_code"], "count": row["n"],
         "url": _list_url("activities_taskresult", **t, result_code=row["result_code"])}
        for row in TaskResult.objects.filter(tenant=tenant).values("result_code").annotate(n=Count("id"))
        .order_by("-n", "result_code")
    ]

    configured = set(DispatchConfig.objects.filter(tenant=tenant, is_active=True, provider__is_active=True)
                     .values_list("channel", flat=True))
    due = (activities.filter(status=ActivityStatus.READY,
                             scheduled_at__lte=now + timedelta(seconds=settings.DISPATCH_LEAD_SECONDS))
           .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
           .values("channel").annotate(n=Count("id")).order_by("channel"))
    no_config = [{"channel": row["channel"], "count": row["n"],
                  "url": _list_url("activities_activity", **t, status__exact="READY", channel__exact=row["channel"])}
                 for row in due if row["channel"] not in configured]

    day_ago = now - timedelta(hours=24)
    failure_types = [EventType.DISPATCH_ATTEMPT_FAILED, EventType.DISPATCH_FAILED]
    failure_counts = dict(StatusEvent.objects.filter(activity__tenant=tenant, event_type__in=failure_types,
                                                     occurred_at__gte=day_ago)
                          .values("event_type").annotate(n=Count("id")).values_list("event_type", "n").order_by())
    recent = list(StatusEvent.objects.filter(activity__tenant=tenant, event_type__in=failure_types,
                                             occurred_at__gte=day_ago)
                  .select_related("activity__commerce_assignment__commerce").order_by("-occurred_at")[:20])
    return {
        "tenant": tenant,
        "statuses": statuses,
        "status_rows": status_rows,
        "status_totals": status_totals,
        "all_url": _list_url("activities_activity", **t),
        "chart_json": json.dumps(chart),
        "daily": daily,
        "rates": rates,
        "results": results,
        "results_url": _list_url("activities_taskresult", **t),
        "no_config": no_config,
        "no_config_total": sum(entry["count"] for entry in no_config),
        "failed_attempts_24h": failure_counts.get(EventType.DISPATCH_ATTEMPT_FAILED, 0),
        "failed_24h": failure_counts.get(EventType.DISPATCH_FAILED, 0),
        "failed_url": _list_url("activities_activity", **t, status__exact="FAILED"),
        "recent_failures": recent,
        "generated_at": now,
        "channels": list(Channel.values),
    }


def dashboard_callback(request, context):
    tenants = dashboard_tenants(request)
    chosen = None
    wanted = request.GET.get("tenant")
    if wanted:
        chosen = next((tenant for tenant in tenants if str(tenant.pk) == wanted), None)
    if chosen is None and tenants:
        chosen = tenants[0]
    context.update({"dashboard_tenants": tenants, "dashboard": dashboard_data(tenant=chosen) if chosen else None})
    return context
