"""Reads for providers, channel definitions and dispatch configs. Tenant-owned reads start from for_tenant."""
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from activities.models import Activity, ActivityStatus, EventType, StatusEvent
from dispatch.models import ChannelDefinition, DispatchAttempt, DispatchConfig, DispatchProvider
from reten.errors import NotFound
from tenants.models import Tenant


def provider_list():
    return DispatchProvider.objects.prefetch_related("channel_definitions").order_by("code")


def provider_get(*, provider_id):
    provider = provider_list().filter(pk=provider_id).first()
    if provider is None:
        raise NotFound("Dispatch provider not found")
    return provider


def channel_definition_list(*, provider):
    return ChannelDefinition.objects.filter(provider=provider).order_by("channel")


def channel_definition_get(*, provider, definition_id):
    definition = channel_definition_list(provider=provider).filter(pk=definition_id).first()
    if definition is None:
        raise NotFound("Channel definition not found")
    return definition


def channel_definition_for(*, provider, channel):
    return ChannelDefinition.objects.filter(provider=provider, channel=channel).first()


def dispatch_config_list(*, tenant, channel=None, is_active=None):
    configs = DispatchConfig.objects.for_tenant(tenant).select_related("provider")
    if channel:
        configs = configs.filter(channel=channel)
    if is_active is not None:
        configs = configs.filter(is_active=is_active)
    return configs.order_by("channel", "-is_active", "-created_at")


def dispatch_config_get(*, tenant, config_id):
    config = DispatchConfig.objects.for_tenant(tenant).select_related("provider").filter(pk=config_id).first()
    if config is None:
        raise NotFound("Dispatch config not found")
    return config


def active_config_for(*, tenant_id, channel):
    """The config that serves a tenant's channel: active, with an active provider. None when there is none."""
    return (DispatchConfig.objects.filter(tenant_id=tenant_id, channel=channel, is_active=True,
                                          provider__is_active=True)
            .select_related("provider").first())


def active_configs_by_channel(*, tenant_id):
    configs = (DispatchConfig.objects.filter(tenant_id=tenant_id, is_active=True, provider__is_active=True)
               .select_related("provider"))
    return {config.channel: config for config in configs}


def activity_get(*, tenant, activity_id):
    """An activity of this tenant (another tenant's id is a 404, never a hint that it exists)."""
    activity = Activity.objects.for_tenant(tenant).filter(pk=activity_id).first()
    if activity is None:
        raise NotFound("Activity not found")
    return activity


def dashboard_data(*, now=None):
    """Counts per tenant, channel and status; due-but-no-config per tenant; dispatch failures in the last 24 h.

    A handful of grouped queries whatever the volume.
    """
    now = now or timezone.now()
    statuses = list(ActivityStatus.values)
    tenants = {tenant.pk: tenant for tenant in Tenant.objects.all()}
    grid = {}
    for row in Activity.objects.values("tenant_id", "channel", "status").annotate(n=Count("id")).order_by():
        cells = grid.setdefault((row["tenant_id"], row["channel"]), dict.fromkeys(statuses, 0))
        cells[row["status"]] = row["n"]
    rows = [
        {"tenant": tenants.get(tenant_id), "channel": channel, "counts": [cells[s] for s in statuses],
         "total": sum(cells.values())}
        for (tenant_id, channel), cells in sorted(grid.items(), key=lambda item: (
            str(tenants.get(item[0][0], "")), item[0][1]))
    ]

    configured = set(DispatchConfig.objects.filter(is_active=True, provider__is_active=True)
                     .values_list("tenant_id", "channel"))
    due = (Activity.objects.filter(status=ActivityStatus.READY,
                                   scheduled_at__lte=now + timedelta(seconds=settings.DISPATCH_LEAD_SECONDS))
           .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
           .values("tenant_id", "channel").annotate(n=Count("id")).order_by())
    no_config = {}
    for row in due:
        if (row["tenant_id"], row["channel"]) not in configured:
            entry = no_config.setdefault(row["tenant_id"], {"tenant": tenants.get(row["tenant_id"]), "count": 0,
                                                            "channels": []})
            entry["count"] += row["n"]
            entry["channels"].append(f"{row['channel']} ({row['n']})")

    since = now - timedelta(hours=24)
    failure_types = [EventType.DISPATCH_ATTEMPT_FAILED, EventType.DISPATCH_FAILED]
    failures = {}
    for row in (StatusEvent.objects.filter(event_type__in=failure_types, occurred_at__gte=since)
                .values("activity__tenant_id", "event_type").annotate(n=Count("id")).order_by()):
        entry = failures.setdefault(row["activity__tenant_id"], {
            "tenant": tenants.get(row["activity__tenant_id"]), "attempts": 0, "failed": 0})
        entry["attempts" if row["event_type"] == EventType.DISPATCH_ATTEMPT_FAILED else "failed"] += row["n"]
    recent = (StatusEvent.objects.filter(event_type__in=failure_types, occurred_at__gte=since)
              .select_related("activity", "activity__tenant").order_by("-occurred_at")[:20])
    return {
        "statuses": statuses,
        "rows": rows,
        "no_config": sorted(no_config.values(), key=lambda entry: -entry["count"]),
        "no_config_total": sum(entry["count"] for entry in no_config.values()),
        "failures": sorted(failures.values(), key=lambda entry: -(entry["attempts"] + entry["failed"])),
        "failure_attempts_total": sum(entry["attempts"] for entry in failures.values()),
        "failed_total": sum(entry["failed"] for entry in failures.values()),
        "recent_failures": recent,
        "generated_at": now,
    }


def dispatch_attempt_list(*, activity):
    """The provider calls made for one activity, oldest first (SPEC 11.1)."""
    return DispatchAttempt.objects.filter(activity=activity).order_by("started_at", "attempt")
