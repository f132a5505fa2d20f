"""Results API (SPEC 6.1, 6.3, 6.4). Thin views: validate, call one service or selector, render."""
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from activities import selectors, services
from activities.api import result_serializers as shapes
from activities.api.serializers import DeliveryReceiptSerializer, TaskResultSerializer
from activities.models import Activity, TaskResult
from activities.services.receipts import MAX_BATCH_RECEIPTS
from reten import errors
from reten.api.exceptions import error_body, flatten_details
from reten.api.pagination import SmallPageNumberPagination
from reten.api.schema import ErrorSerializer
from reten.api.serializers import refuse_unknown_keys
from tenants.api.integration import ApiKeyOnly, IntegrationView
from tenants.api.tenancy import actor_of
from tenants.roles import P

ACTIVITY_ID = OpenApiParameter("activity_id", str, OpenApiParameter.PATH, description="Activity UUID")
RESULT_TYPE_ID = OpenApiParameter("result_type_id", str, OpenApiParameter.PATH, description="Result type UUID")

SUBMIT_RESPONSES = {
    201: OpenApiResponse(TaskResultSerializer, description="Stored (and applied to its activity)."),
    200: OpenApiResponse(TaskResultSerializer, description="The same result was already stored: nothing changed."),
    400: OpenApiResponse(ErrorSerializer, description="Bad body; unknown or inactive result code; a MESSAGE "
                                                      "activity (see delivery receipts, 6.2); unknown commerce or "
                                                      "not the activity's; follow-up refused."),
    403: OpenApiResponse(ErrorSerializer, description="Missing permission (hard_override needs "
                                                      "MANAGE_ACTIVITY_CONFIG as well)."),
    404: OpenApiResponse(ErrorSerializer, description="activity_id names no activity of this tenant."),
    409: OpenApiResponse(ErrorSerializer, description="errorCode ACTIVITY_NOT_DISPATCHED (READY or UNRESOLVED: "
                                                      "nothing stored, resend later) or ACTIVITY_ALREADY_CLOSED (a "
                                                      "different final result for a closed activity; needs "
                                                      "hard_override)."),
}


def _submit(request):
    body = shapes.TaskResultInputSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    submitted = services.task_result_submit(
        tenant=request.tenant, actor=actor_of(request), data=body.validated_data,
        may_hard_override=P.MANAGE_ACTIVITY_CONFIG in request.permissions)
    return Response(TaskResultSerializer(submitted.result).data,
                    status=status.HTTP_201_CREATED if submitted.created else status.HTTP_200_OK)


class TaskResultSubmitView(APIView):
    required_permission = P.CREATE_ACTIVITY

    @extend_schema(request=shapes.TaskResultInputSerializer, responses=SUBMIT_RESPONSES, tags=["results"],
                   summary="Post a task result from the back office (closes the task per SPEC 4.2)")
    def post(self, request):
        return _submit(request)


class IntegrationTaskResultSubmitView(IntegrationView):
    required_permission = P.SUBMIT_ACTIVITY_RESULT

    @extend_schema(request=shapes.TaskResultInputSerializer, responses=SUBMIT_RESPONSES, tags=["integration"],
                   summary="Post a task result (API key only; a bearer token gets 401)")
    def post(self, request):
        return _submit(request)


class TaskResultListView(generics.ListAPIView):
    required_permission = P.VIEW_ACTIVITIES
    serializer_class = TaskResultSerializer
    queryset = TaskResult.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self):
        filters = shapes.TaskResultListFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.task_result_list(tenant=self.request.tenant, filters=filters.validated_data)

    @extend_schema(tags=["results"], parameters=[shapes.TaskResultListFilterSerializer],
                   summary="Task results of the tenant, newest first (filters; paginated)")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ActivityResultsView(APIView):
    required_permission = P.VIEW_ACTIVITIES

    @extend_schema(responses={200: TaskResultSerializer(many=True)}, tags=["results"], parameters=[ACTIVITY_ID],
                   summary="The activity's task results, oldest first")
    def get(self, request, activity_id):
        activity = selectors.activity_find(tenant=request.tenant, activity_id=activity_id)
        return Response(TaskResultSerializer(selectors.activity_results(activity=activity), many=True).data)


# --- delivery receipts (SPEC 6.2) -------------------------------------------------------------------------------

RECEIPT_RESPONSES = {
    201: OpenApiResponse(DeliveryReceiptSerializer, description="Stored (and applied to its activity)."),
    200: OpenApiResponse(DeliveryReceiptSerializer, description="The same receipt (activity, status, occurred_at) "
                                                                "was already stored: nothing changed."),
    400: OpenApiResponse(ErrorSerializer, description="Bad body; a TASK activity (see task results, 6.1)."),
    404: OpenApiResponse(ErrorSerializer, description="No activity of this tenant has this id or provider id."),
    409: OpenApiResponse(ErrorSerializer, description="errorCode ACTIVITY_NOT_DISPATCHED (READY or UNRESOLVED: "
                                                      "nothing stored, resend later)."),
}


def submit_receipt(*, tenant, actor, body) -> Response:
    """Validate one receipt body, apply it, render it: the API-key route and the signed callback share this."""
    data = shapes.DeliveryReceiptInputSerializer(data=body)
    data.is_valid(raise_exception=True)
    outcome = services.delivery_receipt_submit(tenant=tenant, actor=actor, data=data.validated_data)
    return Response(DeliveryReceiptSerializer(outcome.receipt).data,
                    status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK)


class IntegrationDeliveryReceiptView(IntegrationView):
    required_permission = P.SUBMIT_ACTIVITY_RESULT

    @extend_schema(request=shapes.DeliveryReceiptInputSerializer, responses=RECEIPT_RESPONSES, tags=["integration"],
                   summary="Post a delivery receipt for a MESSAGE (API key only; closes it per SPEC 4.2)")
    def post(self, request):
        return submit_receipt(tenant=request.tenant, actor=actor_of(request), body=request.data)


class IntegrationDeliveryReceiptBatchView(IntegrationView):
    required_permission = P.SUBMIT_ACTIVITY_RESULT

    @extend_schema(request=shapes.DeliveryReceiptBatchSerializer,
                   responses={200: shapes.DeliveryReceiptBatchResponseSerializer,
                              400: OpenApiResponse(ErrorSerializer, description="items missing, empty or too many")},
                   tags=["integration"],
                   summary=f"Post up to {MAX_BATCH_RECEIPTS} delivery receipts; each succeeds or fails on its own")
    def post(self, request):
        refuse_unknown_keys(request.data, {"items"})
        items = request.data.get("items") if isinstance(request.data, dict) else None
        if not isinstance(items, list) or not items:
            raise errors.ValidationFailed.of({"items": ["A non-empty list of receipts is required."]})
        if len(items) > MAX_BATCH_RECEIPTS:
            raise errors.ValidationFailed.of({"items": [f"At most {MAX_BATCH_RECEIPTS} items."]})
        bodies, failed = [], {}
        # One serializer checks every item: building its fields once, not once per item, is most of the cost.
        shape = shapes.DeliveryReceiptInputSerializer()
        for index, item in enumerate(items):
            try:
                bodies.append(shape.run_validation(item))
            except ValidationError as exc:
                failed[index] = errors.ValidationFailed.of(flatten_details(exc.detail))
                bodies.append(None)
        outcomes = services.delivery_receipts_submit(tenant=request.tenant, actor=actor_of(request), items=bodies,
                                                     failed=failed)
        results = []
        for outcome in outcomes:
            result = {"index": outcome.index, "status": outcome.status}
            if outcome.receipt is not None:
                result["receipt_id"] = outcome.receipt.pk
            if outcome.error is not None:
                result["error"] = error_body(outcome.error.status_code, outcome.error.message, outcome.error.details,
                                             **outcome.error.extra)
            results.append(result)
        return Response({
            "results": results,
            "created": sum(1 for o in outcomes if o.status == status.HTTP_201_CREATED),
            "replayed": sum(1 for o in outcomes if o.status == status.HTTP_200_OK),
            "failed": sum(1 for o in outcomes if o.status >= 400),
        })


class ActivityDeliveryReceiptsView(APIView):
    required_permission = P.VIEW_ACTIVITIES

    @extend_schema(responses={200: DeliveryReceiptSerializer(many=True)}, tags=["results"], parameters=[ACTIVITY_ID],
                   summary="The activity's delivery receipts, oldest first")
    def get(self, request, activity_id):
        activity = selectors.activity_find(tenant=request.tenant, activity_id=activity_id)
        receipts = selectors.activity_delivery_receipts(activity=activity)
        return Response(DeliveryReceiptSerializer(receipts, many=True).data)


# --- task result types ------------------------------------------------------------------------------------------


class TaskResultTypeListView(APIView):
    required_permissions = {"GET": P.VIEW_ACTIVITIES, "POST": P.MANAGE_ACTIVITY_CONFIG}

    @extend_schema(responses={200: shapes.TaskResultTypeSerializer(many=True)}, tags=["activity-config"],
                   parameters=[shapes.TaskResultTypeFilterSerializer], summary="The tenant's task result types")
    def get(self, request):
        filters = shapes.TaskResultTypeFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        result_types = selectors.task_result_type_list(tenant=request.tenant, **filters.validated_data)
        return Response(shapes.TaskResultTypeSerializer(result_types, many=True).data)

    @extend_schema(request=shapes.TaskResultTypeCreateSerializer,
                   responses={201: shapes.TaskResultTypeSerializer,
                              409: OpenApiResponse(ErrorSerializer, description="Code already used")},
                   tags=["activity-config"], summary="Add a task result type")
    def post(self, request):
        data = shapes.TaskResultTypeCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result_type = services.task_result_type_create(tenant=request.tenant, data=data.validated_data)
        return Response(shapes.TaskResultTypeSerializer(result_type).data, status=status.HTTP_201_CREATED)


class TaskResultTypeDetailView(APIView):
    required_permission = P.MANAGE_ACTIVITY_CONFIG

    @extend_schema(request=shapes.TaskResultTypeUpdateSerializer, responses={200: shapes.TaskResultTypeSerializer},
                   tags=["activity-config"], parameters=[RESULT_TYPE_ID],
                   summary="Change a task result type (label, rules, active; not the code)")
    def patch(self, request, result_type_id):
        result_type = selectors.task_result_type_get(tenant=request.tenant, result_type_id=result_type_id)
        data = shapes.TaskResultTypeUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result_type = services.task_result_type_update(result_type=result_type, data=data.validated_data)
        return Response(shapes.TaskResultTypeSerializer(result_type).data)


class IntegrationTaskResultTypeConfigView(IntegrationView):
    required_permission = P.VIEW_ACTIVITIES

    @extend_schema(responses={200: shapes.TaskResultTypeConfigSerializer(many=True)}, tags=["integration"],
                   summary="The active task result types, for providers (API key only)")
    def get(self, request):
        result_types = selectors.task_result_type_list(tenant=request.tenant, active_only=True)
        return Response(shapes.TaskResultTypeConfigSerializer(result_types, many=True).data)


# --- the integration task list ----------------------------------------------------------------------------------


class IntegrationTaskListView(ApiKeyOnly, generics.ListAPIView):
    required_permission = P.VIEW_ACTIVITIES
    serializer_class = shapes.IntegrationTaskSerializer
    pagination_class = SmallPageNumberPagination
    queryset = Activity.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self):
        filters = shapes.IntegrationTaskFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.integration_task_list(tenant=self.request.tenant, filters=filters.validated_data)

    @extend_schema(tags=["integration"], parameters=[shapes.IntegrationTaskFilterSerializer],
                   summary="TASK activities for integrators (API key only; 20 per page by default)")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
