"""Demo data: a few hundred activities in every status, channel and type, made by the real services.

Idempotent: every activity has a deterministic idempotency key, so a second run only replays (and changes
nothing); statuses beyond READY/UNRESOLVED are reached through the model's transitions, each with its event.
"""
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from activities.models import (
    ActivityStatus,
    ActivityType,
    AttributeKey,
    AttributePolicy,
    AttributeStrategy,
    EventType,
    TargetResolutionConfig,
    UserRetentionStatus,
)
from activities.services import activity_bulk_create, activity_cancel, lock_activity, record_status_event
from commerces.models import (
    Commerce,
    CommerceUser,
    CommerceUserRole,
    CommerceUserRoleAssignment,
    Contact,
    ContactType,
    Operator,
    OperatorType,
    Route,
)
from dispatch.models import Channel, DispatchConfig
from tenants.actors import SYSTEM

ACTIVITY_COUNT = 300
KEY_PREFIX = "demo-activity-"
MIN_COMMERCES = 6
RETENTION_STATUSES = [("ACTIVE", "Active"), ("AT_RISK", "At risk"), ("CHURNED", "Churned"), ("WON_BACK", "Won back")]
REASONS = ["Win back after 30 days without orders", "Present the new promotions", "Payment reminder",
           "Onboarding follow-up", "Stock check visit", "Satisfaction survey"]
# Target share of each final status, by position in a cycle of 20.
STATUS_CYCLE = ([ActivityStatus.READY] * 6 + [ActivityStatus.DISPATCHED] * 4 + [ActivityStatus.COMPLETED] * 4
                + [ActivityStatus.CANCELED] * 2 + [ActivityStatus.FAILED] * 2 + [ActivityStatus.UNRESOLVED] * 2)


def seed(*, tenant, stdout):
    _seed_catalogues(tenant)
    commerces = _demo_commerces(tenant)
    route, operator = _demo_route_and_operator(tenant)
    configs = {c.channel: c for c in DispatchConfig.objects.for_tenant(tenant).filter(is_active=True)}
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    items, targets = [], []
    for index in range(ACTIVITY_COUNT):
        channel = Channel.values[index % len(Channel.values)]
        target = STATUS_CYCLE[index % len(STATUS_CYCLE)]
        is_task = channel in (Channel.SALESMAN, Channel.CALLCENTER)
        item = {
            "type": ActivityType.TASK if is_task else ActivityType.MESSAGE,
            "reason": REASONS[index % len(REASONS)],
            "channel": channel,
            "commerce_id": commerces[index % len(commerces)].pk,
            "idempotency_key": f"{KEY_PREFIX}{index:04d}",
            "scheduled_at": now + timedelta(hours=(index % 96) - 48),
            "score": (index * 37) % 100,
            "user_status": RETENTION_STATUSES[index % len(RETENTION_STATUSES)][0],
            "assignment_reason": "Demo portfolio",
            "attribute_keys": ["commerce_info", "promotions", "last_order"],
            # last_order is CALLER_PROVIDED for the demo tenant: leaving it out leaves the activity UNRESOLVED.
            "attributes": [] if target == ActivityStatus.UNRESOLVED else [
                {"key": "last_order", "value": {"daysAgo": index % 45, "amount": 1000 + index * 13}}],
        }
        if is_task:
            item["assigned_route_id"], item["assigned_operator_id"] = route.pk, operator.pk
        items.append(item)
        targets.append(target)
    # Seeding sends nothing: the dispatcher (command, beat) takes the due READY ones when it runs.
    outcomes = activity_bulk_create(tenant=tenant, actor=SYSTEM, items=items, dispatch_due=False)
    created = [(o.activity_id, targets[o.index]) for o in outcomes if o.status == 201]
    for activity_id, target in created:
        _move_to(activity_id=activity_id, target=target, configs=configs, now=now)
    failed = [o for o in outcomes if o.status >= 400]
    stdout.write(f"activities: {len(created)} created, {sum(o.status == 200 for o in outcomes)} already there"
                 + (f", {len(failed)} refused (first: {failed[0].error.message})" if failed else ""))


def _seed_catalogues(tenant):
    for code, label in RETENTION_STATUSES:
        UserRetentionStatus.objects.get_or_create(tenant=tenant, code=code, defaults={"label": label})
    last_order = AttributeKey.objects.filter(key="last_order").first()
    if last_order is not None:
        AttributePolicy.objects.get_or_create(tenant=tenant, attribute_key=last_order,
                                              defaults={"strategy": AttributeStrategy.CALLER_PROVIDED})
    if not TargetResolutionConfig.objects.for_tenant(tenant).exists():
        TargetResolutionConfig.objects.create(
            tenant=tenant, priority=0,
            criteria=[{"type": "LAST_CONTACTED_SAME_CHANNEL", "config": {}, "priority": 0},
                      {"type": "ROLE_MATCH", "config": {"role": CommerceUserRole.COMMERCE_REP}, "priority": 1}])


def _demo_commerces(tenant):
    """The tenant's commerces whose users can be reached on every channel, topped up to MIN_COMMERCES."""
    reachable = list(
        Commerce.objects.for_tenant(tenant).filter(
            is_active=True, users__is_active=True, users__contacts__is_active=True,
            users__contacts__contact_type=ContactType.EMAIL, users__role_assignments__role=CommerceUserRole.OWNER,
        ).distinct().order_by("external_id")[:20]
    )
    reachable = [c for c in reachable if _reachable_everywhere(c)]
    for number in range(len(reachable), MIN_COMMERCES):
        reachable.append(_demo_commerce(tenant, number))
    return reachable


def _reachable_everywhere(commerce):
    types = set(Contact.objects.filter(commerce_user__commerce=commerce, commerce_user__is_active=True,
                                       is_active=True).values_list("contact_type", flat=True))
    return {ContactType.PHONE, ContactType.EMAIL} <= types


@transaction.atomic
def _demo_commerce(tenant, number):
    commerce, _ = Commerce.objects.get_or_create(
        tenant=tenant, external_id=f"DEMO-ACT-{number:02d}",
        defaults={"name": f"Minimarket Demo {number:02d}",
                  "metadata": {"promotions": [{"code": f"PROMO{number}", "discount": 10 + number}]}},
    )
    for external_id, first, last, role, phone in (
        (f"DEMO-ACT-{number:02d}-REP", "Rocío", f"Rep {number:02d}", CommerceUserRole.COMMERCE_REP, "+5691000"),
        (f"DEMO-ACT-{number:02d}-OWN", "Óscar", f"Owner {number:02d}", CommerceUserRole.OWNER, "+5692000"),
    ):
        user, _ = CommerceUser.objects.get_or_create(commerce=commerce, external_id=external_id,
                                                     defaults={"first_name": first, "last_name": last})
        CommerceUserRoleAssignment.objects.get_or_create(commerce_user=user, role=role)
        for contact_type, value in ((ContactType.PHONE, f"{phone}{number:03d}"),
                                    (ContactType.WHATSAPP, f"{phone}{number:03d}"),
                                    (ContactType.EMAIL, f"{external_id.lower()}@demo.example")):
            Contact.objects.get_or_create(commerce_user=user, contact_type=contact_type, value=value,
                                          defaults={"is_primary": True})
    return commerce


def _demo_route_and_operator(tenant):
    route = Route.objects.for_tenant(tenant).filter(is_active=True).order_by("code").first()
    if route is None:
        route, _ = Route.objects.get_or_create(tenant=tenant, code="DEMO-ACT", defaults={"name": "Demo route"})
    operator = Operator.objects.for_tenant(tenant).filter(is_active=True).order_by("external_id").first()
    if operator is None:
        operator, _ = Operator.objects.get_or_create(
            tenant=tenant, type=OperatorType.SALESMAN, external_id="DEMO-ACT-OP",
            defaults={"name": "Demo salesman", "email": "demo-salesman@demo.example"})
    return route, operator


def _move_to(*, activity_id, target, configs, now):
    """Walk a new READY activity to `target` through the transitions, writing each event as the services do."""
    from activities.models import Activity

    activity = Activity(pk=activity_id)
    if target in (ActivityStatus.READY, ActivityStatus.UNRESOLVED):
        return
    if target == ActivityStatus.CANCELED and activity_id.int % 2:
        activity_cancel(activity=activity, actor=SYSTEM, reason="Demo: no longer needed")
        return
    with transaction.atomic():
        locked = lock_activity(activity)
        if locked.status != ActivityStatus.READY:
            return
        if target == ActivityStatus.FAILED and activity_id.int % 2:
            for attempt in range(1, 4):
                record_status_event(activity=locked, event_type=EventType.DISPATCH_ATTEMPT_FAILED,
                                    from_status=ActivityStatus.READY, to_status=ActivityStatus.READY, actor=SYSTEM,
                                    error_code="PROVIDER_ERROR", error_message=f"Demo: attempt {attempt} got HTTP 503")
            locked.dispatch_exhausted()
            locked.dispatch_attempt_count = 3
            locked.last_dispatch_error = "Demo: HTTP 503 from the provider"
            locked.save()
            record_status_event(activity=locked, event_type=EventType.DISPATCH_FAILED, from_status=ActivityStatus.READY,
                                to_status=locked.status, actor=SYSTEM, error_code="MAX_ATTEMPTS",
                                error_message="Demo: 3 attempts failed")
            return
        locked.dispatch_succeeded()
        locked.dispatch_attempt_count = 1
        locked.dispatch_config = configs.get(locked.channel)
        locked.provider_activity_id = f"demo-{activity_id.hex[:12]}"
        locked.dispatched_at = now
        locked.save()
        record_status_event(activity=locked, event_type=EventType.DISPATCH_SUCCESS, from_status=ActivityStatus.READY,
                            to_status=locked.status, actor=SYSTEM)
        if target == ActivityStatus.DISPATCHED:
            return
        record_status_event(activity=locked, event_type=EventType.RESULT_RECEIVED, from_status=locked.status,
                            to_status=locked.status, actor=SYSTEM)
        if target == ActivityStatus.COMPLETED:
            locked.result_completed()
            locked.completed_at = now
            event = EventType.COMPLETED
        elif target == ActivityStatus.CANCELED:
            locked.result_canceled()
            event = EventType.CANCELED
        else:
            locked.result_not_executed()
            event = EventType.EXECUTION_FAILED
        locked.save()
        record_status_event(activity=locked, event_type=event, from_status=ActivityStatus.DISPATCHED,
                            to_status=locked.status, actor=SYSTEM)
