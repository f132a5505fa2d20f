"""Activities API (SPEC 4.3, 4.4, 4.5). Thin views: validate, call one service or selector, render."""
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from activities import selectors, services
from activities.api import serializers as s
from activities.models import Activity
from activities.services.creation import MAX_BULK_ITEMS
from reten import errors
from reten.api.exceptions import error_body, flatten_details
from reten.api.schema import ErrorSerializer
from reten.api.serializers import known_fields, refuse_unknown_keys
from tenants.api.tenancy import actor_of
from tenants.roles import P

REPLAY_HEADER = "Idempotent-Replayed"
ACTIVITY_ID = OpenApiParameter("activity_id", str, OpenApiParameter.PATH, description="Activity UUID")


def _detail(activity, *, status_code=status.HTTP_200_OK, headers=None):
    return Response(s.ActivityDetailSerializer(activity).data, status=status_code, headers=headers)


def _created_response(request, created):
    if created.replayed:
        activity = selectors.activity_get(tenant=request.tenant, activity_id=created.activity.pk)
        return _detail(activity, headers={REPLAY_HEADER: "true"})
    return _detail(created.activity, status_code=status.HTTP_201_CREATED)


CREATE_RESPONSES = {
    201: s.ActivityDetailSerializer,
    200: OpenApiResponse(s.ActivityDetailSerializer,
                         description="Replay: same key and body as an earlier call (header Idempotent-Replayed: "
                                     "true); nothing new is stored."),
    409: OpenApiResponse(ErrorSerializer, description="Key already used with a different body; the body carries "
                                                      "existingActivityId."),
}


class ActivityListCreateView(generics.ListAPIView):
    required_permissions = {"GET": P.VIEW_ACTIVITIES, "POST": P.CREATE_ACTIVITY}
    serializer_class = s.ActivityListItemSerializer
    queryset = Activity.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self):
        filters = s.ActivityListFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        self.filters = filters.validated_data
        return selectors.activity_list(tenant=self.request.tenant, filters=self.filters)

    def list_total(self):
        """meta.total without a COUNT(*) when it is kept (read by reten.api.pagination)."""
        return selectors.activity_list_total(tenant=self.request.tenant, filters=self.filters)

    @extend_schema(tags=["activities"], parameters=[s.ActivityListFilterSerializer],
                   summary="List activities (filters, search, ordering; paginated)")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.ActivityCreateSerializer, responses=CREATE_RESPONSES, tags=["activities"],
                   summary="Create a MESSAGE or TASK activity (idempotent on idempotency_key)")
    def post(self, request):
        data = s.ActivityCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = services.activity_create(tenant=request.tenant, actor=actor_of(request), data=data.validated_data)
        return _created_response(request, created)


class ActivityTaskCreateView(APIView):
    required_permission = P.CREATE_ACTIVITY

    @extend_schema(request=s.TaskCreateSerializer, responses=CREATE_RESPONSES, tags=["activities"],
                   summary="Create a TASK activity (type implied)")
    def post(self, request):
        data = s.TaskCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = services.activity_create(tenant=request.tenant, actor=actor_of(request), data=data.validated_data)
        return _created_response(request, created)


def _shape_error(exc):
    details = flatten_details(exc.detail)
    return errors.ValidationFailed.of(details)


BULK_BODY_FIELDS = frozenset(known_fields(s.BulkCreateSerializer()))


class ActivityBulkCreateView(APIView):
    required_permission = P.CREATE_ACTIVITY

    @extend_schema(request=s.BulkCreateSerializer, responses={200: s.BulkResponseSerializer}, tags=["activities"],
                   summary=f"Create up to {MAX_BULK_ITEMS} activities; each item succeeds or fails on its own")
    def post(self, request):
        refuse_unknown_keys(request.data, BULK_BODY_FIELDS)  # an item's unknown fields are its own failure
        items = request.data.get("items") if isinstance(request.data, dict) else None
        if not isinstance(items, list) or not items:
            raise errors.ValidationFailed("items must be a non-empty list",
                                          details={"items": ["A non-empty list of create bodies is required."]})
        if len(items) > MAX_BULK_ITEMS:
            raise errors.ValidationFailed(f"At most {MAX_BULK_ITEMS} items per call",
                                          details={"items": [f"At most {MAX_BULK_ITEMS} items."]})
        bodies, failed = [], {}
        # One serializer validates every item, as DRF's many=True does: a serializer deep-copies its declared fields
        # when it is made, and a fresh one per item cost more than validating the item (issue 15).
        validator = s.ActivityCreateSerializer()
        for index, item in enumerate(items):
            try:
                if not isinstance(item, dict):  # refused as a serializer refuses a missing body ("No data provided")
                    s.ActivityCreateSerializer(data=None).is_valid(raise_exception=True)
                bodies.append(validator.run_validation(item))
            except ValidationError as exc:
                failed[index] = _shape_error(exc)
                bodies.append(None)
        outcomes = services.activity_bulk_create(tenant=request.tenant, actor=actor_of(request), items=bodies,
                                                 failed=failed)
        results = []
        for outcome in outcomes:
            result = {"index": outcome.index, "status": outcome.status}
            if outcome.activity_id is not None:
                result["activity_id"] = outcome.activity_id
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


class ActivityDetailView(APIView):
    required_permission = P.VIEW_ACTIVITIES

    @extend_schema(responses={200: s.ActivityDetailSerializer}, tags=["activities"], parameters=[ACTIVITY_ID],
                   summary="One activity with its assignment, task details, target users and attributes")
    def get(self, request, activity_id):
        return _detail(selectors.activity_get(tenant=request.tenant, activity_id=activity_id))


class ActivityCancelView(APIView):
    required_permission = P.CANCEL_ACTIVITY

    @extend_schema(request=s.CancelSerializer, responses={200: s.ActivityDetailSerializer}, tags=["activities"],
                   parameters=[ACTIVITY_ID], summary="Cancel a READY activity (else 400, nothing changes)")
    def patch(self, request, activity_id):
        activity = selectors.activity_find(tenant=request.tenant, activity_id=activity_id)
        data = s.CancelSerializer(data=request.data or {})
        data.is_valid(raise_exception=True)
        services.activity_cancel(activity=activity, actor=actor_of(request),
                                 reason=data.validated_data.get("reason", ""))
        return _detail(selectors.activity_get(tenant=request.tenant, activity_id=activity_id))


class ActivityRetryResolutionView(APIView):
    required_permission = P.CREATE_ACTIVITY

    @extend_schema(request=s.RetryResolutionSerializer,
                   responses={200: s.ActivityDetailSerializer,
                              400: OpenApiResponse(ErrorSerializer, description="Not UNRESOLVED, or a supplied key "
                                                   "the activity does not carry (attributes.N.key)")},
                   tags=["activities"], parameters=[ACTIVITY_ID],
                   summary="Resolve an UNRESOLVED activity again, optionally with caller values: READY if "
                           "everything resolves, else it stays")
    def patch(self, request, activity_id):
        activity = selectors.activity_find(tenant=request.tenant, activity_id=activity_id)
        data = s.RetryResolutionSerializer(data=request.data or {})
        data.is_valid(raise_exception=True)
        services.activity_retry_resolution(activity=activity, actor=actor_of(request),
                                           attributes=data.validated_data.get("attributes"))
        return _detail(selectors.activity_get(tenant=request.tenant, activity_id=activity_id))


class ActivityForceRetryDispatchView(APIView):
    required_permission = P.DISPATCH_ACTIVITY

    @extend_schema(request=s.ForceRetrySerializer,
                   responses={200: s.ActivityDetailSerializer,
                              400: OpenApiResponse(ErrorSerializer, description="Not FAILED, or FAILED because a "
                                                   "result, receipt or override said so")},
                   tags=["activities"], parameters=[ACTIVITY_ID],
                   summary="Give a FAILED dispatch another round: READY, attempts 0, event FORCE_RETRY")
    def patch(self, request, activity_id):
        activity = selectors.activity_find(tenant=request.tenant, activity_id=activity_id)
        data = s.ForceRetrySerializer(data=request.data or {})
        data.is_valid(raise_exception=True)
        services.activity_force_retry_dispatch(activity=activity, actor=actor_of(request),
                                               reason=data.validated_data.get("reason", ""))
        return _detail(selectors.activity_get(tenant=request.tenant, activity_id=activity_id))


class ActivityBulkOperationView(APIView):
    """POST a selection (ids or filter) to the bulk service: set-based chunks or one by one (SPEC 11.4)."""

    operation = None

    def post(self, request):
        data = s.BulkSelectionSerializer(data=request.data if isinstance(request.data, dict) else None)
        data.is_valid(raise_exception=True)
        selection = data.validated_data
        result = services.activity_bulk_operate(
            tenant=request.tenant, actor=actor_of(request), operation=self.operation, ids=selection.get("ids"),
            filters=selection.get("filter"), reason=selection.get("reason", ""), dry_run=selection["dry_run"])
        return Response(result.as_dict())


BULK_RESPONSES = {200: s.BulkOperationResponseSerializer,
                  400: OpenApiResponse(ErrorSerializer, description="Bad selection, or more than 10,000 matched")}


class ActivityBulkCancelView(ActivityBulkOperationView):
    required_permission = P.CANCEL_ACTIVITY
    operation = "cancel"

    @extend_schema(request=s.BulkSelectionSerializer, responses=BULK_RESPONSES, tags=["activities"],
                   summary="Cancel the READY activities among ids or a filter")
    def post(self, request):
        return super().post(request)


class ActivityBulkRetryResolutionView(ActivityBulkOperationView):
    required_permission = P.CREATE_ACTIVITY
    operation = "retry_resolution"

    @extend_schema(request=s.BulkSelectionSerializer, responses=BULK_RESPONSES, tags=["activities"],
                   summary="Retry resolution of the UNRESOLVED activities among ids or a filter")
    def post(self, request):
        return super().post(request)


class ActivityBulkForceRetryDispatchView(ActivityBulkOperationView):
    required_permission = P.DISPATCH_ACTIVITY
    operation = "force_retry_dispatch"

    @extend_schema(request=s.BulkSelectionSerializer, responses=BULK_RESPONSES, tags=["activities"],
                   summary="Force a dispatch retry of the dispatch-FAILED activities among ids or a filter")
    def post(self, request):
        return super().post(request)


class ActivityTargetUsersView(APIView):
    required_permission = P.VIEW_ACTIVITIES

    @extend_schema(responses={200: s.TargetUserSerializer(many=True)}, tags=["activities"], parameters=[ACTIVITY_ID],
                   summary="The activity's target users")
    def get(self, request, activity_id):
        activity = selectors.activity_find(tenant=request.tenant, activity_id=activity_id)
        return Response(s.TargetUserSerializer(selectors.activity_target_users(activity=activity), many=True).data)


class TargetUserResolveView(APIView):
    required_permission = P.CREATE_ACTIVITY

    @extend_schema(request=s.TargetUserResolveSerializer, responses={200: s.TargetUserSerializer},
                   tags=["activities"],
                   parameters=[ACTIVITY_ID, OpenApiParameter("target_user_id", str, OpenApiParameter.PATH)],
                   summary="Assign a commerce user by hand (LOCKED, MANUAL_ASSIGNMENT)")
    def patch(self, request, activity_id, target_user_id):
        activity = selectors.activity_find(tenant=request.tenant, activity_id=activity_id)
        data = s.TargetUserResolveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.target_user_resolve(activity=activity, target_user_id=target_user_id, actor=actor_of(request),
                                     commerce_user_id=data.validated_data["commerce_user_id"])
        target = next(t for t in selectors.activity_target_users(activity=activity) if t.pk == target_user_id)
        return Response(s.TargetUserSerializer(target).data)


class ActivityAttributesView(APIView):
    required_permission = P.VIEW_ACTIVITIES

    @extend_schema(responses={200: s.ActivityAttributeSerializer(many=True)}, tags=["activities"],
                   parameters=[ACTIVITY_ID], summary="The activity's attributes and how each was resolved")
    def get(self, request, activity_id):
        activity = selectors.activity_find(tenant=request.tenant, activity_id=activity_id)
        return Response(s.ActivityAttributeSerializer(selectors.activity_attributes(activity=activity),
                                                      many=True).data)


class AttributeResolveView(APIView):
    required_permission = P.CREATE_ACTIVITY

    @extend_schema(request=s.AttributeResolveSerializer,
                   responses={200: s.ActivityAttributeSerializer,
                              400: OpenApiResponse(ErrorSerializer, description="No value, an attribute that is "
                                                   "not PENDING or FAILED, or an activity not READY/UNRESOLVED"),
                              404: OpenApiResponse(ErrorSerializer, description="Unknown activity or attribute")},
                   tags=["activities"],
                   parameters=[ACTIVITY_ID, OpenApiParameter("attribute_id", str, OpenApiParameter.PATH)],
                   summary="Set an attribute's value by hand (RESOLVED, MANUAL); READY again if nothing else "
                           "blocks")
    def patch(self, request, activity_id, attribute_id):
        activity = selectors.activity_find(tenant=request.tenant, activity_id=activity_id)
        data = s.AttributeResolveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        attribute = services.attribute_resolve(activity=activity, attribute_id=attribute_id,
                                               value=data.validated_data["value"], actor=actor_of(request))
        return Response(s.ActivityAttributeSerializer(attribute).data)


class ActivityStatusEventsView(APIView):
    required_permission = P.VIEW_ACTIVITIES

    @extend_schema(responses={200: s.StatusEventSerializer(many=True)}, tags=["activities"],
                   parameters=[ACTIVITY_ID], summary="The status-event trail, oldest first")
    def get(self, request, activity_id):
        activity = selectors.activity_find(tenant=request.tenant, activity_id=activity_id)
        return Response(s.StatusEventSerializer(selectors.activity_status_events(activity=activity),
                                                many=True).data)


# --- configuration --------------------------------------------------------------------------------------------


class TargetResolutionConfigListView(APIView):
    required_permissions = {"GET": P.VIEW_ACTIVITIES, "POST": P.MANAGE_ACTIVITY_CONFIG}

    @extend_schema(responses={200: s.TargetResolutionConfigSerializer(many=True)}, tags=["activity-config"],
                   summary="The tenant's target-resolution configs (active first, by priority)")
    def get(self, request):
        configs = selectors.target_resolution_config_list(tenant=request.tenant)
        return Response(s.TargetResolutionConfigSerializer(configs, many=True).data)

    @extend_schema(request=s.TargetResolutionConfigWriteSerializer,
                   responses={201: s.TargetResolutionConfigSerializer,
                              409: OpenApiResponse(ErrorSerializer, description="Priority taken by an active config")},
                   tags=["activity-config"], summary="Add a target-resolution config")
    def post(self, request):
        data = s.TargetResolutionConfigWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        config = services.target_resolution_config_create(tenant=request.tenant, data=data.validated_data)
        return Response(s.TargetResolutionConfigSerializer(config).data, status=status.HTTP_201_CREATED)


class TargetResolutionConfigDetailView(APIView):
    required_permissions = {"GET": P.VIEW_ACTIVITIES, "PATCH": P.MANAGE_ACTIVITY_CONFIG,
                            "DELETE": P.MANAGE_ACTIVITY_CONFIG}

    @extend_schema(responses={200: s.TargetResolutionConfigSerializer}, tags=["activity-config"],
                   summary="One target-resolution config")
    def get(self, request, config_id):
        config = selectors.target_resolution_config_get(tenant=request.tenant, config_id=config_id)
        return Response(s.TargetResolutionConfigSerializer(config).data)

    @extend_schema(request=s.TargetResolutionConfigWriteSerializer,
                   responses={200: s.TargetResolutionConfigSerializer,
                              409: OpenApiResponse(ErrorSerializer, description="Priority taken by an active config")},
                   tags=["activity-config"], summary="Change a target-resolution config")
    def patch(self, request, config_id):
        config = selectors.target_resolution_config_get(tenant=request.tenant, config_id=config_id)
        data = s.TargetResolutionConfigWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        config = services.target_resolution_config_update(config=config, data=data.validated_data)
        return Response(s.TargetResolutionConfigSerializer(config).data)

    @extend_schema(request=None, responses={204: None}, tags=["activity-config"],
                   summary="Delete a target-resolution config (target users keep their criteria)")
    def delete(self, request, config_id):
        config = selectors.target_resolution_config_get(tenant=request.tenant, config_id=config_id)
        services.target_resolution_config_delete(config=config)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AttributeKeyListView(APIView):
    required_permission = P.VIEW_ACTIVITIES

    @extend_schema(responses={200: s.AttributeKeySerializer(many=True)}, tags=["activity-config"],
                   summary="The global attribute-key catalogue")
    def get(self, request):
        return Response(s.AttributeKeySerializer(selectors.attribute_key_list(), many=True).data)


class AttributePolicyListView(APIView):
    required_permissions = {"GET": P.VIEW_ACTIVITIES, "POST": P.MANAGE_ACTIVITY_CONFIG}

    @extend_schema(responses={200: s.AttributePolicySerializer(many=True)}, tags=["activity-config"],
                   summary="The tenant's attribute policies")
    def get(self, request):
        policies = selectors.attribute_policy_list(tenant=request.tenant)
        return Response(s.AttributePolicySerializer(policies, many=True).data)

    @extend_schema(request=s.AttributePolicyUpsertSerializer,
                   responses={201: s.AttributePolicySerializer, 200: s.AttributePolicySerializer},
                   tags=["activity-config"], summary="Create (201) or replace (200) the policy of one key")
    def post(self, request):
        data = s.AttributePolicyUpsertSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        policy, created = services.attribute_policy_upsert(tenant=request.tenant, **data.validated_data)
        return Response(s.AttributePolicySerializer(policy).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class UserRetentionStatusListView(APIView):
    required_permissions = {"GET": P.VIEW_ACTIVITIES, "POST": P.MANAGE_ACTIVITY_CONFIG}

    @extend_schema(responses={200: s.UserRetentionStatusSerializer(many=True)}, tags=["activity-config"],
                   parameters=[s.UserRetentionStatusFilterSerializer],
                   summary="The tenant's user retention statuses")
    def get(self, request):
        filters = s.UserRetentionStatusFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        statuses = selectors.user_retention_status_list(tenant=request.tenant, **filters.validated_data)
        return Response(s.UserRetentionStatusSerializer(statuses, many=True).data)

    @extend_schema(request=s.UserRetentionStatusCreateSerializer,
                   responses={201: s.UserRetentionStatusSerializer,
                              409: OpenApiResponse(ErrorSerializer, description="Code already used")},
                   tags=["activity-config"], summary="Add a user retention status")
    def post(self, request):
        data = s.UserRetentionStatusCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = services.user_retention_status_create(tenant=request.tenant, **data.validated_data)
        return Response(s.UserRetentionStatusSerializer(created).data, status=status.HTTP_201_CREATED)
