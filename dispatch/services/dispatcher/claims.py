"""Claiming (SPEC 5.3): which tenants have due work, how many of theirs one pass takes, and the claim itself -
`select_for_update(skip_locked=True)`, attempt count + 1, a lease in `next_attempt_at`, in one short transaction
per tenant. A claim that never reached its provider is handed back: not an attempt, due again at once."""
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Min, Q
from django.utils import timezone

from activities.models import Activity, ActivityStatus
from dispatch.models import DispatchConfig
from dispatch.services.dispatcher.faults import TRANSIENT_DATABASE_ERRORS, describe_database_error, with_reconnect

logger = logging.getLogger("reten.dispatch")

READY = ActivityStatus.READY


@dataclass(frozen=True)
class Claim:
    """An activity this worker holds; it calls the provider only before `send_by` (time.monotonic()), so a
    call ends before the lease does and no other worker can be sending the same activity meanwhile."""

    activity_id: object
    tenant_id: object
    attempt: int
    config: DispatchConfig
    send_by: float


def _send_by():
    lease = settings.DISPATCH_LEASE_SECONDS
    return time.monotonic() + lease - min(settings.DISPATCH_HTTP_TIMEOUT, lease / 2)


# --- what is due -----------------------------------------------------------------------------------------------

def lead_seconds(config):
    value = (config.settings or {}).get("leadTimeSeconds") if config is not None else None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return value
    return settings.DISPATCH_LEAD_SECONDS


def _not_waiting(now):
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)


def _due_on_configured_channels(configs_by_channel, now):
    due = Q(pk__in=[])
    for channel, config in configs_by_channel.items():
        due |= Q(channel=channel, scheduled_at__lte=now + timedelta(seconds=lead_seconds(config)))
    return due


def _max_lead():
    leads = [settings.DISPATCH_LEAD_SECONDS]
    for config_settings in DispatchConfig.objects.filter(is_active=True).values_list("settings", flat=True):
        value = (config_settings or {}).get("leadTimeSeconds")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            leads.append(value)
    return max(leads)


def due_tenants(*, tenant_id=None, now=None):
    """[{tenant_id, due, oldest}] for active tenants with READY activities due now, most overdue first."""
    now = now or timezone.now()
    rows = Activity.objects.filter(status=READY, tenant__is_active=True,
                                   scheduled_at__lte=now + timedelta(seconds=_max_lead())).filter(_not_waiting(now))
    if tenant_id is not None:
        rows = rows.filter(tenant_id=tenant_id)
    return list(rows.values("tenant_id").annotate(due=Count("id"), oldest=Min("scheduled_at"))
                .order_by("oldest", "tenant_id"))


def due_without_config_count(*, tenant_id, configs_by_channel, now=None):
    now = now or timezone.now()
    return (Activity.objects.filter(tenant_id=tenant_id, status=READY,
                                    scheduled_at__lte=now + timedelta(seconds=settings.DISPATCH_LEAD_SECONDS))
            .filter(_not_waiting(now)).exclude(channel__in=list(configs_by_channel)).count())


def _quotas(rows, *, batch_size, limit):
    """Per-tenant claim sizes: at most batch_size each; a `limit` is shared out round-robin."""
    wants = {row["tenant_id"]: min(row["due"], batch_size) for row in rows}
    if limit is None:
        return wants
    quotas = dict.fromkeys(wants, 0)
    left = limit
    while left > 0 and any(quotas[t] < wants[t] for t in wants):
        for tenant_id in wants:
            if left and quotas[tenant_id] < wants[tenant_id]:
                quotas[tenant_id] += 1
                left -= 1
    return quotas


# --- claiming --------------------------------------------------------------------------------------------------

def claim_due(*, tenant_id, configs_by_channel, quota, only_ids=None, new_since=None):
    """Claim up to `quota` due activities of one tenant in one short transaction; the locks end at commit.
    `new_since`: only those created since then and never attempted (see dispatch_activities_if_due)."""
    if quota <= 0 or not configs_by_channel:
        return []
    now = timezone.now()
    lease = settings.DISPATCH_LEASE_SECONDS
    due = (Activity.objects.filter(tenant_id=tenant_id, status=READY)
           .filter(_not_waiting(now)).filter(_due_on_configured_channels(configs_by_channel, now)))
    if only_ids is not None:
        due = due.filter(pk__in=only_ids)
    if new_since is not None:
        due = due.filter(created_at__gte=new_since, dispatch_attempt_count=0)
    with transaction.atomic():
        rows = list(due.order_by("scheduled_at", F("score").desc(nulls_last=True), "id")
                    .select_for_update(skip_locked=True)
                    .values_list("id", "channel", "dispatch_attempt_count")[:quota])
        if rows:
            Activity.objects.filter(pk__in=[row[0] for row in rows]).update(
                dispatch_attempt_count=F("dispatch_attempt_count") + 1,
                next_attempt_at=now + timedelta(seconds=lease), updated_at=now,
            )
    send_by = _send_by()
    return [Claim(activity_id=activity_id, tenant_id=tenant_id, attempt=count + 1,
                  config=configs_by_channel[channel], send_by=send_by)
            for activity_id, channel, count in rows]


def _hand_back(claim):
    """Undo a claim that never reached the provider: not an attempt, due again at once. Safe to repeat."""
    return Activity.objects.filter(pk=claim.activity_id, dispatch_attempt_count=claim.attempt).update(
        dispatch_attempt_count=F("dispatch_attempt_count") - 1, next_attempt_at=None, updated_at=timezone.now())


def hand_back_claims(claims, *, report):
    """Hand back claims left unsent by a lost connection, once it is back; if it stays away, their leases expire."""
    if not claims:
        return

    def hand_back_all(retried):
        with transaction.atomic():
            return [claim for claim in claims if _hand_back(claim)]

    try:
        released = with_reconnect(hand_back_all, doing=f"handing back {len(claims)} unsent claims")
    except TRANSIENT_DATABASE_ERRORS as exc:
        logger.error("Could not hand back %s unsent claims (%s); they are due again when their lease ends",
                     len(claims), describe_database_error(exc))
        raise
    for claim in released:
        report.count("released", claim.tenant_id)


@contextmanager
def handing_back_on_fault(groups, report):
    """Claims taken before the connection was lost go back instead of waiting out their lease."""
    try:
        yield
    except TRANSIENT_DATABASE_ERRORS:
        hand_back_claims([claim for group in groups for claim in group], report=report)
        raise
