"""Which tenant a request acts in, and with which permissions. The tenant never comes from the body."""
import uuid

from reten import errors
from reten.audit import set_request_actor
from reten.logging import tenant_id_var
from tenants.actors import Actor
from tenants.models import (
    ApiKey,
    Membership,
    Tenant,
    membership_role_names,
    user_role_names,
    user_role_names_across,
)
from tenants.roles import RoleName, permissions_of

TENANT_HEADER = "HTTP_X_TENANT_ID"


def request_api_key(request):
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, ApiKey) else None


def refuse_api_key(request, message):
    """For what only a person may do in their own name: an API key acts for its creator, not as them."""
    if request_api_key(request) is not None:
        raise errors.PermissionDenied(message)


def actor_of(request):
    return Actor(user=request.user, api_key=request_api_key(request))


def _header_tenant_id(request, *, required):
    raw = request.META.get(TENANT_HEADER)
    if raw is None or not raw.strip():
        if required:
            raise errors.ValidationFailed(
                "Header x-tenant-id is required on this route",
                details={"x-tenant-id": ["This header is required."]},
            )
        return None
    try:
        return uuid.UUID(raw.strip())
    except ValueError:
        raise errors.ValidationFailed(
            "Header x-tenant-id must be a UUID", details={"x-tenant-id": ["Must be a valid UUID."]}
        ) from None


def _api_key_scope(request, key):
    header_id = _header_tenant_id(request, required=False)
    if header_id is not None and header_id != key.tenant_id:
        raise errors.PermissionDenied("This API key does not belong to the tenant in x-tenant-id")
    # A key never holds more than its creator still holds in the tenant (an ACTIVE membership's roles).
    creator_permissions = permissions_of(user_role_names(key.created_by, key.tenant))
    return key.tenant, frozenset(key.permissions) & creator_permissions


def resolve_tenant(request):
    """Set `request.tenant` and `request.permissions` for a tenant-scoped route."""
    key = request_api_key(request)
    if key is not None:
        tenant, permissions = _api_key_scope(request, key)
    else:
        tenant_id = _header_tenant_id(request, required=True)
        tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
        if tenant is None:
            raise errors.PermissionDenied("You do not belong to this tenant")
        is_member, names = membership_role_names(request.user, tenant)
        if not is_member and not request.user.is_superuser:
            raise errors.PermissionDenied("You do not belong to this tenant")
        if request.user.is_superuser:
            names = [RoleName.SUPER_ADMIN.value, *names]
        permissions = permissions_of(names)
    _attach(request, tenant, permissions)
    return tenant


def _attach(request, tenant, permissions):
    request.tenant = tenant
    request.permissions = permissions
    # The Django request carries the tenant too, for middleware and logs.
    request._request.tenant = tenant
    set_request_actor(user=request.user, api_key=request_api_key(request))
    if tenant is not None:
        tenant_id_var.set(tenant.id)


def resolve_platform(request):
    """For routes outside a tenant: a super admin holds everything; others what any membership grants.

    With an x-tenant-id header (or an API key) the permissions are those held in that tenant.
    """
    key = request_api_key(request)
    if key is not None or request.META.get(TENANT_HEADER):
        return resolve_tenant(request)
    memberships = Membership.objects.active().filter(user=request.user, tenant__is_active=True)
    _attach(request, None, permissions_of(user_role_names_across(request.user, memberships)))
    return None
