"""Request and response shapes of results (SPEC 6.1, 6.3, 6.4). Requests snake_case, responses camelCase."""
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from activities.api.serializers import CommaSeparatedChoices, FlexibleDateTimeField, TaskResultSerializer
from activities.models import (
    Channel,
    ContactDirection,
    ReceiptStatus,
    ResultSource,
    TaskResultStatus,
)
from activities.selectors import INTEGRATION_STATUS_OF, INTEGRATION_STATUSES, link_last_result
from reten.api.serializers import StrictSerializer

# --- task results -----------------------------------------------------------------------------------------------


class TaskResultDetailsInputSerializer(StrictSerializer):
    result = serializers.CharField(max_length=64, help_text="A task result type code of the tenant (6.3).")
    comment = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=10000)
    contact_type = serializers.ChoiceField(choices=ContactDirection.choices, required=False, allow_null=True)
    operator_external_id = serializers.CharField(required=False, allow_null=True, max_length=255)
    future_scheduled_at = serializers.DateTimeField(required=False, allow_null=True,
                                                    help_text="Required (in the future) by some result types.")
    payload = serializers.JSONField(required=False, allow_null=True, help_text="Stored as sent.")


class TaskResultInputSerializer(StrictSerializer):
    activity_id = serializers.UUIDField(required=False, allow_null=True, help_text="Wins over provider_activity_id.")
    provider_activity_id = serializers.CharField(required=False, allow_null=True, max_length=255)
    commerce_external_id = serializers.CharField(max_length=255)
    occurred_at = serializers.DateTimeField()
    status = serializers.ChoiceField(
        choices=TaskResultStatus.choices,
        help_text="Internal PENDING | COMPLETED | NOT_EXECUTED | CANCELED | TRANSFERRED, or integration "
                  "EFFECTIVE | NOT_EFFECTIVE | PENDING (both effective and not effective complete the task).")
    external_status = serializers.CharField(required=False, allow_null=True, max_length=255)
    hard_override = serializers.BooleanField(required=False, default=False,
                                             help_text="Needs MANAGE_ACTIVITY_CONFIG too: moves the activity from "
                                                       "any state to the one the status maps to.")
    raw_payload = serializers.JSONField(required=False, allow_null=True, help_text="Stored as sent.")
    task_result = TaskResultDetailsInputSerializer()

    def validate(self, attrs):
        if attrs.get("activity_id") is None and not attrs.get("provider_activity_id"):
            raise serializers.ValidationError({"activity_id": ["activity_id or provider_activity_id is required."]})
        return attrs


class TaskResultListFilterSerializer(serializers.Serializer):
    activity_id = serializers.UUIDField(required=False)
    commerce_id = serializers.UUIDField(required=False)
    source = CommaSeparatedChoices(ResultSource.choices, required=False)
    status = CommaSeparatedChoices(TaskResultStatus.choices, required=False)
    occurred_from = FlexibleDateTimeField(required=False)
    occurred_to = FlexibleDateTimeField(required=False, end_of_day=True)


# --- delivery receipts (SPEC 6.2) -------------------------------------------------------------------------------


class DeliveryReceiptInputSerializer(StrictSerializer):
    activity_id = serializers.UUIDField(required=False, allow_null=True, help_text="Wins over provider_activity_id.")
    provider_activity_id = serializers.CharField(required=False, allow_null=True, max_length=255)
    status = serializers.ChoiceField(choices=ReceiptStatus.choices,
                                     help_text="SENT records only; DELIVERED and READ complete the message; FAILED, "
                                               "UNDELIVERED and BOUNCED fail it (only a DISPATCHED one).")
    occurred_at = serializers.DateTimeField()
    error_code = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=64)
    error_message = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=10000)
    raw_payload = serializers.JSONField(required=False, allow_null=True, help_text="Stored as sent.")

    def validate(self, attrs):
        if attrs.get("activity_id") is None and not attrs.get("provider_activity_id"):
            raise serializers.ValidationError({"activity_id": ["activity_id or provider_activity_id is required."]})
        return attrs


class DeliveryReceiptBatchSerializer(serializers.Serializer):
    """For the schema: the view checks each item on its own, so one bad item fails alone."""

    items = DeliveryReceiptInputSerializer(many=True, help_text="1 to 1,000 receipts.")


class DeliveryReceiptBatchItemSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.IntegerField(help_text="201 stored, 200 already stored, else the error's status.")
    receipt_id = serializers.UUIDField(required=False)
    error = serializers.DictField(required=False)


class DeliveryReceiptBatchResponseSerializer(serializers.Serializer):
    results = DeliveryReceiptBatchItemSerializer(many=True)
    created = serializers.IntegerField()
    replayed = serializers.IntegerField()
    failed = serializers.IntegerField()


# --- task result types ------------------------------------------------------------------------------------------


class TaskResultTypeSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    code = serializers.CharField()
    label = serializers.CharField()
    requires_future_scheduled_at = serializers.BooleanField()
    creates_follow_up = serializers.BooleanField()
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class TaskResultTypeCreateSerializer(StrictSerializer):
    code = serializers.RegexField(r"^[A-Za-z0-9_.-]+$", max_length=64,
                                  error_messages={"invalid": "Letters, digits, '_', '-' and '.' only."})
    label = serializers.CharField(max_length=255)
    requires_future_scheduled_at = serializers.BooleanField(required=False, default=False)
    creates_follow_up = serializers.BooleanField(required=False, default=False,
                                                 help_text="Needs requires_future_scheduled_at.")
    is_active = serializers.BooleanField(required=False, default=True)


class TaskResultTypeUpdateSerializer(StrictSerializer):
    code = serializers.CharField(required=False, help_text="Cannot be changed (stored results name it).")
    label = serializers.CharField(max_length=255, required=False)
    requires_future_scheduled_at = serializers.BooleanField(required=False)
    creates_follow_up = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)

    def validate_code(self, value):
        raise serializers.ValidationError("The code cannot be changed; add a new type and deactivate this one.")


class TaskResultTypeFilterSerializer(serializers.Serializer):
    active_only = serializers.BooleanField(required=False, default=False)


class TaskResultTypeConfigSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    requires_future_scheduled_at = serializers.BooleanField()


# --- the integration task list ----------------------------------------------------------------------------------

INTEGRATION_STATUS_CHOICES = [(name, name) for name in INTEGRATION_STATUSES]


class IntegrationTaskFilterSerializer(serializers.Serializer):
    status = CommaSeparatedChoices(INTEGRATION_STATUS_CHOICES, required=False,
                                   help_text="PENDING (READY or UNRESOLVED), IN_PROGRESS (DISPATCHED), COMPLETED, "
                                             "CANCELLED (CANCELED or FAILED).")
    result_status = CommaSeparatedChoices(TaskResultStatus.choices, required=False,
                                          help_text="The latest result's status.")
    channel = CommaSeparatedChoices(Channel.choices, required=False)
    external_commerce_id = serializers.CharField(required=False, max_length=255)
    external_operator_id = serializers.CharField(required=False, max_length=255)
    scheduled_from = FlexibleDateTimeField(required=False)
    scheduled_to = FlexibleDateTimeField(required=False, end_of_day=True)


class IntegrationTaskSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.CharField()
    status = serializers.SerializerMethodField()
    channel = serializers.ChoiceField(choices=Channel.choices)
    scheduled_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    commerce_external_id = serializers.CharField(source="commerce_assignment.commerce.external_id")
    commerce_name = serializers.CharField(source="commerce_assignment.commerce.name")
    operator_external_id = serializers.CharField(source="task_details.operator.external_id", allow_null=True)
    route_code = serializers.CharField(source="task_details.route.code")
    provider_activity_id = serializers.CharField(allow_null=True)
    can_force_retry_dispatch = serializers.BooleanField()
    last_result = TaskResultSerializer(allow_null=True)

    def to_representation(self, activity):
        return super().to_representation(link_last_result(activity))

    @extend_schema_field(serializers.ChoiceField(choices=INTEGRATION_STATUS_CHOICES))
    def get_status(self, activity):
        return INTEGRATION_STATUS_OF[activity.status]
