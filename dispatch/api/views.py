from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from activities.models import Channel
from dispatch import selectors, services
from dispatch.api import serializers as s
from dispatch.services.outbound import dispatch_now_in_request, outbound_request
from reten import errors
from reten.api.schema import ErrorSerializer
from tenants.api.tenancy import actor_of, request_api_key
from tenants.roles import P

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
                   responses={201: s.DispatchConfigSerializer, 409: ErrorSerializer},
                   tags=["dispatch-configs"], summary="Create the tenant's config for a channel (one active each)")
    def post(self, request):
        data = s.DispatchConfigCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        config = services.dispatch_config_create(tenant=request.tenant, **data.validated_data)
        return Response(s.DispatchConfigSerializer(config).data, status=status.HTTP_201_CREATED)


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


class ActivityTaskDispatchView(APIView):
    required_permission = P.DISPATCH_ACTIVITY

    @extend_schema(request=None, responses={204: None, 409: ErrorSerializer, 429: ErrorSerializer,
                                            502: ErrorSerializer}, tags=["activities"],
                   summary="Dispatch one READY TASK now, synchronously (a provider failure counts as an attempt)")
    def post(self, request, activity_id):
        activity = selectors.activity_get(tenant=request.tenant, activity_id=activity_id)
        dispatch_now_in_request(activity=activity, actor=actor_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
