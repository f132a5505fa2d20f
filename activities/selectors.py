"""Reading activities and their configuration. Every query starts from the tenant; query counts stay flat."""
from django.db import connection
from django.db.models import F, Prefetch, Q, Sum

from activities.models import (
    Activity,
    ActivityAttribute,
    ActivityStatus,
    ActivityType,
    AttributeKey,
    AttributePolicy,
    CommerceAssignment,
    DeliveryReceipt,
    StatusEvent,
    TargetResolutionConfig,
    TargetUser,
    TaskResult,
    TaskResultType,
    TenantActivityCount,
    UserRetentionStatus,
)
from reten import errors
from tenants.models import Tenant

ORDERINGS = ("scheduled_at", "-scheduled_at", "created_at", "-created_at", "score", "-score")
DEFAULT_ORDERING = "-created_at"
# The filters of activity_list besides `search` (and `ordering`, which narrows nothing).
NARROWING_FILTERS = ("status", "type", "channel", "commerce_id", "scheduled_from", "scheduled_to")


def activity_list_total(*, tenant, filters=None):
    """The `meta.total` of activity_list when it is known without counting the rows: with no filter that narrows
    the list (ordering does not), on PostgreSQL, the tenant's kept count (TenantActivityCount, exact); otherwise
    None and the paginator counts the list's queryset."""
    filters = filters or {}
    narrowed = any(filters.get(name) for name in NARROWING_FILTERS) or (filters.get("search") or "").strip()
    if narrowed or connection.vendor != "postgresql":
        return None
    return TenantActivityCount.objects.filter(tenant=tenant).aggregate(total=Sum("total"))["total"] or 0


def activity_list(*, tenant, filters=None):
    """filters: status / type / channel (lists), commerce_id, scheduled_from, scheduled_to (inclusive), search,
    ordering (one of ORDERINGS). A page is the count, its ids, then its rows (commerce joined): pagination.page_of."""
    filters = filters or {}
    queryset = Activity.objects.for_tenant(tenant).select_related("commerce_assignment__commerce")
    for name in ("status", "type", "channel"):
        if filters.get(name):
            queryset = queryset.filter(**{f"{name}__in": filters[name]})
    if filters.get("commerce_id"):
        queryset = queryset.filter(commerce_assignment__commerce_id=filters["commerce_id"])
    if filters.get("scheduled_from"):
        queryset = queryset.filter(scheduled_at__gte=filters["scheduled_from"])
    if filters.get("scheduled_to"):
        queryset = queryset.filter(scheduled_at__lte=filters["scheduled_to"])
    search = (filters.get("search") or "").strip()
    if search:
        queryset = queryset.filter(pk__in=_search_matches(tenant, search))
    ordering = filters.get("ordering") or DEFAULT_ORDERING
    if ordering not in ORDERINGS:
        raise errors.ValidationFailed(f"ordering must be one of {', '.join(ORDERINGS)}",
                                      details={"ordering": [f"Must be one of {', '.join(ORDERINGS)}."]})
    name = ordering.lstrip("-")
    # Only score can be null (it sorts last either way). The NOT NULL dates sort plainly: PostgreSQL would not
    # read a (tenant, created_at) index for "DESC NULLS LAST" and sorted the whole tenant instead (issue 15).
    if name == "score":
        primary = F(name).desc(nulls_last=True) if ordering.startswith("-") else F(name).asc(nulls_last=True)
    else:
        primary = F(name).desc() if ordering.startswith("-") else F(name).asc()
    # Ties are broken by creation then id, so pages never overlap; activities without a score sort last.
    tie_breakers = ["id"] if name == "created_at" else ["-created_at", "id"]
    return queryset.order_by(primary, *tie_breakers)


def _search_matches(tenant, search):
    """The ids of the tenant's activities whose reason, idempotency key, provider activity id, commerce name or
    commerce external id contains `search` (case-insensitive), as one UNION subquery. Each branch reads one
    table, so PostgreSQL answers each from its trigram index (activities 0009) instead of filtering every row of
    the tenant through an OR across joins."""
    own = Activity.objects.for_tenant(tenant).order_by()
    branches = [own.filter(**{f"{field}__icontains": search}).values("pk")
                for field in ("reason", "idempotency_key", "provider_activity_id")]
    by_commerce = (CommerceAssignment.objects.order_by()
                   .filter(commerce__tenant=tenant)
                   .filter(Q(commerce__name__icontains=search) | Q(commerce__external_id__icontains=search))
                   .values("activity_id"))
    return branches[0].union(*branches[1:], by_commerce)


def activity_detail_queryset(*, tenant):
    """Everything the detail shows. The latest result's activity is the activity itself (link_last_result), not a
    second join of the widest table."""
    return (
        Activity.objects.for_tenant(tenant)
        .select_related("commerce_assignment__commerce", "task_details__route", "task_details__operator",
                        "last_result", "last_receipt")
        .prefetch_related(
            Prefetch("target_users", queryset=TargetUser.objects.select_related("commerce_user")),
            Prefetch("attributes", queryset=ActivityAttribute.objects.select_related("attribute_key")),
        )
    )


def _only_row(queryset):
    """The row of a lookup by primary key, or None. Unordered: `first()` would add ORDER BY, and compiling an
    ORDER BY over a wide select (the detail's ~80 columns) cost more than the rest of the query (issue 15)."""
    return next(iter(queryset.order_by()[:1]), None)


def link_last_result(activity):
    """Point the latest result back at its activity (what the result's activityStatus reads) without a join."""
    last_result = activity.last_result
    if last_result is not None and last_result.activity_id == activity.pk:
        last_result.activity = activity
    return activity


def activity_get(*, tenant, activity_id):
    """The activity with everything its detail shows (3 queries). Another tenant's id is not found."""
    activity = _only_row(activity_detail_queryset(tenant=tenant).filter(pk=activity_id))
    if activity is None:
        raise errors.NotFound("Activity not found")
    return link_last_result(activity)


def activity_find(*, tenant, activity_id):
    """The bare activity row of this tenant (for services that lock and re-read it), carrying the caller's Tenant:
    what reads it later (the webhook outbox's flag) asks nothing more."""
    activity = _only_row(Activity.objects.for_tenant(tenant).filter(pk=activity_id))
    if activity is None:
        raise errors.NotFound("Activity not found")
    if isinstance(tenant, Tenant):
        activity.tenant = tenant
    return activity


def activity_target_users(*, activity):
    return list(TargetUser.objects.filter(activity=activity).select_related("commerce_user"))


def activity_attributes(*, activity):
    return list(ActivityAttribute.objects.filter(activity=activity).select_related("attribute_key"))


def activity_status_events(*, activity):
    """Oldest first."""
    return list(StatusEvent.objects.filter(activity=activity).order_by("occurred_at", "id"))


def target_resolution_config_list(*, tenant):
    return list(TargetResolutionConfig.objects.for_tenant(tenant).order_by("-is_active", "priority", "created_at"))


def target_resolution_config_get(*, tenant, config_id):
    config = TargetResolutionConfig.objects.for_tenant(tenant).filter(pk=config_id).first()
    if config is None:
        raise errors.NotFound("Target-resolution config not found")
    return config


def attribute_key_list():
    return list(AttributeKey.objects.order_by("key"))


def attribute_policy_list(*, tenant):
    return list(AttributePolicy.objects.for_tenant(tenant).select_related("attribute_key"))


def user_retention_status_list(*, tenant, active_only=False):
    queryset = UserRetentionStatus.objects.for_tenant(tenant)
    if active_only:
        queryset = queryset.filter(is_active=True)
    return list(queryset.order_by("code"))


# --- results (SPEC 6) -------------------------------------------------------------------------------------------

def task_result_list(*, tenant, filters=None):
    """filters: activity_id, commerce_id, source, status (lists), occurred_from, occurred_to (inclusive).
    Newest first; one query for the page (activity joined), one for the count."""
    filters = filters or {}
    queryset = TaskResult.objects.for_tenant(tenant).select_related("activity")
    if filters.get("activity_id"):
        queryset = queryset.filter(activity_id=filters["activity_id"])
    if filters.get("commerce_id"):
        queryset = queryset.filter(commerce_id=filters["commerce_id"])
    for name in ("source", "status"):
        if filters.get(name):
            queryset = queryset.filter(**{f"{name}__in": filters[name]})
    if filters.get("occurred_from"):
        queryset = queryset.filter(occurred_at__gte=filters["occurred_from"])
    if filters.get("occurred_to"):
        queryset = queryset.filter(occurred_at__lte=filters["occurred_to"])
    return queryset.order_by("-occurred_at", "-created_at", "id")


def activity_results(*, activity):
    """Oldest first."""
    return list(TaskResult.objects.filter(activity=activity).select_related("activity")
                .order_by("occurred_at", "created_at", "id"))


def activity_delivery_receipts(*, activity):
    """Oldest first (SPEC 6.2)."""
    return list(DeliveryReceipt.objects.filter(activity=activity).select_related("activity")
                .order_by("occurred_at", "created_at", "id"))


def task_result_type_list(*, tenant, active_only=False):
    queryset = TaskResultType.objects.for_tenant(tenant)
    if active_only:
        queryset = queryset.filter(is_active=True)
    return list(queryset.order_by("code"))


def task_result_type_get(*, tenant, result_type_id):
    result_type = TaskResultType.objects.for_tenant(tenant).filter(pk=result_type_id).first()
    if result_type is None:
        raise errors.NotFound("Task result type not found")
    return result_type


# The integration task list speaks its own status vocabulary (SPEC 6.4).
INTEGRATION_STATUSES = {
    "PENDING": [ActivityStatus.READY, ActivityStatus.UNRESOLVED],
    "IN_PROGRESS": [ActivityStatus.DISPATCHED],
    "COMPLETED": [ActivityStatus.COMPLETED],
    "CANCELLED": [ActivityStatus.CANCELED, ActivityStatus.FAILED],
}
INTEGRATION_STATUS_OF = {status: name for name, statuses in INTEGRATION_STATUSES.items() for status in statuses}


def integration_task_list(*, tenant, filters=None):
    """TASK activities for integrators. filters: status (integration vocabulary, list), result_status (list),
    channel (list), external_commerce_id, external_operator_id, scheduled_from, scheduled_to (inclusive).
    A page is the count, its ids, then its rows (commerce, task details, latest result joined): see page_of.
    The latest result's activity is not joined: the serializer links it to the row (link_last_result)."""
    filters = filters or {}
    queryset = (
        Activity.objects.for_tenant(tenant).filter(type=ActivityType.TASK)
        .select_related("commerce_assignment__commerce", "task_details__route", "task_details__operator",
                        "last_result", "last_receipt")
    )
    if filters.get("status"):
        queryset = queryset.filter(status__in=[s for name in filters["status"] for s in INTEGRATION_STATUSES[name]])
    if filters.get("result_status"):
        queryset = queryset.filter(last_result__status__in=filters["result_status"])
    if filters.get("channel"):
        queryset = queryset.filter(channel__in=filters["channel"])
    if filters.get("external_commerce_id"):
        queryset = queryset.filter(commerce_assignment__commerce__external_id=filters["external_commerce_id"])
    if filters.get("external_operator_id"):
        queryset = queryset.filter(task_details__operator__external_id=filters["external_operator_id"])
    if filters.get("scheduled_from"):
        queryset = queryset.filter(scheduled_at__gte=filters["scheduled_from"])
    if filters.get("scheduled_to"):
        queryset = queryset.filter(scheduled_at__lte=filters["scheduled_to"])
    return queryset.order_by("scheduled_at", "id")
