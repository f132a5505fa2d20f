from django.conf import settings
from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from reten import errors
from reten.api.schema import ErrorSerializer, MessageSerializer
from reten.api.throttling import PasswordChangeThrottle, check_login_attempt
from tenants import selectors, services
from tenants.api import serializers as s
from tenants.api.permissions import AUTHENTICATED_ONLY
from tenants.api.tenancy import refuse_api_key, request_api_key
from tenants.models import MembershipStatus, Role, User, user_role_names, user_role_names_across
from tenants.roles import P

REFRESH_MAX_AGE = int(settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"].total_seconds())


def _set_refresh_cookie(response, refresh):
    response.set_cookie(
        settings.REFRESH_COOKIE_NAME, str(refresh), max_age=REFRESH_MAX_AGE, httponly=True,
        secure=settings.REFRESH_COOKIE_SECURE, samesite="Lax", path=settings.REFRESH_COOKIE_PATH,
    )


def _clear_refresh_cookie(response):
    response.delete_cookie(settings.REFRESH_COOKIE_NAME, path=settings.REFRESH_COOKIE_PATH, samesite="Lax")


def _auth_user(user):
    return {"id": user.id, "email": user.email, "first_name": user.first_name, "last_name": user.last_name}


class PublicView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]


class LoginView(PublicView):
    @extend_schema(request=s.LoginSerializer,
                   responses={200: s.LoginResponseSerializer, 401: ErrorSerializer, 429: ErrorSerializer},
                   tags=["auth"],
                   summary="Log in with e-mail or username; sets the HttpOnly refreshToken cookie")
    def post(self, request):
        data = s.LoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        identifier = data.validated_data["identifier"].strip()
        account = selectors.login_account(identifier=identifier)
        check_login_attempt(request, account.email if account is not None else identifier)
        # authenticate() runs for unknown identifiers too: ModelBackend then hashes the password anyway, so an
        # unknown account costs the same time as a wrong password.
        user = authenticate(request, email=account.email if account is not None else identifier,
                            password=data.validated_data["password"])
        if user is None or not user.is_active:
            raise errors.NotAuthenticated("Invalid email or password")
        refresh = RefreshToken.for_user(user)
        User.objects.filter(pk=user.pk).update(last_login=refresh.current_time)
        response = Response({"access_token": str(refresh.access_token), "user": _auth_user(user)})
        _set_refresh_cookie(response, refresh)
        return response


class RefreshView(PublicView):
    @extend_schema(request=None, responses={200: s.AccessTokenSerializer, 401: ErrorSerializer}, tags=["auth"],
                   summary="Exchange the refreshToken cookie for a new access token (the cookie rotates)")
    def post(self, request):
        raw = request.COOKIES.get(settings.REFRESH_COOKIE_NAME)
        if not raw:
            raise errors.NotAuthenticated("Missing refresh token cookie")
        try:
            old = RefreshToken(raw)
            user = User.objects.filter(pk=old[settings.SIMPLE_JWT["USER_ID_CLAIM"]], is_active=True).first()
            if user is None:
                raise errors.NotAuthenticated("Invalid refresh token")
            old.blacklist()
        except TokenError:
            raise errors.NotAuthenticated("Invalid or expired refresh token") from None
        refresh = RefreshToken.for_user(user)
        response = Response({"access_token": str(refresh.access_token)})
        _set_refresh_cookie(response, refresh)
        return response


class LogoutView(PublicView):
    @extend_schema(request=None, responses={200: MessageSerializer}, tags=["auth"],
                   summary="Revoke the refresh token and clear its cookie")
    def post(self, request):
        raw = request.COOKIES.get(settings.REFRESH_COOKIE_NAME)
        if raw:
            try:
                RefreshToken(raw).blacklist()
            except TokenError:
                pass  # already invalid: nothing left to revoke
        response = Response({"message": "Logged out successfully"})
        _clear_refresh_cookie(response)
        return response


class MeView(APIView):
    tenant_scoped = False
    required_permission = AUTHENTICATED_ONLY

    @extend_schema(summary="Who I am: my tenant ids and roles",
                   responses={200: s.MeSerializer}, tags=["auth"])
    def get(self, request):
        user = request.user
        tenant_ids = [t.id for t in selectors.tenants_of_user(user=user)]
        if request.tenant is not None:
            roles = user_role_names(user, request.tenant)
        else:
            roles = user_role_names_across(user, user.memberships.filter(status=MembershipStatus.ACTIVE))
        return Response({**_auth_user(user), "tenant_ids": tenant_ids, "roles": roles})


class ResetMyPasswordView(APIView):
    tenant_scoped = False
    required_permission = AUTHENTICATED_ONLY
    throttle_classes = [PasswordChangeThrottle]

    @extend_schema(summary="Change my password",
                   request=s.ResetMyPasswordSerializer, responses={200: MessageSerializer}, tags=["auth"])
    def post(self, request):
        refuse_api_key(request, "API keys cannot change passwords")
        data = s.ResetMyPasswordSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.own_password_reset(user=request.user, **data.validated_data)
        return Response({"message": "Password reset successfully"})


class ResetUserPasswordView(APIView):
    required_permission = P.RESET_USER_PASSWORD

    @extend_schema(summary="Reset another user's password",
                   request=s.ResetUserPasswordSerializer, responses={200: MessageSerializer, 404: ErrorSerializer},
                   tags=["auth"])
    def post(self, request):
        data = s.ResetUserPasswordSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.tenant_user_reset_password(tenant=request.tenant, actor_user=request.user,
                                            **data.validated_data)
        return Response({"message": "Password reset successfully"})


class AssignableRolesView(APIView):
    required_permission = AUTHENTICATED_ONLY
    @extend_schema(summary="Roles I may assign",
                   responses={200: s.AssignableRolesSerializer}, tags=["auth"])
    def get(self, request):
        mine = services.actor_level(tenant=request.tenant, user=request.user)
        roles = [
            {"id": r.id, "name": r.name, "description": r.description, "permissions": r.permissions,
             "level": r.level}
            for r in Role.objects.filter(level__gt=mine).order_by("level")
        ]
        return Response({"assignable_roles": roles, "current_user_level": mine})


class MyTenantsView(APIView):
    tenant_scoped = False
    required_permission = AUTHENTICATED_ONLY

    @extend_schema(summary="Tenants I belong to",
                   responses={200: s.TenantBriefSerializer(many=True)}, tags=["tenants"])
    def get(self, request):
        return Response(s.TenantBriefSerializer(selectors.tenants_of_user(user=request.user), many=True).data)


class TenantListView(APIView):
    tenant_scoped = False
    required_permission = P.VIEW_TENANTS

    @extend_schema(summary="List tenants",
                   responses={200: s.TenantSerializer(many=True)}, tags=["tenants"])
    def get(self, request):
        if request.tenant is not None and not request.user.is_superuser:
            tenants = [request.tenant]
        else:
            tenants = selectors.tenants_visible_to(user=request.user)
        return Response(s.TenantSerializer(tenants, many=True).data)


class TenantSetupView(APIView):
    tenant_scoped = False
    required_permission = P.CREATE_TENANT

    @extend_schema(request=s.TenantSetupSerializer, responses={201: s.TenantBriefSerializer, 409: ErrorSerializer},
                   tags=["tenants"],
                   summary="Create a tenant and its first ADMIN (new user, or an existing one linked)")
    def post(self, request):
        data = s.TenantSetupSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = services.tenant_setup(**data.validated_data)
        return Response(s.TenantBriefSerializer(tenant).data, status=status.HTTP_201_CREATED)


class TenantDetailView(APIView):
    """A tenant named in the path (SUPER_ADMIN: UPDATE_TENANT / DELETE_TENANT are held by nobody else)."""

    tenant_scoped = False
    required_permissions = {"PATCH": P.UPDATE_TENANT, "DELETE": P.DELETE_TENANT}

    @extend_schema(request=s.TenantUpdateSerializer, responses={200: s.TenantDetailSerializer, 404: ErrorSerializer},
                   tags=["tenants"], summary="Rename a tenant or change is_active")
    def patch(self, request, tenant_id):
        data = s.TenantUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = services.tenant_update(tenant_id=tenant_id, data=data.validated_data,
                                        api_key=request_api_key(request))
        return Response(s.TenantDetailSerializer(tenant).data)

    @extend_schema(request=None, responses={204: None, 404: ErrorSerializer}, tags=["tenants"],
                   summary="Deactivate a tenant: its members and API keys can no longer act in it")
    def delete(self, request, tenant_id):
        services.tenant_deactivate(tenant_id=tenant_id, api_key=request_api_key(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TenantUsersView(generics.ListAPIView):
    required_permissions = {"GET": P.VIEW_USERS, "POST": P.CREATE_USER}
    serializer_class = s.TenantUserSerializer
    queryset = User.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self):
        return selectors.tenant_user_list(tenant=self.request.tenant,
                                          search=self.request.query_params.get("search"))

    @extend_schema(summary="List the tenant's users",
                   tags=["users"],
                   parameters=[OpenApiParameter("search", str, description="E-mail or name contains")])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=s.TenantUserCreateSerializer,
        responses={201: PolymorphicProxySerializer(
            component_name="TenantUserAdded",
            serializers=[s.TenantUserSerializer, s.InvitationCreatedSerializer],
            resource_type_field_name=None,
        ), 409: ErrorSerializer},
        tags=["users"],
        summary="Create a user in this tenant, or invite an existing account by e-mail",
        description="A new e-mail (with a password) creates the user and answers with their profile. An e-mail "
                    "that already has an account makes an invitation that grants nothing until that user "
                    "accepts it; the answer is then {invitationId, email, status: \"INVITED\", roles} and "
                    "never the account's profile. Already a member or already invited: 409.",
    )
    def post(self, request):
        data = s.TenantUserCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.tenant_user_create(tenant=request.tenant, actor_user=request.user,
                                                 **data.validated_data)
        if membership.status == MembershipStatus.INVITED:
            body = {"invitation_id": membership.id, "email": data.validated_data["email"].strip().lower(),
                    "status": membership.status, "roles": membership.role_names()}
            return Response(s.InvitationCreatedSerializer(body).data, status=status.HTTP_201_CREATED)
        user = selectors.tenant_user_list(tenant=request.tenant).get(pk=membership.user_id)
        return Response(s.TenantUserSerializer(user).data, status=status.HTTP_201_CREATED)


class InvitationsView(APIView):
    """The caller's own pending invitations. A person answers them, never an API key (it acts for its creator)."""

    tenant_scoped = False
    required_permission = AUTHENTICATED_ONLY

    @extend_schema(responses={200: s.InvitationSerializer(many=True)}, tags=["users"],
                   summary="My pending invitations to tenants")
    def get(self, request):
        refuse_api_key(request, "API keys cannot read invitations")
        return Response(s.InvitationSerializer(selectors.invitation_list(user=request.user), many=True).data)


class InvitationAcceptView(APIView):
    tenant_scoped = False
    required_permission = AUTHENTICATED_ONLY

    @extend_schema(request=None, responses={200: s.InvitationSerializer}, tags=["users"],
                   summary="Accept one of my invitations: the membership becomes ACTIVE")
    def post(self, request, invitation_id):
        refuse_api_key(request, "API keys cannot answer invitations")
        membership = services.invitation_accept(user=request.user, invitation_id=invitation_id)
        return Response(s.InvitationSerializer(membership).data)


class InvitationDeclineView(APIView):
    tenant_scoped = False
    required_permission = AUTHENTICATED_ONLY

    @extend_schema(request=None, responses={200: MessageSerializer}, tags=["users"],
                   summary="Decline one of my invitations (it is deleted)")
    def post(self, request, invitation_id):
        refuse_api_key(request, "API keys cannot answer invitations")
        services.invitation_decline(user=request.user, invitation_id=invitation_id)
        return Response({"message": "Invitation declined"})


class UserRolesView(APIView):
    required_permission = P.UPDATE_USER

    @extend_schema(summary="Replace a user's roles in this tenant",
                   request=s.UserRolesUpdateSerializer, responses={200: s.UserRolesSerializer}, tags=["users"])
    def put(self, request, user_id):
        data = s.UserRolesUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.tenant_user_set_roles(tenant=request.tenant, actor_user=request.user, user_id=user_id,
                                              roles=data.validated_data["roles"])
        return Response({"id": user.id, "roles": user_role_names(user, request.tenant)})


class TenantUserDetailView(APIView):
    required_permission = P.DELETE_USER

    @extend_schema(request=None, responses={204: None, 404: ErrorSerializer}, tags=["users"],
                   summary="Remove a user from this tenant (membership deleted, their API keys here revoked)")
    def delete(self, request, user_id):
        services.tenant_user_remove(tenant=request.tenant, actor_user=request.user, user_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiKeysView(APIView):
    required_permission = P.MANAGE_API_KEYS

    @extend_schema(responses={200: s.TenantApiKeySerializer(many=True)}, tags=["api-keys"],
                   parameters=[s.ApiKeyListQuerySerializer],
                   summary="The caller's API keys in this tenant, or with scope=tenant every key and its creator; "
                           "newest first (never the secret)")
    def get(self, request):
        query = s.ApiKeyListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        if query.validated_data["scope"] == "tenant":
            if P.CREATE_USER not in request.permissions:
                raise errors.PermissionDenied(f"Missing permission {P.CREATE_USER}")
            keys = selectors.api_key_list_of_tenant(tenant=request.tenant)
        else:
            keys = selectors.api_key_list(tenant=request.tenant, user=request.user).select_related("created_by")
        return Response(s.TenantApiKeySerializer(keys, many=True).data)

    @extend_schema(request=s.ApiKeyCreateSerializer, responses={201: s.ApiKeyCreatedSerializer}, tags=["api-keys"],
                   summary="Create an API key; the plaintext key is returned only here")
    def post(self, request):
        data = s.ApiKeyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key, plaintext = services.api_key_create(tenant=request.tenant, creator=request.user,
                                                 calling_key=request_api_key(request), **data.validated_data)
        key.plaintext_key = plaintext
        return Response(s.ApiKeyCreatedSerializer(key).data, status=status.HTTP_201_CREATED)


class ApiKeyRevokeView(APIView):
    required_permission = P.MANAGE_API_KEYS

    @extend_schema(request=None, responses={200: MessageSerializer}, tags=["api-keys"],
                   summary="Revoke one of your keys, or (with CREATE_USER) a key of a user of a lower role level")
    def post(self, request, key_id):
        services.api_key_revoke_by(tenant=request.tenant, actor_user=request.user, key_id=key_id,
                                   may_manage_users=P.CREATE_USER in request.permissions)
        return Response({"message": "API key revoked successfully"})
