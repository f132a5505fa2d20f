"""Authentication required, tenant resolved, and the view's declared permission held. Deny by default."""
from rest_framework import exceptions, permissions

from reten import errors
from tenants.api.tenancy import resolve_platform, resolve_tenant

# Declared by views any authenticated caller in scope may use (their own profile, their tenants...).
AUTHENTICATED_ONLY = "AUTHENTICATED_ONLY"

# The only routes that answer without credentials (they skip TenantPermission). Every other route goes through
# TenantPermission and must declare what it needs; reten/tests/test_permission_declarations.py holds both to it.
PUBLIC_ROUTES = frozenset({
    "/api/auth/login",
    "/api/auth/refresh",
    "/api/auth/logout",
    "/api/schema/",
    "/api/docs/",
    "/api/redoc/",
    "/healthz",
    "/readyz",
    # SPEC 7: `/` redirects anyone to the console, whose own login decides.
    "/",
    # SPEC 6.2: providers' delivery receipts, authenticated by the config's Standard Webhooks signature instead
    "/api/dispatch-callbacks/{config_id}",
    # Not a DRF view: no JWT or API key opens it. It checks its own `Authorization: Bearer $METRICS_TOKEN`, and
    # without a METRICS_TOKEN it is a 404 outside DEBUG (reten/views.py: metrics_view; dispatch/tests/test_metrics).
    "/metrics",
})

UNDECLARED_MESSAGE = "This route declares no permission for {method}: refused to every caller"


def declared_permission(view, method):
    """What a view declares for `method`: `required_permissions = {"GET": P.X, ...}` (per method) or
    `required_permission = P.X` (every method); AUTHENTICATED_ONLY for any caller in scope; None if nothing."""
    method = "GET" if method in ("HEAD", "OPTIONS") else method
    by_method = getattr(view, "required_permissions", None)
    if by_method is not None:
        return by_method.get(method)
    return getattr(view, "required_permission", None)


def implements(view, method):
    """True when the view has a handler for `method` (HEAD and OPTIONS are answered through GET's rule)."""
    method = method.lower()
    return method in view.http_method_names and hasattr(view, method)


class TenantPermission(permissions.BasePermission):
    """Default for every API view. Set `tenant_scoped = False` on views that act outside a tenant.

    A method the view does not declare a permission for is refused to everyone, super admins included: a new
    view, or a method added to an old one, is closed until someone writes down who may use it.
    """

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            raise exceptions.NotAuthenticated()
        if not implements(view, request.method):
            raise exceptions.MethodNotAllowed(request.method)
        needed = declared_permission(view, request.method)
        if not needed:
            raise errors.PermissionDenied(UNDECLARED_MESSAGE.format(method=request.method))
        if getattr(view, "tenant_scoped", True):
            resolve_tenant(request)
        else:
            resolve_platform(request)
        if needed != AUTHENTICATED_ONLY and needed not in request.permissions:
            raise errors.PermissionDenied(f"Missing permission {needed}")
        return True
