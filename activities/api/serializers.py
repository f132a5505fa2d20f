"""Request and response shapes of the activities API (SPEC 4). Requests snake_case, responses camelCase."""
import datetime
import uuid

from django.utils import timezone
from django.utils.dateparse import parse_date
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from activities.models import (
    ActivityStatus,
    ActivityType,
    AttributeStrategy,
    Channel,
    ContactDirection,
    CriterionType,
    ReceiptStatus,
    ResolutionStrategy,
    ResolverType,
    ResultSource,
    TaskResultStatus,
)
from activities.services.bulk import MAX_BULK_IDS
from activities.services.creation import MAX_BULK_ITEMS
from reten.api.choices import INVALID_CHOICE
from reten.api.serializers import StrictSerializer

# --- creation -------------------------------------------------------------------------------------------------


class CriterionSerializer(StrictSerializer):
    type = serializers.ChoiceField(choices=CriterionType.choices)
    config = serializers.DictField(required=False, default=dict,
                                   help_text='ROLE_MATCH: {"role": "COMMERCE_REP"}; others: {}.')
    priority = serializers.IntegerField(required=False, default=0, min_value=-2147483648, max_value=2147483647)


class AttributeInputSerializer(StrictSerializer):
    key = serializers.CharField(max_length=100)
    value = serializers.JSONField(required=False, allow_null=True, help_text="Wins over any resolver.")
    fallback = serializers.JSONField(required=False, allow_null=True,
                                     help_text="Used (status FALLBACK) when resolution fails.")


class ActivityCreateSerializer(StrictSerializer):
    type = serializers.ChoiceField(choices=ActivityType.choices)
    reason = serializers.CharField()
    channel = serializers.ChoiceField(choices=Channel.choices)
    commerce_id = serializers.UUIDField(required=False,
                                        help_text="Required unless commerce_external_id names the commerce.")
    commerce_external_id = serializers.CharField(
        required=False, max_length=255,
        help_text="The commerce's external_id, instead of commerce_id (if both are sent they must agree).")
    idempotency_key = serializers.CharField(max_length=255)
    scheduled_at = serializers.DateTimeField()
    suggested_execution_time = serializers.DateTimeField(required=False, allow_null=True)
    user_status = serializers.CharField(max_length=64, required=False, allow_null=True, allow_blank=True)
    score = serializers.IntegerField(required=False, allow_null=True, min_value=-2147483648, max_value=2147483647)
    assignment_reason = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    target_criteria = CriterionSerializer(many=True, required=False, allow_null=True,
                                          help_text="Overrides the tenant's target-resolution configs.")
    attribute_keys = serializers.ListField(child=serializers.CharField(max_length=100), required=False)
    attributes = AttributeInputSerializer(many=True, required=False)
    assigned_route_id = serializers.UUIDField(required=False, allow_null=True,
                                              help_text="Required for TASK, refused for MESSAGE.")
    assigned_operator_id = serializers.UUIDField(required=False, allow_null=True,
                                                 help_text="Required for TASK, refused for MESSAGE.")
    assigned_route_code = serializers.CharField(
        required=False, allow_null=True, max_length=255,
        help_text="The route's code, instead of assigned_route_id (if both are sent they must agree).")
    assigned_operator_external_id = serializers.CharField(
        required=False, allow_null=True, max_length=255,
        help_text="The operator's external_id, instead of assigned_operator_id, for SALESMAN and CALLCENTER tasks "
                  "(the channel implies the operator's type; if both are sent they must agree).")

    def to_internal_value(self, data):
        # commerce_id is required unless commerce_external_id stands in for it; named with the other missing fields.
        missing_commerce = isinstance(data, dict) and all(
            data.get(name) in (None, "") for name in ("commerce_id", "commerce_external_id"))
        required = [self.fields["commerce_id"].error_messages["required"]]
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if missing_commerce and isinstance(exc.detail, dict):
                exc.detail.setdefault("commerce_id", required)
            raise
        if missing_commerce:
            raise serializers.ValidationError({"commerce_id": required})
        return value

    def validate(self, attrs):
        if attrs.get("user_status") == "":
            attrs["user_status"] = None
        if attrs.get("assignment_reason") is None:
            attrs["assignment_reason"] = ""
        return attrs


class TaskCreateSerializer(ActivityCreateSerializer):
    type = serializers.CharField(required=False, default=ActivityType.TASK, help_text="Implied: TASK.")

    def validate_type(self, value):
        if value != ActivityType.TASK:
            raise serializers.ValidationError("This endpoint creates TASK activities only.")
        return value


class BulkCreateSerializer(StrictSerializer):
    items = ActivityCreateSerializer(many=True, help_text=f"1 to {MAX_BULK_ITEMS} create bodies.")


class BulkErrorSerializer(serializers.Serializer):
    status_code = serializers.IntegerField()
    message = serializers.CharField()
    error = serializers.CharField()
    details = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)
    existing_activity_id = serializers.UUIDField(required=False)


class BulkResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.IntegerField(help_text="201 created, 200 replayed, 400/409 failed.")
    activity_id = serializers.UUIDField(required=False)
    error = BulkErrorSerializer(required=False)


class BulkResponseSerializer(serializers.Serializer):
    results = BulkResultSerializer(many=True)
    created = serializers.IntegerField()
    replayed = serializers.IntegerField()
    failed = serializers.IntegerField()


# --- reading --------------------------------------------------------------------------------------------------
# The read shapes the hot routes render (list, detail, and the detail every create and operation answers with) write
# their dict by hand: the same keys in the same order and the same values as DRF's field-by-field walk over the
# declared fields (which stay for the schema), at a fraction of its cost; test_read_shapes holds each to that walk.
# With DATETIME_FORMAT None a DateTimeField hands the datetime itself to the renderer, so these do too.


def _text(value):
    return None if value is None else str(value)


def _integer(value):
    return None if value is None else int(value)



class CommerceRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    external_id = serializers.CharField()


class CommerceAssignmentSerializer(serializers.Serializer):
    commerce_id = serializers.UUIDField()
    commerce = CommerceRefSerializer()


def commerce_assignment_representation(assignment):
    commerce = assignment.commerce
    return {"commerce_id": _text(assignment.commerce_id),
            "commerce": None if commerce is None else {"id": _text(commerce.id), "name": _text(commerce.name),
                                                       "external_id": _text(commerce.external_id)}}


def activity_list_item_representation(activity):
    can_force_retry_dispatch = activity.can_force_retry_dispatch
    return {
        "id": _text(activity.id),
        "type": _text(activity.type),
        "channel": _text(activity.channel),
        "status": _text(activity.status),
        "reason": _text(activity.reason),
        "scheduled_at": activity.scheduled_at,
        "score": _integer(activity.score),
        "dispatch_attempt_count": _integer(activity.dispatch_attempt_count),
        "can_force_retry_dispatch": None if can_force_retry_dispatch is None else bool(can_force_retry_dispatch),
        "commerce_assignment": commerce_assignment_representation(activity.commerce_assignment),
        "created_at": activity.created_at,
        "updated_at": activity.updated_at,
    }


class ActivityListItemSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.ChoiceField(choices=ActivityType.choices)
    channel = serializers.ChoiceField(choices=Channel.choices)
    status = serializers.ChoiceField(choices=ActivityStatus.choices)
    reason = serializers.CharField()
    scheduled_at = serializers.DateTimeField()
    score = serializers.IntegerField(allow_null=True)
    dispatch_attempt_count = serializers.IntegerField()
    can_force_retry_dispatch = serializers.BooleanField(
        help_text="FAILED because dispatch gave up: PATCH .../force-retry-dispatch may give it another round.")
    commerce_assignment = CommerceAssignmentSerializer()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def to_representation(self, activity):
        return activity_list_item_representation(activity)


class RouteRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class OperatorRefSerializer(serializers.Serializer):
    name = serializers.CharField()
    external_id = serializers.CharField(allow_null=True)


class TaskDetailsSerializer(serializers.Serializer):
    route_id = serializers.UUIDField()
    operator_id = serializers.UUIDField()
    route = RouteRefSerializer()
    operator = OperatorRefSerializer()


class CommerceUserNameSerializer(serializers.Serializer):
    first_name = serializers.CharField()
    last_name = serializers.CharField()


def target_user_representation(target):
    person = target.commerce_user
    return {
        "id": _text(target.id),
        "commerce_user_id": _text(target.commerce_user_id),
        "resolution_status": _text(target.resolution_status),
        "resolution_strategy": _text(target.resolution_strategy),
        "lock_reason": _text(target.lock_reason),
        "resolved_at": target.resolved_at,
        "locked_at": target.locked_at,
        "commerce_user": None if person is None else {"first_name": _text(person.first_name),
                                                      "last_name": _text(person.last_name)},
    }


def activity_attribute_representation(attribute):
    return {
        "id": _text(attribute.id),
        "activity_id": _text(attribute.activity_id),
        "attribute_key_id": _text(attribute.attribute_key_id),
        "key": _text(attribute.attribute_key.key),
        "value": attribute.value,
        "resolution_status": _text(attribute.resolution_status),
        "resolver_type": _text(attribute.resolver_type),
        "resolved_at": attribute.resolved_at,
        "error_message": _text(attribute.error_message),
        "created_at": attribute.created_at,
        "updated_at": attribute.updated_at,
    }


class TargetUserSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    commerce_user_id = serializers.UUIDField(allow_null=True)
    resolution_status = serializers.CharField()
    resolution_strategy = serializers.CharField()
    lock_reason = serializers.CharField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    locked_at = serializers.DateTimeField(allow_null=True)
    commerce_user = CommerceUserNameSerializer(allow_null=True)

    def to_representation(self, target):
        return target_user_representation(target)


class ActivityAttributeSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    activity_id = serializers.UUIDField()
    attribute_key_id = serializers.UUIDField()
    key = serializers.CharField(source="attribute_key.key")
    value = serializers.JSONField(allow_null=True)
    resolution_status = serializers.CharField()
    resolver_type = serializers.CharField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    error_message = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def to_representation(self, attribute):
        return activity_attribute_representation(attribute)


class StatusEventSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    event_type = serializers.CharField()
    from_status = serializers.CharField(allow_null=True)
    to_status = serializers.CharField(allow_null=True)
    error_code = serializers.CharField()
    error_message = serializers.CharField()
    occurred_at = serializers.DateTimeField()


class TaskResultBodySerializer(serializers.Serializer):
    result = serializers.CharField(source="result_code")
    comment = serializers.CharField(allow_null=True)
    contact_type = serializers.ChoiceField(choices=ContactDirection.choices, allow_null=True)
    operator_external_id = serializers.CharField(allow_null=True)
    future_scheduled_at = serializers.DateTimeField(allow_null=True)
    payload = serializers.JSONField(allow_null=True)


class TaskResultSerializer(serializers.Serializer):
    """A stored task result (SPEC 6.1). activityStatus is the activity's status now."""

    id = serializers.UUIDField()
    source = serializers.ChoiceField(choices=ResultSource.choices)
    activity_id = serializers.UUIDField(allow_null=True)
    provider_activity_id = serializers.CharField(allow_null=True)
    commerce_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=TaskResultStatus.choices)
    external_status = serializers.CharField(allow_null=True)
    occurred_at = serializers.DateTimeField()
    task_result = TaskResultBodySerializer(source="*")
    activity_status = serializers.SerializerMethodField()
    follow_up_activity_id = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()

    @extend_schema_field(serializers.ChoiceField(choices=ActivityStatus.choices, allow_null=True))
    def get_activity_status(self, result):
        return _result_activity_status(result)

    def to_representation(self, result):
        return task_result_representation(result)


def _result_activity_status(result):
    return result.activity.status if result.activity_id else None


def task_result_representation(result):
    return {
        "id": _text(result.id),
        "source": _text(result.source),
        "activity_id": _text(result.activity_id),
        "provider_activity_id": _text(result.provider_activity_id),
        "commerce_id": _text(result.commerce_id),
        "status": _text(result.status),
        "external_status": _text(result.external_status),
        "occurred_at": result.occurred_at,
        "task_result": {
            "result": _text(result.result_code),
            "comment": _text(result.comment),
            "contact_type": _text(result.contact_type),
            "operator_external_id": _text(result.operator_external_id),
            "future_scheduled_at": result.future_scheduled_at,
            "payload": result.payload,
        },
        "activity_status": _result_activity_status(result),
        "follow_up_activity_id": _text(result.follow_up_activity_id),
        "created_at": result.created_at,
    }


class DeliveryReceiptSerializer(serializers.Serializer):
    """A stored delivery receipt (SPEC 6.2). activityStatus is the activity's status now."""

    id = serializers.UUIDField()
    activity_id = serializers.UUIDField()
    provider_activity_id = serializers.CharField(source="activity.provider_activity_id", allow_null=True)
    status = serializers.ChoiceField(choices=ReceiptStatus.choices)
    occurred_at = serializers.DateTimeField()
    error_code = serializers.CharField()
    error_message = serializers.CharField()
    raw_payload = serializers.JSONField(allow_null=True)
    activity_status = serializers.ChoiceField(source="activity.status", choices=ActivityStatus.choices)
    created_at = serializers.DateTimeField()


class ActivityDetailSerializer(ActivityListItemSerializer):
    idempotency_key = serializers.CharField()
    suggested_execution_time = serializers.DateTimeField(allow_null=True)
    user_status = serializers.CharField(allow_null=True)
    assignment_reason = serializers.CharField(source="commerce_assignment.assignment_reason")
    task_details = serializers.SerializerMethodField()
    dispatch_config_id = serializers.UUIDField(allow_null=True)
    provider_activity_id = serializers.CharField(allow_null=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_dispatch_error = serializers.CharField()
    dispatched_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    target_users = TargetUserSerializer(many=True, source="target_users.all")
    attributes = ActivityAttributeSerializer(many=True, source="attributes.all")
    follow_up_of_id = serializers.UUIDField(allow_null=True)
    last_result = TaskResultSerializer(allow_null=True)
    delivery_status = serializers.SerializerMethodField(help_text="The latest delivery receipt's status (6.2).")

    @extend_schema_field(serializers.ChoiceField(choices=ReceiptStatus.choices, allow_null=True))
    def get_delivery_status(self, activity):
        return activity.last_receipt.status if activity.last_receipt_id else None

    @extend_schema_field(TaskDetailsSerializer(allow_null=True))
    def get_task_details(self, activity):
        # Only TASK activities have task details; asking a MESSAGE would cost a query for nothing.
        if activity.type != ActivityType.TASK:
            return None
        details = activity.task_details
        route, operator = details.route, details.operator
        return {"route_id": _text(details.route_id), "operator_id": _text(details.operator_id),
                "route": None if route is None else {"code": _text(route.code), "name": _text(route.name)},
                "operator": None if operator is None else {"name": _text(operator.name),
                                                           "external_id": _text(operator.external_id)}}

    def to_representation(self, activity):
        assignment = activity.commerce_assignment
        last_result = activity.last_result
        return {
            **activity_list_item_representation(activity),
            "idempotency_key": _text(activity.idempotency_key),
            "suggested_execution_time": activity.suggested_execution_time,
            "user_status": _text(activity.user_status),
            "assignment_reason": _text(assignment.assignment_reason),
            "task_details": self.get_task_details(activity),
            "dispatch_config_id": _text(activity.dispatch_config_id),
            "provider_activity_id": _text(activity.provider_activity_id),
            "next_attempt_at": activity.next_attempt_at,
            "last_dispatch_error": _text(activity.last_dispatch_error),
            "dispatched_at": activity.dispatched_at,
            "completed_at": activity.completed_at,
            "target_users": [target_user_representation(target) for target in activity.target_users.all()],
            "attributes": [activity_attribute_representation(attribute) for attribute in activity.attributes.all()],
            "follow_up_of_id": _text(activity.follow_up_of_id),
            "last_result": None if last_result is None else task_result_representation(last_result),
            "delivery_status": self.get_delivery_status(activity),
        }


# --- operating ------------------------------------------------------------------------------------------------


class CancelSerializer(StrictSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ForceRetrySerializer(StrictSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class TargetUserResolveSerializer(StrictSerializer):
    commerce_user_id = serializers.UUIDField()


class AttributeResolveSerializer(StrictSerializer):
    value = serializers.JSONField(help_text="The attribute's value: any JSON except null (required).")


class SuppliedAttributeSerializer(StrictSerializer):
    key = serializers.CharField(max_length=100, help_text="A key the activity carries.")
    value = serializers.JSONField(help_text="Any JSON except null; wins over any resolver (CALLER_PROVIDED).")


class RetryResolutionSerializer(StrictSerializer):
    attributes = SuppliedAttributeSerializer(many=True, required=False,
                                             help_text="Caller values applied before the retry (optional).")


class FlexibleDateTimeField(serializers.DateTimeField):
    """An ISO 8601 datetime, or a date (the start of that day; with end_of_day, its last microsecond)."""

    def __init__(self, *args, end_of_day=False, **kwargs):
        self.end_of_day = end_of_day
        super().__init__(*args, **kwargs)

    def to_internal_value(self, value):
        # A bare date first: parse_datetime reads "2025-01-16" as midnight, which would drop the day's end.
        if isinstance(value, str) and len(value) == 10:
            try:
                day = parse_date(value)
            except ValueError:  # well formed but impossible, e.g. 2020-02-30
                self.fail("invalid", format="YYYY-MM-DD or an ISO 8601 datetime")
            if day is not None:
                moment = datetime.datetime.combine(day, datetime.time.max if self.end_of_day else datetime.time.min)
                return timezone.make_aware(moment, datetime.UTC)
        return super().to_internal_value(value)


@extend_schema_field({"type": "string", "description": "One value or several, comma-separated."})
class CommaSeparatedChoices(serializers.Field):
    """`READY` or `READY,UNRESOLVED`."""

    def __init__(self, choices, **kwargs):
        self.allowed = [value for value, _ in choices]
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        values = [part.strip() for part in str(data).split(",") if part.strip()]
        wrong = [value for value in values if value not in self.allowed]
        if wrong:
            raise serializers.ValidationError(INVALID_CHOICE.format(input=wrong[0], allowed=", ".join(self.allowed)))
        return values


class ActivityListFilterSerializer(serializers.Serializer):
    status = CommaSeparatedChoices(ActivityStatus.choices, required=False)
    type = CommaSeparatedChoices(ActivityType.choices, required=False)
    channel = CommaSeparatedChoices(Channel.choices, required=False)
    commerce_id = serializers.UUIDField(required=False)
    scheduled_from = FlexibleDateTimeField(required=False)
    scheduled_to = FlexibleDateTimeField(required=False, end_of_day=True)
    search = serializers.CharField(required=False, allow_blank=True)
    ordering = serializers.ChoiceField(required=False, choices=[
        "scheduled_at", "-scheduled_at", "created_at", "-created_at", "score", "-score"])


# --- configuration --------------------------------------------------------------------------------------------


class CriterionOutputSerializer(serializers.Serializer):
    """A stored criterion in both spellings: type/config (as sent) and the docs' criteriaType/criteriaConfig."""

    id = serializers.UUIDField(help_text="uuid5 of the config's id and the criterion's position (in priority "
                                         "order): stable while the config's criteria are not rewritten.")
    type = serializers.ChoiceField(choices=CriterionType.choices)
    config = serializers.DictField()
    priority = serializers.IntegerField()
    criteria_type = serializers.ChoiceField(choices=CriterionType.choices, source="type")
    criteria_config = serializers.DictField(source="config")


def criterion_id(config_id, index):
    return uuid.uuid5(config_id, f"criterion:{index}")


class TargetResolutionConfigSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    resolution_strategy = serializers.ChoiceField(choices=ResolutionStrategy.choices)
    fallback_to_commerce_rep = serializers.BooleanField()
    fallback_to_owner = serializers.BooleanField()
    priority = serializers.IntegerField()
    is_active = serializers.BooleanField()
    criteria = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


    @extend_schema_field(CriterionOutputSerializer(many=True))
    def get_criteria(self, config):
        criteria = [{"id": criterion_id(config.id, index), "type": criterion["type"],
                     "config": criterion.get("config") or {}, "priority": criterion.get("priority", 0)}
                    for index, criterion in enumerate(config.criteria or [])]
        return CriterionOutputSerializer(criteria, many=True).data


class TargetResolutionConfigWriteSerializer(StrictSerializer):
    resolution_strategy = serializers.ChoiceField(choices=ResolutionStrategy.choices, required=False)
    fallback_to_commerce_rep = serializers.BooleanField(required=False)
    fallback_to_owner = serializers.BooleanField(required=False)
    priority = serializers.IntegerField(required=False, min_value=-2147483648, max_value=2147483647)
    is_active = serializers.BooleanField(required=False)
    criteria = CriterionSerializer(many=True, required=False)


class AttributeKeySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    key = serializers.CharField()
    label = serializers.CharField()
    description = serializers.CharField()


class AttributeKeyRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    key = serializers.CharField()
    label = serializers.CharField()


class AttributePolicySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    attribute_key_id = serializers.UUIDField()
    key = serializers.CharField(source="attribute_key.key")
    attribute_key = AttributeKeyRefSerializer()
    strategy = serializers.ChoiceField(choices=AttributeStrategy.choices)
    resolver_type = serializers.ChoiceField(choices=ResolverType.choices)
    hook_url = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class AttributePolicyUpsertSerializer(StrictSerializer):
    key = serializers.CharField(max_length=100, required=False,
                                help_text="The attribute key's code; or send attribute_key_id (both must agree).")
    attribute_key_id = serializers.UUIDField(required=False, help_text="The attribute key's id, instead of key.")
    strategy = serializers.ChoiceField(choices=AttributeStrategy.choices, required=False,
                                       default=AttributeStrategy.UPFRONT)
    resolver_type = serializers.ChoiceField(choices=ResolverType.choices, required=False,
                                            default=ResolverType.INTERNAL_SERVICE)
    hook_url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="",
                                    help_text="Required for CLIENT_HOOK: a POST returning {value} within 5 s.")


class UserRetentionStatusSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    code = serializers.CharField()
    label = serializers.CharField()
    description = serializers.CharField()
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class UserRetentionStatusCreateSerializer(StrictSerializer):
    code = serializers.RegexField(r"^[A-Za-z0-9_.-]+$", max_length=64,
                                  error_messages={"invalid": "Letters, digits, '_', '-' and '.' only."})
    label = serializers.CharField(max_length=255)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    is_active = serializers.BooleanField(required=False, default=True)


class UserRetentionStatusFilterSerializer(serializers.Serializer):
    active_only = serializers.BooleanField(required=False, default=False)




# --- bulk operations by selection (SPEC 11.4) -----------------------------------------------------------------

LIST_FILTERS_TAKING_SEVERAL = ("status", "type", "channel")


class BulkSelectionSerializer(serializers.Serializer):
    """`ids` or `filter` (the list's filters, validated as GET /api/activities validates its query)."""

    ids = serializers.ListField(child=serializers.UUIDField(), required=False, allow_empty=False,
                                max_length=MAX_BULK_IDS)
    filter = ActivityListFilterSerializer(required=False)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    dry_run = serializers.BooleanField(required=False, default=False)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({unknown[0]: ["Unknown field."]})
            selection = data.get("filter")
            if isinstance(selection, dict):
                unknown = sorted(set(selection) - set(ActivityListFilterSerializer().fields))
                if unknown:
                    raise serializers.ValidationError({"filter": {unknown[0]: ["Unknown filter."]}})
                # JSON may give several values as a list: the list's query takes them comma-separated.
                data = {**data, "filter": {
                    name: ",".join(map(str, value)) if name in LIST_FILTERS_TAKING_SEVERAL and isinstance(value, list)
                    else value for name, value in selection.items()}}
        return super().to_internal_value(data)

    def validate(self, attrs):
        if ("ids" in attrs) == ("filter" in attrs):
            raise serializers.ValidationError({"ids": ["Send either ids or filter, not both and not neither."]})
        return attrs


class BulkOutcomeSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    outcome = serializers.CharField(help_text="CHANGED, WOULD_CHANGE (dry run), or why it was skipped.")


class BulkOperationResponseSerializer(serializers.Serializer):
    matched = serializers.IntegerField()
    changed = serializers.IntegerField(help_text="Changed, or with dry_run: would change.")
    skipped = serializers.DictField(child=serializers.IntegerField(), help_text="{reason: count}")
    results = BulkOutcomeSerializer(many=True, allow_null=True, help_text="Per id, when the selection was ids.")
