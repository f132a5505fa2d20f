"""Deny by default: a view method that declares no permission is refused to everyone, and none exists.

Walks the URLconf (reten/tests/urlconf.py): every operation behind TenantPermission declares what it needs, and the
routes that skip TenantPermission are exactly the allow-list tenants.api.permissions.PUBLIC_ROUTES.
"""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from reten.tests.urlconf import operations, routes
from tenants.api.permissions import AUTHENTICATED_ONLY, PUBLIC_ROUTES, UNDECLARED_MESSAGE, declared_permission
from tenants.models import Tenant
from tenants.roles import Permission
from tenants.tests.factories import member


def _handler_name(route, method):
    handler = getattr(route.view_class, method.lower())
    return f"{handler.__qualname__}"


def test_every_operation_behind_tenant_permission_declares_a_permission():
    undeclared = [
        f"{operation} ({_handler_name(route, operation.split(' ', 1)[0])})"
        for operation, route in operations().items()
        if route.checks_tenant_permission() and not declared_permission(route.view(), operation.split(" ", 1)[0])
    ]
    assert not undeclared, (
        "These view methods declare no permission, so every caller is refused: add `required_permission`, "
        f"`required_permissions[METHOD]` or `required_permission = AUTHENTICATED_ONLY` to {undeclared}"
    )


def test_every_declared_permission_is_a_permission_of_spec_section_2():
    known = {p.value for p in Permission} | {AUTHENTICATED_ONLY}
    unknown = {}
    for operation, route in operations().items():
        if route.checks_tenant_permission():
            declared = declared_permission(route.view(), operation.split(" ", 1)[0])
            if declared is not None and declared not in known:  # None: the test above names it
                unknown[operation] = declared
    assert not unknown, f"Declared permissions that no role can hold: {unknown}"


def test_the_routes_open_without_credentials_are_exactly_the_public_allow_list():
    open_routes = {route.path for route in routes() if not route.checks_tenant_permission()}
    assert open_routes == PUBLIC_ROUTES, (
        f"Open but not allow-listed: {sorted(open_routes - PUBLIC_ROUTES)}; "
        f"allow-listed but not open (or gone): {sorted(PUBLIC_ROUTES - open_routes)}"
    )


# --- the refusal itself, on views made for it ---------------------------------------------------------------------


class WritesWhenReached(APIView):
    """A handler that leaves a trace, to prove it never ran."""

    def post(self, request):
        Tenant.objects.create(name="Reached", slug="reached")
        return Response({"reached": True})


class NothingDeclared(WritesWhenReached):
    pass


class OtherMethodDeclared(WritesWhenReached):
    required_permissions = {"GET": AUTHENTICATED_ONLY}

    def get(self, request):
        return Response({"reached": True})


class PlatformNothingDeclared(WritesWhenReached):
    tenant_scoped = False


class Declared(WritesWhenReached):
    required_permission = AUTHENTICATED_ONLY


urlpatterns = [
    path("undeclared", NothingDeclared.as_view()),
    path("other-method-declared", OtherMethodDeclared.as_view()),
    path("platform-undeclared", PlatformNothingDeclared.as_view()),
    path("declared", Declared.as_view()),
]


@pytest.fixture
def callers(tenant, superuser, make_api_key, api_as):
    member(tenant, user=superuser)
    every_permission = make_api_key([p.value for p in Permission], creator=superuser)
    return {
        "SUPER_ADMIN": api_as(superuser, tenant),
        "ADMIN": api_as(member(tenant, "ADMIN"), tenant),
        "API key with every permission": api_as(api_key=every_permission),
    }


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("url", ["/undeclared", "/other-method-declared", "/platform-undeclared"])
@pytest.mark.parametrize("caller", ["SUPER_ADMIN", "ADMIN", "API key with every permission"])
def test_a_method_without_a_declaration_is_refused_to_every_caller(url, caller, callers):
    tenants_before = Tenant.objects.count()
    with CaptureQueriesContext(connection) as queries:
        response = callers[caller].post(url, {})
    assert response.status_code == 403, response.content
    assert response.json()["message"] == UNDECLARED_MESSAGE.format(method="POST")
    assert "declares no permission" in response.json()["message"]
    assert Tenant.objects.count() == tenants_before
    assert not [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("INSERT")]


@pytest.mark.urls(__name__)
def test_the_declared_method_of_the_same_view_still_answers(callers):
    assert callers["ADMIN"].get("/other-method-declared").json() == {"reached": True}


@pytest.mark.urls(__name__)
def test_a_declared_view_is_reached(callers):
    assert callers["ADMIN"].post("/declared", {}).json() == {"reached": True}


@pytest.mark.urls(__name__)
def test_no_credentials_is_still_401_on_an_undeclared_route(api_as):
    assert api_as().post("/undeclared", {}).status_code == 401


def test_a_method_the_view_does_not_implement_is_405_not_403(admin_api):
    # Deny by default refuses undeclared handlers, not methods without a handler: those stay 405.
    response = admin_api.put("/api/auth/me", {})
    assert response.status_code == 405, response.content
