from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from dispatch.services.outbound import outbound_request
from reten.api.schema import ErrorSerializer
from tenants.roles import P
from webhooks import selectors
from webhooks.api import serializers
from webhooks.models import WebhookDelivery
from webhooks.services import endpoints as services

TAGS = ["webhooks"]


def _with_secret(created):
    body = dict(serializers.WebhookEndpointSerializer(created.endpoint).data)
    body["secret"] = created.secret
    return body


class WebhookEndpointsView(APIView):
    required_permission = P.MANAGE_ACTIVITY_CONFIG

    @extend_schema(responses={200: serializers.WebhookEndpointSerializer(many=True)}, tags=TAGS,
                   summary="This tenant's webhook endpoints (plain array; secrets never included)")
    def get(self, request):
        return Response(serializers.WebhookEndpointSerializer(selectors.endpoint_list(tenant=request.tenant),
                                                              many=True).data)

    @extend_schema(request=serializers.WebhookEndpointCreateSerializer,
                   responses={201: serializers.WebhookEndpointWithSecretSerializer}, tags=TAGS,
                   summary="Register an endpoint; the response carries its signing secret, shown this once")
    def post(self, request):
        data = serializers.WebhookEndpointCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = services.endpoint_create(tenant=request.tenant, **data.validated_data)
        return Response(_with_secret(created), status=status.HTTP_201_CREATED)


class WebhookEndpointDetailView(APIView):
    required_permission = P.MANAGE_ACTIVITY_CONFIG

    @extend_schema(responses={200: serializers.WebhookEndpointSerializer}, tags=TAGS, summary="One endpoint")
    def get(self, request, endpoint_id):
        endpoint = selectors.endpoint_get(tenant=request.tenant, endpoint_id=endpoint_id)
        return Response(serializers.WebhookEndpointSerializer(endpoint).data)

    @extend_schema(request=serializers.WebhookEndpointUpdateSerializer,
                   responses={200: serializers.WebhookEndpointSerializer}, tags=TAGS,
                   summary="Change url, description, eventTypes or isActive (true re-enables a disabled endpoint)")
    def patch(self, request, endpoint_id):
        endpoint = selectors.endpoint_get(tenant=request.tenant, endpoint_id=endpoint_id)
        data = serializers.WebhookEndpointUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.endpoint_update(endpoint=endpoint, data=data.validated_data)
        return Response(serializers.WebhookEndpointSerializer(endpoint).data)

    @extend_schema(request=None, responses={204: None}, tags=TAGS,
                   summary="Delete the endpoint and its deliveries")
    def delete(self, request, endpoint_id):
        endpoint = selectors.endpoint_get(tenant=request.tenant, endpoint_id=endpoint_id)
        services.endpoint_delete(endpoint=endpoint)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookEndpointRotateSecretView(APIView):
    required_permission = P.MANAGE_ACTIVITY_CONFIG

    @extend_schema(request=None, responses={200: serializers.WebhookEndpointWithSecretSerializer}, tags=TAGS,
                   summary="Replace the signing secret; the new one is in the response, shown this once")
    def post(self, request, endpoint_id):
        endpoint = selectors.endpoint_get(tenant=request.tenant, endpoint_id=endpoint_id)
        return Response(_with_secret(services.endpoint_rotate_secret(endpoint=endpoint)))


class WebhookEndpointTestView(APIView):
    required_permission = P.MANAGE_ACTIVITY_CONFIG

    @extend_schema(request=None, responses={200: serializers.WebhookTestSerializer, 429: ErrorSerializer}, tags=TAGS,
                   summary="Send a signed webhook.test event now (short timeout; 429 when the tenant already has "
                           "OUTBOUND_REQUESTS_PER_TENANT calls in flight)")
    def post(self, request, endpoint_id):
        endpoint = selectors.endpoint_get(tenant=request.tenant, endpoint_id=endpoint_id)
        with outbound_request(tenant_id=request.tenant.id):
            report = services.endpoint_test(endpoint=endpoint, timeout=min(settings.WEBHOOK_HTTP_TIMEOUT,
                                                                           settings.OUTBOUND_REQUEST_TIMEOUT_SECONDS))
        body = {"ok": report.ok, "latency_ms": report.latency_ms}
        if report.status_code is not None:
            body["status_code"] = report.status_code
        if report.error:
            body["error"] = report.error
        return Response(body)


class WebhookEndpointDeliveriesView(generics.ListAPIView):
    required_permission = P.MANAGE_ACTIVITY_CONFIG
    serializer_class = serializers.WebhookDeliverySerializer
    queryset = WebhookDelivery.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self):
        endpoint = selectors.endpoint_get(tenant=self.request.tenant, endpoint_id=self.kwargs["endpoint_id"])
        filters = serializers.WebhookDeliveryFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.delivery_list(endpoint=endpoint, **filters.validated_data)

    @extend_schema(parameters=[serializers.WebhookDeliveryFilterSerializer], tags=TAGS,
                   summary="The endpoint's deliveries, newest first (paginated; filters status, event_type)")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class WebhookDeliveryRetryView(APIView):
    required_permission = P.MANAGE_ACTIVITY_CONFIG

    @extend_schema(request=None, responses={200: serializers.WebhookDeliverySerializer, 409: ErrorSerializer},
                   tags=TAGS, summary="Send a failed delivery again now, with the same webhook-id")
    def post(self, request, delivery_id):
        delivery = selectors.delivery_get(tenant=request.tenant, delivery_id=delivery_id)
        return Response(serializers.WebhookDeliverySerializer(services.delivery_retry(delivery=delivery)).data)
