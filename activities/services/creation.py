"""Creating activities (SPEC 4.3): one or many, idempotent, resolved at creation.

Single and bulk creation share one set-based pipeline: references, configuration and the directory are read once
per batch, resolution runs in memory, and each table gets one INSERT per batch. Idempotency rests on the unique
(tenant, idempotency_key) constraint plus a stored hash of the body: a lost race surfaces as an IntegrityError
and becomes a replay.

Integrators may name records by their own ids (SPEC 4.3): `commerce_external_id` for `commerce_id`,
`assigned_route_code` for `assigned_route_id`, `assigned_operator_external_id` for `assigned_operator_id` (the
operator's type is implied by the channel). They are resolved to UUIDs with the other references (same queries),
and the body is hashed after that resolution: two spellings that name the same records are the same body.
"""
import datetime
import hashlib
import json
import uuid
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import F, FilteredRelation, Q, Value
from django.utils import timezone

from activities.hooks import activities_became_due, status_events_written
from activities.models import (
    Activity,
    ActivityAttribute,
    ActivityStatus,
    ActivityType,
    AttributeKey,
    AttributeStrategy,
    CommerceAssignment,
    EventType,
    ResolutionStrategy,
    ResolverType,
    StatusEvent,
    TargetResolutionConfig,
    TargetResolutionStatus,
    TargetUser,
    TaskDetails,
)
from activities.resolution.attributes import AttributePlan, resolve_attribute
from activities.resolution.context import ResolutionContext, Subject
from activities.resolution.targets import normalize_criteria, resolve_target, validate_criteria
from activities.services.events import build_status_event
from activities.services.resolution import (
    RESOLUTION_FAILED_CODE,
    apply_attribute_outcome,
    apply_target_outcome,
    blocking_problems,
    problems_message,
)
from commerces.models import Commerce, Operator, OperatorType, Route
from reten import errors
from reten.db import bulk_insert

MAX_BULK_ITEMS = 1000
# Created activities scheduled within this horizon are handed to the dispatcher on commit (it checks the lead).
ON_COMMIT_DISPATCH_HORIZON = datetime.timedelta(hours=24)

# Every field of the create body, with the value an absent field stands for (the body hash sees both alike).
HASHED_FIELDS = {
    "type": None, "reason": None, "channel": None, "commerce_id": None, "idempotency_key": None,
    "scheduled_at": None, "suggested_execution_time": None, "user_status": None, "score": None,
    "assignment_reason": "", "target_criteria": None, "attribute_keys": [], "attributes": [],
    "assigned_route_id": None, "assigned_operator_id": None,
}


# A TASK's channel implies the type of the operator named by `assigned_operator_external_id`.
OPERATOR_TYPE_OF_CHANNEL = {"SALESMAN": OperatorType.SALESMAN, "CALLCENTER": OperatorType.CALLCENTER}


@dataclass(frozen=True)
class ExternalSpelling:
    """A field that names a record by the tenant's own id instead of its UUID."""

    field: str  # as sent: commerce_external_id
    uuid_field: str  # the UUID it stands in for: commerce_id
    noun: str  # commerce


EXTERNAL_SPELLINGS = (
    ExternalSpelling("commerce_external_id", "commerce_id", "commerce"),
    ExternalSpelling("assigned_route_code", "assigned_route_id", "route"),
    ExternalSpelling("assigned_operator_external_id", "assigned_operator_id", "operator"),
)


def _canonical(value):
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"Cannot hash {type(value).__name__}")


def request_hash(data):
    """SHA-256 of the body as the API understood it: spelling (camelCase, absent vs default, an external id vs the
    UUID it resolved to) does not matter. An external id left unresolved is hashed as sent."""
    canonical = {name: data.get(name, default) for name, default in HASHED_FIELDS.items()}
    canonical.update({spelling.field: data[spelling.field] for spelling in EXTERNAL_SPELLINGS
                      if data.get(spelling.field) is not None})
    encoded = json.dumps(canonical, sort_keys=True, separators=(",", ":"), default=_canonical)
    return hashlib.sha256(encoded.encode()).hexdigest()


@dataclass
class Created:
    activity: Activity
    replayed: bool = False


@dataclass
class Prepared:
    """One activity and its rows, resolved and ready to insert."""

    activity: Activity
    assignment: CommerceAssignment
    task_details: TaskDetails | None
    targets: list
    attributes: list
    events: list


@dataclass
class References:
    """Everything a batch of create bodies refers to, read with one query per kind."""

    commerces: dict = field(default_factory=dict)
    routes: dict = field(default_factory=dict)
    operators: dict = field(default_factory=dict)
    attribute_keys: dict = field(default_factory=dict)  # key name -> AttributeKey annotated with its policy
    configs: list = field(default_factory=list)

    commerces_by_external_id: dict = field(default_factory=dict)
    routes_by_code: dict = field(default_factory=dict)
    operators_by_identity: dict = field(default_factory=dict)  # (type, external id) -> Operator

    @classmethod
    def load(cls, *, tenant, items):
        """One query per kind for the whole batch, whichever spelling (UUID or external id) each item uses."""
        refs = cls()
        commerce_ids = {item["commerce_id"] for item in items if item.get("commerce_id")}
        commerce_external_ids = {item["commerce_external_id"] for item in items if item.get("commerce_external_id")}
        if commerce_ids or commerce_external_ids:
            for commerce in Commerce.objects.for_tenant(tenant).filter(
                    Q(pk__in=commerce_ids) | Q(external_id__in=commerce_external_ids)):
                refs.commerces[commerce.pk] = commerce
                refs.commerces_by_external_id[commerce.external_id] = commerce
        route_ids = {item["assigned_route_id"] for item in items if item.get("assigned_route_id")}
        route_codes = {item["assigned_route_code"] for item in items if item.get("assigned_route_code")}
        operator_ids = {item["assigned_operator_id"] for item in items if item.get("assigned_operator_id")}
        operator_identities = {
            (OPERATOR_TYPE_OF_CHANNEL.get(item.get("channel")), item["assigned_operator_external_id"])
            for item in items if item.get("assigned_operator_external_id")}
        operator_identities = {identity for identity in operator_identities if identity[0] is not None}
        if route_ids or route_codes or operator_ids or operator_identities:
            operator_filter = Q(pk__in=operator_ids)
            for operator_type in {operator_type for operator_type, _ in operator_identities}:
                operator_filter |= Q(type=operator_type, external_id__in={
                    external_id for kind, external_id in operator_identities if kind == operator_type})
            # Routes and operators in one round trip: (id, kind, code or external id, name, operator type).
            routes = Route.objects.for_tenant(tenant).filter(Q(pk__in=route_ids) | Q(code__in=route_codes)) \
                .values_list("pk", Value("ROUTE"), "code", "name", Value("")).order_by()
            operators = Operator.objects.for_tenant(tenant).filter(operator_filter).values_list(
                "pk", Value("OPERATOR"), "external_id", "name", "type").order_by()
            for pk, kind, code, name, operator_type in routes.union(operators, all=True):
                if kind == "ROUTE":
                    route = Route(pk=pk, tenant=tenant, code=code, name=name)
                    refs.routes[pk] = refs.routes_by_code[code] = route
                else:
                    operator = Operator(pk=pk, tenant=tenant, external_id=code, name=name, type=operator_type)
                    refs.operators[pk] = refs.operators_by_identity[(operator_type, code)] = operator
        names = set()
        for item in items:
            names.update(item.get("attribute_keys") or [])
            names.update(entry.get("key") for entry in item.get("attributes") or [])
        if names:
            keys = AttributeKey.objects.filter(key__in=names).annotate(
                tenant_policy=FilteredRelation("policies", condition=Q(policies__tenant=tenant)),
                policy_strategy=F("tenant_policy__strategy"),
                policy_resolver_type=F("tenant_policy__resolver_type"),
                policy_hook_url=F("tenant_policy__hook_url"),
            )
            refs.attribute_keys = {key.key: key for key in keys}
        if any(item.get("target_criteria") is None for item in items):
            refs.configs = list(TargetResolutionConfig.objects.for_tenant(tenant).filter(is_active=True)
                                .order_by("priority", "created_at"))
        return refs


def _find_by_external_id(spelling, item, refs):
    value = item[spelling.field]
    if spelling.noun == "commerce":
        return refs.commerces_by_external_id.get(value)
    if spelling.noun == "route":
        return refs.routes_by_code.get(value)
    return refs.operators_by_identity.get((OPERATOR_TYPE_OF_CHANNEL.get(item.get("channel")), value))


@dataclass
class ResolvedBody:
    """A create body with every external id replaced by the UUID it names, and what could not be resolved."""

    item: dict
    problems: dict
    sent_as: dict  # UUID field -> the external-id field the caller used for it, so problems name what was sent


def resolve_external_ids(item, refs):
    """The body in UUID spelling (external-id fields removed once resolved), plus problems per field as sent.
    Both spellings of one reference must name the same record."""
    resolved, problems, sent_as = dict(item), {}, {}
    for spelling in EXTERNAL_SPELLINGS:
        if item.get(spelling.field) is None:
            resolved.pop(spelling.field, None)
            continue
        if spelling.noun != "commerce" and item.get("type") != ActivityType.TASK:
            article = "a" if spelling.noun == "route" else "an"
            problems[spelling.field] = [f"Only TASK activities take {article} {spelling.noun}."]
            continue
        if spelling.noun == "operator" and item.get("channel") not in OPERATOR_TYPE_OF_CHANNEL:
            problems[spelling.field] = ["Only SALESMAN and CALLCENTER tasks imply the operator's type; "
                                        "name the operator with assigned_operator_id."]
            continue
        found = _find_by_external_id(spelling, item, refs)
        if found is None:
            problems[spelling.field] = [f"Unknown {spelling.noun}."]
        elif item.get(spelling.uuid_field) is not None and item[spelling.uuid_field] != found.pk:
            problems[spelling.field] = [f"Names another {spelling.noun} than {spelling.uuid_field}."]
        else:
            resolved[spelling.uuid_field] = found.pk
            resolved.pop(spelling.field)
            sent_as[spelling.uuid_field] = spelling.field
    return ResolvedBody(resolved, problems, sent_as)


def _check_references(body, refs):
    """Problems per field name (as sent) for one resolved body."""
    item, problems = body.item, dict(body.problems)
    reported = {spelling.uuid_field for spelling in EXTERNAL_SPELLINGS if spelling.field in problems}

    def report(name, problem):
        if name not in reported:
            problems[body.sent_as.get(name, name)] = [problem]

    commerce = refs.commerces.get(item.get("commerce_id"))
    if commerce is None:
        report("commerce_id", "Unknown commerce.")
    elif not commerce.is_active:
        report("commerce_id", "The commerce is inactive.")
    route_id, operator_id = item.get("assigned_route_id"), item.get("assigned_operator_id")
    if item["type"] == ActivityType.TASK:
        if not route_id:
            report("assigned_route_id", "Required for TASK activities.")
        elif route_id not in refs.routes:
            report("assigned_route_id", "Unknown route.")
        if not operator_id:
            report("assigned_operator_id", "Required for TASK activities.")
        elif operator_id not in refs.operators:
            report("assigned_operator_id", "Unknown operator.")
    else:
        if route_id:
            report("assigned_route_id", "Only TASK activities take a route.")
        if operator_id:
            report("assigned_operator_id", "Only TASK activities take an operator.")
    if item.get("target_criteria") is not None:
        for name, found in validate_criteria(item["target_criteria"]).items():
            problems[f"target_criteria.{name}".rstrip(".")] = found
    for index, name in enumerate(item.get("attribute_keys") or []):
        if name not in refs.attribute_keys:
            problems[f"attribute_keys.{index}"] = [f"Unknown attribute key '{name}'."]
    seen = set()
    for index, entry in enumerate(item.get("attributes") or []):
        name = entry.get("key")
        if name not in refs.attribute_keys:
            problems[f"attributes.{index}.key"] = [f"Unknown attribute key '{name}'."]
        elif name in seen:
            problems[f"attributes.{index}.key"] = [f"Attribute key '{name}' is given twice."]
        seen.add(name)
    return problems


def _attribute_plans(item, refs):
    supplied = {entry["key"]: entry for entry in item.get("attributes") or []}
    names = list(dict.fromkeys([*(item.get("attribute_keys") or []), *supplied]))
    plans = []
    for name in names:
        key = refs.attribute_keys[name]
        entry = supplied.get(name, {})
        plans.append(AttributePlan(
            attribute_key=key,
            strategy=key.policy_strategy or AttributeStrategy.UPFRONT,
            resolver_type=key.policy_resolver_type or ResolverType.INTERNAL_SERVICE,
            hook_url=key.policy_hook_url or "",
            has_value=entry.get("value") is not None,
            value=entry.get("value"),
            has_fallback=entry.get("fallback") is not None,
            fallback=entry.get("fallback"),
        ))
    return plans


def _target_specs(item, refs):
    """(strategy, criteria, fallback to commerce rep, fallback to owner, config) per target user to create."""
    if item.get("target_criteria") is not None:
        return [(ResolutionStrategy.ON_CREATION, normalize_criteria(item["target_criteria"]), True, True, None)]
    if not refs.configs:
        return [(ResolutionStrategy.ON_CREATION, [], True, True, None)]
    return [(c.resolution_strategy, normalize_criteria(c.criteria), c.fallback_to_commerce_rep,
             c.fallback_to_owner, c) for c in refs.configs]


def _build(*, tenant, actor, item, digest, refs, context, now):
    commerce = refs.commerces[item["commerce_id"]]
    activity = Activity(
        tenant=tenant, type=item["type"], channel=item["channel"], reason=item["reason"],
        idempotency_key=item["idempotency_key"], request_hash=digest, scheduled_at=item["scheduled_at"],
        suggested_execution_time=item.get("suggested_execution_time"), user_status=item.get("user_status"),
        score=item.get("score"), created_by=actor.user, created_at=now, updated_at=now,
    )
    assignment = CommerceAssignment(activity=activity, commerce=commerce,
                                    assignment_reason=item.get("assignment_reason") or "", assigned_at=now,
                                    created_at=now, updated_at=now)
    task_details = None
    if activity.type == ActivityType.TASK:
        task_details = TaskDetails(activity=activity, route=refs.routes[item["assigned_route_id"]],
                                   operator=refs.operators[item["assigned_operator_id"]],
                                   created_at=now, updated_at=now)
    subject = Subject(tenant_id=tenant.pk, activity_id=activity.pk, type=activity.type, channel=activity.channel,
                      commerce=commerce)
    candidates = None
    targets = []
    for position, (strategy, criteria, to_rep, to_owner, config) in enumerate(_target_specs(item, refs)):
        target = TargetUser(activity=activity, resolution_strategy=strategy, criteria=criteria,
                            fallback_to_commerce_rep=to_rep, fallback_to_owner=to_owner, config=config,
                            position=position, resolution_status=TargetResolutionStatus.PENDING,
                            created_at=now, updated_at=now)
        if strategy == ResolutionStrategy.ON_CREATION:
            outcome = resolve_target(context=context, subject=subject, criteria=criteria,
                                     fallback_to_commerce_rep=to_rep, fallback_to_owner=to_owner)
            apply_target_outcome(target, outcome, now)
            if outcome.resolved:
                candidates = candidates or context.candidates(commerce.pk)
                chosen = candidates[outcome.commerce_user_id]
                # The response names the person without another query.
                target.commerce_user = _commerce_user_stub(chosen, commerce)
        targets.append(target)
    attributes = []
    for plan in _attribute_plans(item, refs):
        attribute = ActivityAttribute(activity=activity, attribute_key=plan.attribute_key, strategy=plan.strategy,
                                      fallback=plan.fallback, has_fallback=plan.has_fallback,
                                      created_at=now, updated_at=now)
        apply_attribute_outcome(attribute, resolve_attribute(context=context, subject=subject, plan=plan), now)
        attributes.append(attribute)
    events = [build_status_event(activity=activity, event_type=EventType.CREATED, from_status=None,
                                 to_status=ActivityStatus.READY, actor=actor, occurred_at=now)]
    problems = blocking_problems(targets, attributes)
    if problems:
        activity.resolution_failed()
        events.append(build_status_event(
            activity=activity, event_type=EventType.RESOLUTION_FAILED, from_status=ActivityStatus.READY,
            to_status=activity.status, actor=actor, error_code=RESOLUTION_FAILED_CODE,
            error_message=problems_message(problems), occurred_at=now + datetime.timedelta(microseconds=1)))
    return Prepared(activity, assignment, task_details, targets, attributes, events)


def _commerce_user_stub(candidate, commerce):
    from commerces.models import CommerceUser

    return CommerceUser(pk=candidate.id, commerce=commerce, first_name=candidate.first_name,
                        last_name=candidate.last_name)


def _prepare(*, tenant, actor, bodies, digests, refs, now):
    """One Prepared or one DomainError per resolved body, in order."""
    outcomes = [None] * len(bodies)
    valid = []
    for index, body in enumerate(bodies):
        problems = _check_references(body, refs)
        if problems:
            outcomes[index] = errors.ValidationFailed.of(problems)
        else:
            valid.append(index)
    with ResolutionContext(commerces=[refs.commerces[bodies[i].item["commerce_id"]] for i in valid]) as context:
        for index in valid:
            outcomes[index] = _build(tenant=tenant, actor=actor, item=bodies[index].item, digest=digests[index],
                                     refs=refs, context=context, now=now)
    return outcomes


def _insert_rows(model, rows):
    # One row: a plain INSERT is cheaper than bulk_create's machinery (the single-create hot path). More: one array
    # per column (reten/db.py), not bulk_create's placeholder and field adaptation per value (issue 15).
    if len(rows) == 1:
        rows[0].save(force_insert=True)
    elif rows:
        bulk_insert(model, rows)


def _insert(prepared):
    """One INSERT per table for the whole batch."""
    _insert_rows(Activity, [p.activity for p in prepared])
    _insert_rows(CommerceAssignment, [p.assignment for p in prepared])
    _insert_rows(TaskDetails, [p.task_details for p in prepared if p.task_details is not None])
    _insert_rows(TargetUser, [t for p in prepared for t in p.targets])
    _insert_rows(ActivityAttribute, [a for p in prepared for a in p.attributes])
    events = [e for p in prepared for e in p.events]
    _insert_rows(StatusEvent, events)
    for p in prepared:
        _attach_related(p)
    status_events_written(events)


def _attach_related(prepared):
    """The created activity carries its rows, so the response needs no further query."""
    activity = prepared.activity
    activity._state.adding = False
    activity._state.db = "default"
    cache = {}
    for name, rows in (("target_users", prepared.targets), ("attributes", prepared.attributes)):
        # What prefetch_related leaves behind: a queryset whose results are already known.
        queryset = getattr(activity, name).all()
        queryset._result_cache = list(rows)
        queryset._prefetch_done = True
        cache[name] = queryset
    activity._prefetched_objects_cache = cache


def _dispatch_due_on_commit(activities, dispatch_due):
    """Activities created already due leave right after the commit (the dispatch app queues or starts them).
    The periodic dispatch pass remains the guarantee, so nothing scheduled beyond the horizon is looked at."""
    if not dispatch_due:
        return
    horizon = timezone.now() + ON_COMMIT_DISPATCH_HORIZON
    due = [a for a in activities if a.status == ActivityStatus.READY and a.scheduled_at <= horizon]
    if due:
        transaction.on_commit(lambda: activities_became_due(due))


def _existing(*, tenant, keys):
    return {a.idempotency_key: a for a in Activity.objects.for_tenant(tenant).filter(idempotency_key__in=keys)
            .only("id", "idempotency_key", "request_hash", "tenant_id")}


def _replay(existing, digest):
    if existing.request_hash != digest:
        raise errors.Conflict("This idempotency key was already used with a different body",
                              extra={"existing_activity_id": existing.pk})
    return Created(existing, replayed=True)


def activity_create(*, tenant, actor, data, dispatch_due=True):
    """Create one activity (data: the validated create body), or replay the one created with the same key.
    An activity created due is dispatched right after the commit unless `dispatch_due` is False."""
    refs = References.load(tenant=tenant, items=[data])
    body = resolve_external_ids(data, refs)
    digest = request_hash(body.item)
    key = data["idempotency_key"]
    now = timezone.now()
    outcome = _prepare(tenant=tenant, actor=actor, bodies=[body], digests=[digest], refs=refs, now=now)[0]
    if isinstance(outcome, errors.DomainError):
        # A replay of a body that was valid when first sent is still a replay.
        existing = _existing(tenant=tenant, keys=[key]).get(key)
        if existing is not None:
            return _replay(existing, digest)
        raise outcome
    try:
        with transaction.atomic():
            _insert([outcome])
            _dispatch_due_on_commit([outcome.activity], dispatch_due)
    except IntegrityError:
        existing = _existing(tenant=tenant, keys=[key]).get(key)
        if existing is None:
            raise
        return _replay(existing, digest)
    return Created(outcome.activity)


@dataclass
class BulkOutcome:
    index: int
    status: int  # 201 created, 200 replayed, 4xx failed
    activity_id: object = None
    error: errors.DomainError | None = None


def _failed(index, error):
    return BulkOutcome(index, error.status_code, getattr(error, "extra", {}).get("existing_activity_id"), error)


def activity_bulk_create(*, tenant, actor, items, failed=None, dispatch_due=True):
    """Create up to MAX_BULK_ITEMS activities; each is created, replayed or fails on its own.

    `failed` maps an index to a DomainError found before the service (the body's shape); those items are
    reported as they are. Returns one BulkOutcome per item, in order.
    """
    if len(items) > MAX_BULK_ITEMS:
        raise errors.ValidationFailed(f"At most {MAX_BULK_ITEMS} items per call",
                                      details={"items": [f"Ensure this field has no more than {MAX_BULK_ITEMS} "
                                                         "elements."]})
    failed = failed or {}
    results = [None] * len(items)
    for index, error in failed.items():
        results[index] = _failed(index, error)
    live = [i for i in range(len(items)) if i not in failed]
    refs = References.load(tenant=tenant, items=[items[i] for i in live])
    bodies = {i: resolve_external_ids(items[i], refs) for i in live}
    digests = {i: request_hash(bodies[i].item) for i in live}
    existing = _existing(tenant=tenant, keys={items[i]["idempotency_key"] for i in live})
    first_of_key, to_create = {}, []
    for index in live:
        key = items[index]["idempotency_key"]
        if key in existing:
            results[index] = _replay_outcome(index, existing[key], digests[index])
        elif key in first_of_key:
            continue  # settled against the first item with this key, once that one is created
        else:
            first_of_key[key] = index
            to_create.append(index)
    now = timezone.now()
    prepared = _prepare(tenant=tenant, actor=actor, bodies=[bodies[i] for i in to_create],
                        digests=[digests[i] for i in to_create], refs=refs, now=now)
    ready = []
    for index, outcome in zip(to_create, prepared, strict=True):
        if isinstance(outcome, errors.DomainError):
            results[index] = _failed(index, outcome)
        else:
            ready.append((index, outcome))
    _insert_bulk(tenant=tenant, ready=ready, results=results, digests=digests, items=items,
                 dispatch_due=dispatch_due)
    for index in live:
        if results[index] is None:  # a later item repeating a key of this batch: settled against the first
            first = results[first_of_key[items[index]["idempotency_key"]]]
            if first.status not in (200, 201):
                results[index] = _failed(index, errors.ValidationFailed(
                    "The first item with this idempotency key failed",
                    details={"idempotency_key": [f"Item {first.index} with the same key failed."]}))
            elif digests[index] != digests[first.index]:
                results[index] = _failed(index, errors.Conflict(
                    "This idempotency key was already used with a different body",
                    extra={"existing_activity_id": first.activity_id}))
            else:
                results[index] = BulkOutcome(index, 200, first.activity_id)
    return results


def _replay_outcome(index, existing, digest):
    try:
        created = _replay(existing, digest)
    except errors.Conflict as exc:
        return _failed(index, exc)
    return BulkOutcome(index, 200, created.activity.pk)


def _insert_bulk(*, tenant, ready, results, digests, items, dispatch_due):
    if not ready:
        return
    try:
        with transaction.atomic():
            _insert([p for _, p in ready])
            _dispatch_due_on_commit([p.activity for _, p in ready], dispatch_due)
    except IntegrityError:
        # A concurrent request took some of these keys: insert one by one, each in its own savepoint.
        for index, prepared in ready:
            try:
                with transaction.atomic():
                    _insert([prepared])
                    _dispatch_due_on_commit([prepared.activity], dispatch_due)
            except IntegrityError:
                key = items[index]["idempotency_key"]
                existing = _existing(tenant=tenant, keys=[key]).get(key)
                results[index] = (_replay_outcome(index, existing, digests[index]) if existing is not None
                                  else _failed(index, errors.Conflict("The activity could not be stored")))
            else:
                results[index] = BulkOutcome(index, 201, prepared.activity.pk)
        return
    for index, prepared in ready:
        results[index] = BulkOutcome(index, 201, prepared.activity.pk)
