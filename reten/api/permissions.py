"""Authentication required, tenant resolved, and the view's declared permission held."""
from rest_framework import exceptions, permissions

from reten import errors
from reten.api.tenancy import resolve_platform, resolve_tenant

# Declared by views any authenticated caller in scope may use (their own profile, their tenants...).
AUTHENTICATED_ONLY = "AUTHENTICATED_ONLY"


def required_permission(view, request):
    """A view declares `required_permission = P.X` or `required_permissions = {"GET": P.X, ...}`."""
    by_method = getattr(view, "required_permissions", None)
    if by_method is not None:
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        return by_method.get(method)
    return getattr(view, "required_permission", None)


class TenantPermission(permissions.BasePermission):
    """Default for every API view. Set `tenant_scoped = False` on views that act outside a tenant."""

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            raise exceptions.NotAuthenticated()
        if getattr(view, "tenant_scoped", True):
            resolve_tenant(request)
        else:
            resolve_platform(request)
        needed = required_permission(view, request)
        if needed and needed != AUTHENTICATED_ONLY and needed not in request.permissions:
            raise errors.PermissionDenied(f"Missing permission {needed}")
        return True

