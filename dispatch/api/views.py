import logging

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from standardwebhooks import Webhook

from activities.api.result_serializers import DeliveryReceiptInputSerializer
from activities.api.result_views import RECEIPT_RESPONSES, submit_receipt
from activities.models import Channel
from dispatch import crypto, selectors, services
from dispatch.api import serializers as s
from dispatch.models import DispatchConfig
from dispatch.services.outbound import dispatch_now_in_request, outbound_request
from reten import errors
from reten.api.schema import ErrorSerializer
from tenants.actors import SYSTEM
from tenants.api.tenancy import actor_of, request_api_key
from tenants.roles import P

logger = logging.getLogger("reten.dispatch")

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class PlatformProviderView(APIView):
    """Providers are global: anyone who may view activities reads them; only a super admin changes them."""

    tenant_scoped = False
    required_permissions = {"GET": P.VIEW_ACTIVITIES, "POST": P.MANAGE_ACTIVITY_CONFIG,
                            "PATCH": P.MANAGE_ACTIVITY_CONFIG, "DELETE": P.MANAGE_ACTIVITY_CONFIG}

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method in WRITE_METHODS and (request_api_key(request) is not None
                                                or not request.user.is_superuser):
            raise errors.PermissionDenied(
                "Only a super admin may change dispatch providers: every tenant uses them"
            )


def _provider_body(provider):
    return s.ProviderSerializer(provider).data


class DispatchProvidersView(PlatformProviderView):
    @extend_schema(responses={200: s.ProviderSerializer(many=True)}, tags=["dispatch-providers"],
                   summary="Every provider with its channel definitions (plain array)")
    def get(self, request):
        return Response(s.ProviderSerializer(selectors.provider_list(), many=True).data)

    @extend_schema(request=s.ProviderCreateSerializer, responses={201: s.ProviderSerializer, 409: ErrorSerializer},
                   tags=["dispatch-providers"], summary="Create a provider (super admin)")
    def post(self, request):
        data = s.ProviderCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        provider = services.provider_create(**data.validated_data)
        return Response(_provider_body(selectors.provider_get(provider_id=provider.id)),
                        status=status.HTTP_201_CREATED)


class DispatchProviderDetailView(PlatformProviderView):
    @extend_schema(summary="Get a provider",
                   responses={200: s.ProviderSerializer}, tags=["dispatch-providers"])
    def get(self, request, provider_id):
        return Response(_provider_body(selectors.provider_get(provider_id=provider_id)))

    @extend_schema(request=s.ProviderUpdateSerializer, responses={200: s.ProviderSerializer},
                   tags=["dispatch-providers"], summary="Rename, change protocol or (de)activate (super admin)")
    def patch(self, request, provider_id):
        provider = selectors.provider_get(provider_id=provider_id)
        data = s.ProviderUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.provider_update(provider=provider, data=data.validated_data)
        return Response(_provider_body(selectors.provider_get(provider_id=provider_id)))


class ChannelDefinitionsView(PlatformProviderView):
    @extend_schema(responses={200: s.ChannelDefinitionSerializer(many=True)}, tags=["dispatch-providers"],
                   summary="A provider's channel definitions (plain array)")
    def get(self, request, provider_id):
        provider = selectors.provider_get(provider_id=provider_id)
        return Response(s.ChannelDefinitionSerializer(selectors.channel_definition_list(provider=provider),
                                                      many=True).data)

    @extend_schema(request=s.ChannelDefinitionCreateSerializer,
                   responses={201: s.ChannelDefinitionSerializer, 409: ErrorSerializer},
                   tags=["dispatch-providers"], summary="Define a channel for a provider (super admin)")
    def post(self, request, provider_id):
        provider = selectors.provider_get(provider_id=provider_id)
        data = s.ChannelDefinitionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        definition = services.channel_definition_create(provider=provider, **data.validated_data)
        return Response(s.ChannelDefinitionSerializer(definition).data, status=status.HTTP_201_CREATED)


class ChannelDefinitionDetailView(PlatformProviderView):
    @extend_schema(request=s.ChannelDefinitionUpdateSerializer,
                   responses={200: s.ChannelDefinitionSerializer, 409: ErrorSerializer},
                   tags=["dispatch-providers"], summary="Change a channel definition's schemas (super admin)")
    def patch(self, request, provider_id, definition_id):
        provider = selectors.provider_get(provider_id=provider_id)
        definition = selectors.channel_definition_get(provider=provider, definition_id=definition_id)
        data = s.ChannelDefinitionUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        definition = services.channel_definition_update(definition=definition, data=data.validated_data)
        return Response(s.ChannelDefinitionSerializer(definition).data)

    @extend_schema(request=None, responses={204: None, 409: ErrorSerializer}, tags=["dispatch-providers"],
                   summary="Delete a channel definition no active config uses (super admin)")
    def delete(self, request, provider_id, definition_id):
        provider = selectors.provider_get(provider_id=provider_id)
        definition = selectors.channel_definition_get(provider=provider, definition_id=definition_id)
        services.channel_definition_delete(definition=definition)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _bool_param(request, name):
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    lowered = raw.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise errors.ValidationFailed(f"{name} must be true or false", details={name: ["Must be true or false."]})


class DispatchConfigsView(APIView):
    required_permissions = {"GET": P.VIEW_ACTIVITIES, "POST": P.MANAGE_ACTIVITY_CONFIG}

    @extend_schema(
        responses={200: s.DispatchConfigSerializer(many=True)}, tags=["dispatch-configs"],
        summary="This tenant's dispatch configs (plain array; credentials never included)",
        parameters=[OpenApiParameter("channel", str, enum=Channel.values),
                    OpenApiParameter("is_active", bool)],
    )
    def get(self, request):
        channel = request.query_params.get("channel") or None
        if channel and channel not in Channel.values:
            raise errors.ValidationFailed("Unknown channel", details={"channel": [f"Must be one of {Channel.values}."]})
        configs = selectors.dispatch_config_list(tenant=request.tenant, channel=channel,
                                                 is_active=_bool_param(request, "is_active"))
        return Response(s.DispatchConfigSerializer(configs, many=True).data)

    @extend_schema(request=s.DispatchConfigCreateSerializer,
                   responses={201: s.DispatchConfigCreatedSerializer, 409: ErrorSerializer},
                   tags=["dispatch-configs"],
                   summary="Create the tenant's config for a channel (one active each); its callbackSecret is shown "
                           "only in this response")
    def post(self, request):
        data = s.DispatchConfigCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        config = services.dispatch_config_create(tenant=request.tenant, **data.validated_data)
        return Response(s.DispatchConfigCreatedSerializer(config).data, status=status.HTTP_201_CREATED)


class DispatchConfigDetailView(APIView):
    required_permissions = {"GET": P.VIEW_ACTIVITIES, "PATCH": P.MANAGE_ACTIVITY_CONFIG,
                            "DELETE": P.MANAGE_ACTIVITY_CONFIG}

    @extend_schema(summary="Get a dispatch config",
                   responses={200: s.DispatchConfigSerializer}, tags=["dispatch-configs"])
    def get(self, request, config_id):
        config = selectors.dispatch_config_get(tenant=request.tenant, config_id=config_id)
        return Response(s.DispatchConfigSerializer(config).data)

    @extend_schema(request=s.DispatchConfigUpdateSerializer,
                   responses={200: s.DispatchConfigSerializer, 409: ErrorSerializer},
                   tags=["dispatch-configs"], summary="Change base URL, settings, credentials (replaced) or isActive")
    def patch(self, request, config_id):
        config = selectors.dispatch_config_get(tenant=request.tenant, config_id=config_id)
        data = s.DispatchConfigUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        config = services.dispatch_config_update(config=config, data=data.validated_data)
        return Response(s.DispatchConfigSerializer(config).data)

    @extend_schema(request=None, responses={204: None}, tags=["dispatch-configs"],
                   summary="Deactivate the config (the row is kept)")
    def delete(self, request, config_id):
        config = selectors.dispatch_config_get(tenant=request.tenant, config_id=config_id)
        services.dispatch_config_deactivate(config=config)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DispatchConfigTestView(APIView):
    required_permission = P.MANAGE_ACTIVITY_CONFIG

    @extend_schema(request=None, responses={200: s.DispatchConfigTestSerializer, 429: ErrorSerializer},
                   tags=["dispatch-configs"],
                   summary="Call the provider's health check with this config (short timeout; 429 when the tenant "
                           "already has OUTBOUND_REQUESTS_PER_TENANT calls in flight)")
    def post(self, request, config_id):
        config = selectors.dispatch_config_get(tenant=request.tenant, config_id=config_id)
        with outbound_request(tenant_id=request.tenant.id):
            report = services.dispatch_config_test(config=config)
        body = {"ok": report.ok, "latency_ms": report.latency_ms}
        if report.status_code is not None:
            body["status_code"] = report.status_code
        if report.error:
            body["error"] = report.error
        if report.error_code:
            body["error_code"] = report.error_code
        return Response(body)


class DispatchConfigRotateCallbackSecretView(APIView):
    required_permission = P.MANAGE_ACTIVITY_CONFIG

    @extend_schema(request=None, responses={200: s.CallbackSecretSerializer}, tags=["dispatch-configs"],
                   summary="Replace the config's callback secret: the new one is shown once, the old one stops now")
    def post(self, request, config_id):
        config = selectors.dispatch_config_get(tenant=request.tenant, config_id=config_id)
        return Response({"callback_secret": services.callback_secret_rotate(config=config)})


BAD_SIGNATURE = "Missing or invalid webhook signature (webhook-id, webhook-timestamp, webhook-signature)"


def _verified_config(request, config_id):
    """The config whose callback secret signed this request, or a 401. An unknown config id gets the same 401 as
    a bad signature, so the route does not tell which config ids exist."""
    config = DispatchConfig.objects.filter(pk=config_id, tenant__is_active=True).select_related("tenant").first()
    secret = ""
    if config is not None:
        try:
            secret = services.callback_secret_of(config)
        except crypto.CredentialsDecryptError:
            logger.error("Dispatch config %s: its callback secret cannot be decrypted", config_id)
    if not secret:
        raise errors.NotAuthenticated(BAD_SIGNATURE)
    headers = {name: request.headers.get(name, "") for name in ("webhook-id", "webhook-timestamp",
                                                                "webhook-signature")}
    try:
        Webhook(secret).verify(request.body, headers, json_parse=False)
    except Exception:  # the library raises several kinds for malformed headers; every one means "not signed"
        raise errors.NotAuthenticated(BAD_SIGNATURE) from None
    return config


class DispatchCallbackView(APIView):
    """Providers that cannot hold an API key post delivery receipts here, signed the Standard Webhooks way with
    the config's callback secret (SPEC 6.2). It acts in the config's tenant, on that tenant's activities only."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(request=DeliveryReceiptInputSerializer,
                   responses={**RECEIPT_RESPONSES,
                              401: OpenApiResponse(ErrorSerializer, description="Unknown config, missing or bad "
                                                   "signature, or a timestamp more than 5 minutes off: nothing "
                                                   "stored.")},
                   tags=["integration"],
                   summary="A provider's signed delivery receipt (Standard Webhooks; no API key)")
    def post(self, request, config_id):
        config = _verified_config(request, config_id)
        return submit_receipt(tenant=config.tenant, actor=SYSTEM, body=request.data)


class ActivityTaskDispatchView(APIView):
    required_permission = P.DISPATCH_ACTIVITY

    @extend_schema(request=None, responses={204: None, 409: ErrorSerializer, 429: ErrorSerializer,
                                            502: ErrorSerializer}, tags=["activities"],
                   summary="Dispatch one READY TASK now, synchronously (a provider failure counts as an attempt)")
    def post(self, request, activity_id):
        activity = selectors.activity_get(tenant=request.tenant, activity_id=activity_id)
        dispatch_now_in_request(activity=activity, actor=actor_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ActivityDispatchAttemptsView(APIView):
    required_permission = P.VIEW_ACTIVITIES

    @extend_schema(responses={200: s.DispatchAttemptSerializer(many=True)}, tags=["activities"],
                   parameters=[OpenApiParameter("activity_id", str, OpenApiParameter.PATH,
                                                description="Activity UUID")],
                   summary="Every provider call made for the activity, oldest first")
    def get(self, request, activity_id):
        activity = selectors.activity_get(tenant=request.tenant, activity_id=activity_id)
        return Response(s.DispatchAttemptSerializer(selectors.dispatch_attempt_list(activity=activity), many=True).data)
