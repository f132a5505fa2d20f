"""The URLconf as operations ("METHOD /path/{param}"), walked from django.urls.get_resolver() for the tests that
hold every route to a declared permission, to the authorization matrix and to the SPEC's list of routes."""
import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from rest_framework.views import APIView

from tenants.api.permissions import TenantPermission, implements

# The console has its own staff login on every page (Django admin's admin_view); SPEC 7 tests it on its own.
SKIPPED_NAMESPACES = frozenset({"admin"})
# The JSON 404 for every /api/ URL no route matches is a fallback, not a route (reten/urls.py).
FALLBACK_NAMES = frozenset({"api-not-found"})
HANDLER_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")  # HEAD and OPTIONS follow GET's rule
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


@dataclass(frozen=True)
class Route:
    path: str  # "/api/dispatch-configs/{config_id}"
    callback: object

    @property
    def view_class(self):
        return getattr(self.callback, "view_class", None)

    def view(self):
        """A view instance configured as the URLconf configures it (as_view() keyword arguments included)."""
        return self.view_class(**getattr(self.callback, "view_initkwargs", {}))

    @property
    def is_drf(self):
        return self.view_class is not None and issubclass(self.view_class, APIView)

    def methods(self):
        if self.view_class is None:
            return ["GET"]  # a plain function view (healthz, readyz) answers GET
        view = self.view()
        return [method for method in HANDLER_METHODS if implements(view, method)]

    def checks_tenant_permission(self):
        """False for a route that answers without credentials (it skips TenantPermission)."""
        return self.is_drf and any(isinstance(p, TenantPermission) for p in self.view().get_permissions())


def _walk(patterns, prefix):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace in SKIPPED_NAMESPACES:
                continue
            yield from _walk(entry.url_patterns, prefix + _route_text(entry.pattern, prefix))
        elif isinstance(entry, URLPattern) and entry.name not in FALLBACK_NAMES:
            yield Route("/" + _CONVERTER.sub(r"{\1}", prefix + _route_text(entry.pattern, prefix)), entry.callback)


def _route_text(pattern, prefix):
    if not isinstance(pattern, RoutePattern):
        raise AssertionError(f"{prefix}{pattern}: use path(), not re_path(), so the route can be read and checked")
    return str(pattern)


def routes():
    """Every route of the URLconf outside the admin, in URLconf order."""
    found = list(_walk(get_resolver().url_patterns, ""))
    paths = [route.path for route in found]
    duplicated = sorted({path for path in paths if paths.count(path) > 1})
    assert not duplicated, f"Routes declared twice in the URLconf: {duplicated}"
    return found


def operations():
    """{"METHOD /path": Route} for every method every route implements."""
    return {f"{method} {route.path}": route for route in routes() for method in route.methods()}
