"""Commerce directory endpoints (SPEC section 3). Thin: validate, call one service or selector, render."""
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from commerces import selectors, services
from commerces.api import serializers as s
from commerces.models import Commerce, Operator, Route
from reten.api.schema import ErrorSerializer
from tenants.roles import P


def _valid(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _query_filters(request, serializer_class):
    # A plain dict, so absent booleans stay absent (a QueryDict would read them as false).
    return _valid(serializer_class, request.query_params.dict())


def _commerce_detail(request, commerce_id, status_code=status.HTTP_200_OK):
    commerce = selectors.commerce_detail(tenant=request.tenant, commerce_id=commerce_id)
    return Response(s.CommerceDetailSerializer(commerce).data, status=status_code)


def _commerce_user(commerce, user_id, status_code=status.HTTP_200_OK):
    user = selectors.commerce_user_get(commerce=commerce, user_id=user_id)
    return Response(s.CommerceUserSerializer(user).data, status=status_code)


def _commerce_and_user(request, commerce_id, user_id):
    commerce = selectors.commerce_get(tenant=request.tenant, commerce_id=commerce_id)
    return commerce, selectors.commerce_user_get(commerce=commerce, user_id=user_id)


# --- commerces ------------------------------------------------------------------------------------------------


class CommercesView(generics.ListAPIView):
    required_permission = P.MANAGE_COMMERCES
    serializer_class = s.CommerceSerializer
    queryset = Commerce.objects.none()  # for the schema; requests use the selector

    def get_queryset(self):
        return selectors.commerce_list(tenant=self.request.tenant,
                                       filters=_query_filters(self.request, s.CommerceFiltersSerializer))

    @extend_schema(tags=["commerces"], parameters=[s.CommerceFiltersSerializer],
                   summary="List commerces (ordered by name)")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.CommerceCreateSerializer,
                   responses={201: s.CommerceDetailSerializer, 409: ErrorSerializer},
                   tags=["commerces"], summary="Create a commerce (external_id and tax_id unique per tenant: 409)")
    def post(self, request):
        commerce = services.commerce_create(tenant=request.tenant, data=_valid(s.CommerceCreateSerializer,
                                                                                request.data))
        return _commerce_detail(request, commerce.pk, status.HTTP_201_CREATED)


class CommerceDetailView(APIView):
    required_permission = P.MANAGE_COMMERCES

    @extend_schema(responses={200: s.CommerceDetailSerializer}, tags=["commerces"],
                   summary="A commerce with its addresses and its users (roles, contacts)")
    def get(self, request, commerce_id):
        return _commerce_detail(request, commerce_id)

    @extend_schema(request=s.CommerceUpdateSerializer,
                   responses={200: s.CommerceDetailSerializer, 409: ErrorSerializer},
                   tags=["commerces"], summary="Update a commerce; metadata is merged key by key")
    def patch(self, request, commerce_id):
        data = _valid(s.CommerceUpdateSerializer, request.data)
        commerce = selectors.commerce_get(tenant=request.tenant, commerce_id=commerce_id)
        services.commerce_update(commerce=commerce, data=data)
        return _commerce_detail(request, commerce_id)


class CommerceSyncView(APIView):
    required_permission = P.SYNC_COMMERCES

    @extend_schema(request=s.CommerceSyncSerializer,
                   responses={201: s.SyncResultSerializer, 409: ErrorSerializer}, tags=["commerces"],
                   summary=f"Upsert up to {services.SYNC_MAX_ITEMS} commerces on external_id, all or nothing")
    def post(self, request):
        items = _valid(s.CommerceSyncSerializer, request.data)["items"]
        result = services.commerce_sync(tenant=request.tenant, items=items)
        return Response(s.SyncResultSerializer(result).data, status=status.HTTP_201_CREATED)


# --- commerce users, roles, contacts, addresses -----------------------------------------------------------------


class CommerceUsersView(APIView):
    required_permission = P.MANAGE_COMMERCES

    @extend_schema(request=s.CommerceUserCreateSerializer,
                   responses={201: s.CommerceUserSerializer, 409: ErrorSerializer},
                   tags=["commerces"], summary="Add a person to a commerce, with roles and contacts")
    def post(self, request, commerce_id):
        data = _valid(s.CommerceUserCreateSerializer, request.data)
        commerce = selectors.commerce_get(tenant=request.tenant, commerce_id=commerce_id)
        user = services.commerce_user_create(commerce=commerce, data=data)
        return _commerce_user(commerce, user.pk, status.HTTP_201_CREATED)


class CommerceUserDetailView(APIView):
    required_permission = P.MANAGE_COMMERCES

    @extend_schema(summary="Update a person of a commerce",
                   request=s.CommerceUserUpdateSerializer,
                   responses={200: s.CommerceUserSerializer, 409: ErrorSerializer},
                   tags=["commerces"])
    def patch(self, request, commerce_id, user_id):
        data = _valid(s.CommerceUserUpdateSerializer, request.data)
        commerce, user = _commerce_and_user(request, commerce_id, user_id)
        services.commerce_user_update(commerce_user=user, data=data)
        return _commerce_user(commerce, user_id)


class CommerceUserRolesView(APIView):
    required_permission = P.MANAGE_COMMERCES

    @extend_schema(request=s.RoleAddSerializer, responses={201: s.CommerceUserSerializer}, tags=["commerces"],
                   summary="Give a commerce user a role (a role already held changes nothing)")
    def post(self, request, commerce_id, user_id):
        data = _valid(s.RoleAddSerializer, request.data)
        commerce, user = _commerce_and_user(request, commerce_id, user_id)
        services.commerce_user_role_add(commerce_user=user, role=data["role"])
        return _commerce_user(commerce, user_id, status.HTTP_201_CREATED)


class CommerceUserRoleDetailView(APIView):
    required_permission = P.MANAGE_COMMERCES

    @extend_schema(request=None, responses={204: None}, tags=["commerces"],
                   summary="Take a role from a commerce user (404 when the user does not hold it)")
    def delete(self, request, commerce_id, user_id, role):
        _, user = _commerce_and_user(request, commerce_id, user_id)
        services.commerce_user_role_remove(commerce_user=user, role=role)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CommerceUserContactsView(APIView):
    required_permission = P.MANAGE_COMMERCES

    @extend_schema(request=s.ContactCreateSerializer,
                   responses={201: s.ContactSerializer, 409: ErrorSerializer}, tags=["commerces"],
                   summary="Add a contact (validated for its type; a new primary demotes the previous one)")
    def post(self, request, commerce_id, user_id):
        data = _valid(s.ContactCreateSerializer, request.data)
        _, user = _commerce_and_user(request, commerce_id, user_id)
        contact = services.contact_create(commerce_user=user, data=data)
        return Response(s.ContactSerializer(contact).data, status=status.HTTP_201_CREATED)


class CommerceAddressesView(APIView):
    required_permission = P.MANAGE_COMMERCES

    @extend_schema(request=s.AddressInputSerializer,
                   responses={201: s.AddressSerializer, 409: ErrorSerializer}, tags=["commerces"],
                   summary="Add an address (a new primary demotes the previous one)")
    def post(self, request, commerce_id):
        data = _valid(s.AddressInputSerializer, request.data)
        commerce = selectors.commerce_get(tenant=request.tenant, commerce_id=commerce_id)
        address = services.address_create(commerce=commerce, data=data)
        return Response(s.AddressSerializer(address).data, status=status.HTTP_201_CREATED)


class CommerceAddressDetailView(APIView):
    required_permission = P.MANAGE_COMMERCES

    @extend_schema(summary="Update an address of a commerce",
                   request=s.AddressInputSerializer,
                   responses={200: s.AddressSerializer, 409: ErrorSerializer}, tags=["commerces"])
    def patch(self, request, commerce_id, address_id):
        data = _valid(s.AddressInputSerializer, request.data)
        commerce = selectors.commerce_get(tenant=request.tenant, commerce_id=commerce_id)
        address = selectors.address_get(commerce=commerce, address_id=address_id)
        address = services.address_update(address=address, data=data)
        return Response(s.AddressSerializer(address).data)


# --- operators ------------------------------------------------------------------------------------------------


class OperatorsView(generics.ListAPIView):
    required_permission = P.MANAGE_OPERATORS
    serializer_class = s.OperatorSerializer
    queryset = Operator.objects.none()  # for the schema; requests use the selector

    def get_queryset(self):
        return selectors.operator_list(tenant=self.request.tenant,
                                       filters=_query_filters(self.request, s.OperatorFiltersSerializer))

    @extend_schema(tags=["operators"], parameters=[s.OperatorFiltersSerializer],
                   summary="List operators (ordered by name)")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.OperatorCreateSerializer,
                   responses={201: s.OperatorSerializer, 409: ErrorSerializer}, tags=["operators"],
                   summary="Create an operator (email and type + external_id unique per tenant: 409)")
    def post(self, request):
        operator = services.operator_create(tenant=request.tenant,
                                            data=_valid(s.OperatorCreateSerializer, request.data))
        return Response(s.OperatorSerializer(operator).data, status=status.HTTP_201_CREATED)


class OperatorDetailView(APIView):
    required_permission = P.MANAGE_OPERATORS

    @extend_schema(summary="Get an operator",
                   responses={200: s.OperatorSerializer}, tags=["operators"])
    def get(self, request, operator_id):
        operator = selectors.operator_get(tenant=request.tenant, operator_id=operator_id)
        return Response(s.OperatorSerializer(operator).data)

    @extend_schema(request=s.OperatorUpdateSerializer,
                   responses={200: s.OperatorSerializer, 409: ErrorSerializer}, tags=["operators"],
                   summary="Update an operator; metadata is merged key by key")
    def patch(self, request, operator_id):
        data = _valid(s.OperatorUpdateSerializer, request.data)
        operator = selectors.operator_get(tenant=request.tenant, operator_id=operator_id)
        operator = services.operator_update(operator=operator, data=data)
        return Response(s.OperatorSerializer(operator).data)


class OperatorSyncView(APIView):
    required_permission = P.SYNC_OPERATORS

    @extend_schema(request=s.OperatorSyncSerializer,
                   responses={201: s.SyncResultSerializer, 409: ErrorSerializer}, tags=["operators"],
                   summary=f"Upsert up to {services.SYNC_MAX_ITEMS} operators on type + external_id, all or nothing")
    def post(self, request):
        items = _valid(s.OperatorSyncSerializer, request.data)["items"]
        result = services.operator_sync(tenant=request.tenant, items=items)
        return Response(s.SyncResultSerializer(result).data, status=status.HTTP_201_CREATED)


# --- routes ---------------------------------------------------------------------------------------------------


class RoutesView(generics.ListAPIView):
    required_permission = P.MANAGE_ROUTES
    serializer_class = s.RouteSerializer
    queryset = Route.objects.none()  # for the schema; requests use the selector

    def get_queryset(self):
        return selectors.route_list(tenant=self.request.tenant,
                                    filters=_query_filters(self.request, s.RouteFiltersSerializer))

    @extend_schema(tags=["routes"], parameters=[s.RouteFiltersSerializer],
                   summary="List routes (ordered by code) with their operators")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.RouteCreateSerializer,
                   responses={201: s.RouteSerializer, 409: ErrorSerializer}, tags=["routes"],
                   summary="Create a route (code unique per tenant: 409)")
    def post(self, request):
        route = services.route_create(tenant=request.tenant, data=_valid(s.RouteCreateSerializer, request.data))
        route = selectors.route_get(tenant=request.tenant, route_id=route.pk, with_operators=True)
        return Response(s.RouteSerializer(route).data, status=status.HTTP_201_CREATED)


class RouteDetailView(APIView):
    required_permission = P.MANAGE_ROUTES

    @extend_schema(responses={200: s.RouteSerializer}, tags=["routes"], summary="A route with its operators")
    def get(self, request, route_id):
        return Response(s.RouteSerializer(
            selectors.route_get(tenant=request.tenant, route_id=route_id, with_operators=True)).data)

    @extend_schema(request=s.RouteUpdateSerializer, responses={200: s.RouteSerializer}, tags=["routes"],
                   summary="Rename or deactivate a route (its code stays)")
    def patch(self, request, route_id):
        data = _valid(s.RouteUpdateSerializer, request.data)
        route = selectors.route_get(tenant=request.tenant, route_id=route_id)
        services.route_update(route=route, data=data)
        return Response(s.RouteSerializer(
            selectors.route_get(tenant=request.tenant, route_id=route_id, with_operators=True)).data)


class RouteOperatorsView(APIView):
    required_permission = P.MANAGE_ROUTES

    @extend_schema(request=s.RouteOperatorAssignSerializer,
                   responses={201: s.RouteOperatorLinkSerializer, 200: s.RouteOperatorLinkSerializer,
                              409: ErrorSerializer}, tags=["routes"],
                   summary="Put an operator on a route: 201 when linked now, 200 when already (or again) linked")
    def post(self, request, route_id):
        data = _valid(s.RouteOperatorAssignSerializer, request.data)
        route = selectors.route_get(tenant=request.tenant, route_id=route_id)
        operator = selectors.operator_get(tenant=request.tenant, operator_id=data["operator_id"])
        link, created = services.route_operator_assign(route=route, operator=operator, role=data.get("role"))
        return Response(s.RouteOperatorLinkSerializer(link).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class RouteOperatorDetailView(APIView):
    required_permission = P.MANAGE_ROUTES

    @extend_schema(request=None, responses={204: None}, tags=["routes"],
                   summary="Take an operator off a route (the link is kept inactive)")
    def delete(self, request, route_id, operator_id):
        route = selectors.route_get(tenant=request.tenant, route_id=route_id)
        services.route_operator_remove(route=route, operator_id=operator_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
