"""The JSON body every provider receives for an activity (SPEC 5.3).

Built from four flat queries per batch (activities with commerce and task, target users, their contacts,
attributes) read as tuples: the dispatcher builds hundreds per pass, and model instances would cost more
than the provider calls.
"""
from dataclasses import dataclass, field

from activities.models import (
    Activity,
    ActivityAttribute,
    AttributeResolutionStatus,
    AttributeStrategy,
    ResolutionStrategy,
    TargetResolutionStatus,
    TargetUser,
)
from commerces.models import Contact
from reten.api.renderers import format_datetime

USABLE_ATTRIBUTE_STATUSES = (AttributeResolutionStatus.RESOLVED, AttributeResolutionStatus.FALLBACK)
ACTIVITY_COLUMNS = (
    "id", "tenant_id", "type", "channel", "status", "reason", "scheduled_at", "suggested_execution_time", "score",
    "user_status", "dispatch_attempt_count",
    "commerce_assignment__commerce_id", "commerce_assignment__commerce__external_id",
    "commerce_assignment__commerce__name", "commerce_assignment__commerce__tax_id",
    "task_details__route__code", "task_details__operator__external_id", "task_details__operator__name",
)


@dataclass
class PayloadSource:
    """One activity as the payload needs it, plus whether ON_DISPATCH resolution is still pending."""

    row: dict
    target_users: list = field(default_factory=list)
    attributes: dict = field(default_factory=dict)
    pending_resolution: bool = False

    @property
    def status(self):
        return self.row["status"]


def _iso(value):
    return format_datetime(value) if value is not None else None


def payload_sources(ids):
    """{activity id: PayloadSource} for these activities, in four queries whatever their number."""
    sources = {row["id"]: PayloadSource(row=row)
               for row in Activity.objects.filter(pk__in=list(ids)).values(*ACTIVITY_COLUMNS)}
    if not sources:
        return sources
    people = {}
    targets = (TargetUser.objects.filter(activity_id__in=list(sources))
               .order_by("activity_id", "position", "created_at")
               .values_list("activity_id", "commerce_user_id", "commerce_user__first_name",
                            "commerce_user__last_name", "resolution_status", "resolution_strategy"))
    for activity_id, user_id, first_name, last_name, status, strategy in targets:
        source = sources[activity_id]
        if status == TargetResolutionStatus.PENDING and strategy == ResolutionStrategy.ON_DISPATCH:
            source.pending_resolution = True
        if user_id is not None:
            person = {"id": str(user_id), "firstName": first_name, "lastName": last_name, "contacts": []}
            source.target_users.append(person)
            people.setdefault(user_id, []).append(person)
    if people:
        contacts = (Contact.objects.filter(commerce_user_id__in=list(people), is_active=True)
                    .order_by("commerce_user_id", "-is_primary", "created_at")
                    .values_list("commerce_user_id", "contact_type", "value"))
        for user_id, contact_type, value in contacts:
            for person in people[user_id]:
                person["contacts"].append({"type": contact_type, "value": value})
    attributes = (ActivityAttribute.objects.filter(activity_id__in=list(sources))
                  .order_by("activity_id", "created_at", "attribute_key__key")
                  .values_list("activity_id", "attribute_key__key", "value", "resolution_status", "strategy"))
    for activity_id, key, value, status, strategy in attributes:
        source = sources[activity_id]
        if status in USABLE_ATTRIBUTE_STATUSES:
            source.attributes[key] = value
        elif status == AttributeResolutionStatus.PENDING and strategy == AttributeStrategy.ON_DISPATCH:
            source.pending_resolution = True
    return sources


def build_payload(source):
    row = source.row
    commerce_id = row["commerce_assignment__commerce_id"]
    return {
        "activityId": str(row["id"]),
        "tenantId": str(row["tenant_id"]),
        "type": row["type"],
        "channel": row["channel"],
        "reason": row["reason"],
        "scheduledAt": _iso(row["scheduled_at"]),
        "suggestedExecutionTime": _iso(row["suggested_execution_time"]),
        "score": row["score"],
        "userStatus": row["user_status"],
        "attempt": row["dispatch_attempt_count"],
        "commerce": {
            "id": str(commerce_id), "externalId": row["commerce_assignment__commerce__external_id"],
            "name": row["commerce_assignment__commerce__name"], "taxId": row["commerce_assignment__commerce__tax_id"],
        } if commerce_id is not None else None,
        "targetUsers": source.target_users,
        "attributes": source.attributes,
        "task": {
            "routeCode": row["task_details__route__code"],
            "operatorExternalId": row["task_details__operator__external_id"],
            "operatorName": row["task_details__operator__name"],
        } if row["task_details__route__code"] is not None else None,
    }


def payloads_for(ids):
    """{activity id: payload} (for tools and benchmarks that want the exact bodies a dispatch would send)."""
    return {activity_id: build_payload(source) for activity_id, source in payload_sources(ids).items()}
