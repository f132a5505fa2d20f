"""Demo data: a few hundred activities in every status, channel and type, made by the real services.

Idempotent: every activity has a deterministic idempotency key, so a second run only replays (and changes
nothing); statuses beyond READY/UNRESOLVED are reached through the model's transitions, each with its event.
"""
from collections import Counter
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from activities.models import (
    Activity,
    ActivityStatus,
    ActivityType,
    AttributeKey,
    AttributePolicy,
    AttributeStrategy,
    Channel,
    EventType,
    TargetResolutionConfig,
    TaskResultType,
    UserRetentionStatus,
)
from activities.services import (
    activity_bulk_create,
    activity_cancel,
    delivery_receipts_submit,
    lock_activity,
    record_status_event,
    task_result_submit,
)
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
from tenants.actors import SYSTEM
from tenants.models import ApiKey, Membership
from tenants.services import api_key_create

ACTIVITY_COUNT = 300
KEY_PREFIX = "demo-activity-"
MIN_COMMERCES = 6
RETENTION_STATUSES = [("ACTIVE", "Active"), ("AT_RISK", "At risk"), ("CHURNED", "Churned"), ("WON_BACK", "Won back")]
REASONS = ["Win back after 30 days without orders", "Present the new promotions", "Payment reminder",
           "Onboarding follow-up", "Stock check visit", "Satisfaction survey"]
# Target share of each final status, by position in a cycle of 20.
# (code, label, requires future_scheduled_at, creates a follow-up)
RESULT_TYPES = [("VISITED", "Visited", False, False), ("ORDER_TAKEN", "Order taken", False, False),
                ("NO_ANSWER", "Nobody answered", False, False), ("STORE_CLOSED", "Store closed", False, False),
                ("CALL_BACK", "Call back at a given time", True, False),
                ("RESCHEDULE", "Reschedule the visit (creates a follow-up)", True, True)]
# What a provider reports for a TASK closed in the demo, by final status (cycled per activity).
DEMO_RESULTS = {
    ActivityStatus.COMPLETED: [("COMPLETED", "VISITED"), ("TRANSFERRED", "ORDER_TAKEN"), ("EFFECTIVE", "ORDER_TAKEN"),
                               ("NOT_EFFECTIVE", "RESCHEDULE")],
    ActivityStatus.FAILED: [("NOT_EXECUTED", "STORE_CLOSED")],
    ActivityStatus.CANCELED: [("CANCELED", "NO_ANSWER")],
    ActivityStatus.DISPATCHED: [("PENDING", "CALL_BACK")],
}
# What a message provider reports for a dispatched demo MESSAGE, by final status: (receipt status, error code).
DEMO_RECEIPTS = {
    ActivityStatus.COMPLETED: [("DELIVERED", ""), ("READ", "")],
    ActivityStatus.FAILED: [("UNDELIVERED", "30003"), ("BOUNCED", "5.1.1")],
}
DEMO_KEY_NAME = "Demo integration"
DEMO_KEY_PERMISSIONS = ["SUBMIT_ACTIVITY_RESULT", "VIEW_ACTIVITIES"]
STATUS_CYCLE = ([ActivityStatus.READY] * 6 + [ActivityStatus.DISPATCHED] * 4 + [ActivityStatus.COMPLETED] * 4
                + [ActivityStatus.CANCELED] * 2 + [ActivityStatus.FAILED] * 2 + [ActivityStatus.UNRESOLVED] * 2)


def seed(*, tenant, stdout):
    _seed_catalogues(tenant)
    commerces = _demo_commerces(tenant)
    route, operator = _demo_route_and_operator(tenant)
    # The configs the dispatch demo made, reached through the activity's own relation (activities imports no
    # dispatch module: STYLE, the house is one-way).
    dispatch_config_model = Activity.dispatch_config.field.related_model
    configs = {c.channel: c for c in dispatch_config_model.objects.for_tenant(tenant).filter(is_active=True)}
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
    kinds = {o.activity_id: items[o.index]["type"] for o in outcomes if o.status == 201}
    results = receipts = 0
    turns = Counter()  # the choices cycle per (kind, final status) in creation order: every variant appears
    for activity_id, target in created:
        kind = kinds[activity_id]
        turn, turns[kind, target] = turns[kind, target], turns[kind, target] + 1
        if _move_to(activity_id=activity_id, target=target, configs=configs, now=now, turn=turn):
            if kind == ActivityType.TASK:
                results += _post_result(tenant=tenant, activity_id=activity_id, target=target, now=now, turn=turn)
            else:
                receipts += _post_receipts(tenant=tenant, activity_id=activity_id, target=target, now=now,
                                           turn=turn)
    results += _post_standalone_result(tenant=tenant, commerce=commerces[0], now=now)
    failed = [o for o in outcomes if o.status >= 400]
    stdout.write(f"activities: {len(created)} created, {sum(o.status == 200 for o in outcomes)} already there"
                 + (f", {len(failed)} refused (first: {failed[0].error.message})" if failed else ""))
    stdout.write(f"task results: {results} posted")
    stdout.write(f"delivery receipts: {receipts} posted")
    _demo_api_key(tenant=tenant, stdout=stdout)


def _seed_catalogues(tenant):
    for code, label in RETENTION_STATUSES:
        UserRetentionStatus.objects.get_or_create(tenant=tenant, code=code, defaults={"label": label})
    last_order = AttributeKey.objects.filter(key="last_order").first()
    if last_order is not None:
        AttributePolicy.objects.get_or_create(tenant=tenant, attribute_key=last_order,
                                              defaults={"strategy": AttributeStrategy.CALLER_PROVIDED})
    for code, label, requires_date, follow_up in RESULT_TYPES:
        TaskResultType.objects.get_or_create(tenant=tenant, code=code, defaults={
            "label": label, "requires_future_scheduled_at": requires_date, "creates_follow_up": follow_up})
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


def _move_to(*, activity_id, target, configs, now, turn):
    """Walk a new READY activity to `target` through the transitions, writing each event as the services do.
    True when a TASK was dispatched and its provider's result is to be posted (through the result service)."""
    from activities.models import Activity

    activity = Activity(pk=activity_id)
    if target in (ActivityStatus.READY, ActivityStatus.UNRESOLVED):
        return False
    if target == ActivityStatus.CANCELED and turn % 2:
        activity_cancel(activity=activity, actor=SYSTEM, reason="Demo: no longer needed")
        return False
    with transaction.atomic():
        locked = lock_activity(activity)
        if locked.status != ActivityStatus.READY:
            return False
        if target == ActivityStatus.FAILED and turn % 2:
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
            return False
        locked.dispatch_succeeded()
        locked.dispatch_attempt_count = 1
        locked.dispatch_config = configs.get(locked.channel)
        locked.provider_activity_id = f"demo-{activity_id.hex[:12]}"
        locked.dispatched_at = now
        locked.save()
        record_status_event(activity=locked, event_type=EventType.DISPATCH_SUCCESS, from_status=ActivityStatus.READY,
                            to_status=locked.status, actor=SYSTEM)
        if locked.type == ActivityType.TASK or target != ActivityStatus.CANCELED:
            # Half the DISPATCHED ones get a PENDING result or a SENT receipt; every closed one gets its final
            # result (TASK) or delivery receipt (MESSAGE, SPEC 6.2).
            return target != ActivityStatus.DISPATCHED or turn % 2 == 0
        # A MESSAGE canceled after dispatch (half the demo's CANCELED ones; the other half never left).
        record_status_event(activity=locked, event_type=EventType.RESULT_RECEIVED, from_status=locked.status,
                            to_status=locked.status, actor=SYSTEM)
        locked.result_canceled()
        locked.save()
        record_status_event(activity=locked, event_type=EventType.CANCELED, from_status=ActivityStatus.DISPATCHED,
                            to_status=locked.status, actor=SYSTEM)
    return False


def _post_receipts(*, tenant, activity_id, target, now, turn):
    """What a message provider reports for a dispatched demo MESSAGE: SENT, then how it ended (SPEC 6.2)."""
    receipts = [{"activity_id": activity_id, "status": "SENT", "occurred_at": now + timedelta(seconds=1),
                 "raw_payload": {"source": "seed_demo"}}]
    closing = DEMO_RECEIPTS.get(target)
    if closing:
        status, error_code = closing[turn % len(closing)]
        receipts.append({"activity_id": activity_id, "status": status, "occurred_at": now + timedelta(minutes=2),
                         "error_code": error_code, "error_message": "Demo: the handset was unreachable"
                         if error_code else "", "raw_payload": {"source": "seed_demo"}})
    outcomes = delivery_receipts_submit(tenant=tenant, actor=SYSTEM, items=receipts)
    return sum(1 for outcome in outcomes if outcome.created)


def _submit(*, tenant, data):
    task_result_submit(tenant=tenant, actor=SYSTEM, data=data, may_hard_override=False)
    return 1


def _post_result(*, tenant, activity_id, target, now, turn):
    """The provider's result for a dispatched demo TASK, as the integration route would take it."""
    from activities.models import Activity

    activity = Activity.objects.select_related("commerce_assignment__commerce").get(pk=activity_id)
    choices = DEMO_RESULTS[target]
    status, code = choices[turn % len(choices)]
    task_result = {"result": code, "comment": f"Demo: {status.lower().replace('_', ' ')}",
                   "contact_type": "OUTBOUND", "operator_external_id": "DEMO-ACT-OP"}
    if code in ("CALL_BACK", "RESCHEDULE"):
        task_result["future_scheduled_at"] = now + timedelta(days=2)
    return _submit(tenant=tenant, data={
        "activity_id": activity.pk, "commerce_external_id": activity.commerce_assignment.commerce.external_id,
        "occurred_at": now, "status": status, "external_status": f"demo_{status.lower()}",
        "raw_payload": {"source": "seed_demo", "visitId": activity.pk.hex[:8]}, "task_result": task_result})


def _post_standalone_result(*, tenant, commerce, now):
    """A result for a task Reten never sent (the provider's own visit): kept against the commerce. Idempotent."""
    return _submit(tenant=tenant, data={
        "provider_activity_id": "demo-standalone-0001", "commerce_external_id": commerce.external_id,
        "occurred_at": now.replace(hour=8) - timedelta(days=1), "status": "EFFECTIVE",
        "external_status": "walk_in", "task_result": {"result": "ORDER_TAKEN", "comment": "Demo: walk-in visit"}})


def _demo_api_key(*, tenant, stdout):
    """One demo integration key per tenant. Only its hash is stored, so its plaintext is printed when it is
    created; later runs keep it (rotating it on every seed would break the integrations already using it)."""
    existing = ApiKey.objects.for_tenant(tenant).filter(name=DEMO_KEY_NAME, is_active=True,
                                                        revoked_at__isnull=True).first()
    if existing is not None:
        stdout.write(f"integration API key: already there ({existing.key_prefix}...); its value was printed when "
                     "it was created. Revoke it (admin or POST /api/api-keys/:id/revoke) and seed again for a "
                     "new one.")
        return
    membership = (Membership.objects.filter(tenant=tenant, roles__name="ADMIN", user__is_active=True)
                  .select_related("user").order_by("user__created_at").first())
    if membership is None:
        stdout.write("integration API key: skipped (the tenant has no ADMIN to own it)")
        return
    _, plaintext = api_key_create(tenant=tenant, creator=membership.user, name=DEMO_KEY_NAME,
                                  permissions=DEMO_KEY_PERMISSIONS)
    stdout.write(f"integration API key ({', '.join(DEMO_KEY_PERMISSIONS)}), shown once: {plaintext}")
