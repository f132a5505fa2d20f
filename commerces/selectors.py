"""Reads for the commerce directory. Every query starts from the tenant; prefetches keep query counts flat."""
from django.db.models import Prefetch, Q

from commerces.models import (
    Address,
    Commerce,
    CommerceUser,
    CommerceUserRole,
    Operator,
    Route,
    RouteOperator,
)
from reten import errors

ROLE_ORDER = {role: position for position, role in enumerate(CommerceUserRole.values)}


def role_names(commerce_user):
    """The user's roles in the catalogue's order, read from prefetched `role_assignments` when present."""
    return sorted((a.role for a in commerce_user.role_assignments.all()), key=ROLE_ORDER.__getitem__)


def commerce_users_with_details():
    return CommerceUser.objects.prefetch_related("role_assignments", "contacts")


def commerce_list(*, tenant, filters=None):
    """Filters: `search` (name or external id contains), `external_id`, `global_external_id`, `is_active`,
    `is_placeholder`. Absent, None or empty filters are not applied."""
    filters = filters or {}
    commerces = Commerce.objects.for_tenant(tenant)
    search = (filters.get("search") or "").strip()
    if search:
        commerces = commerces.filter(Q(name__icontains=search) | Q(external_id__icontains=search))
    for exact in ("external_id", "global_external_id", "is_active", "is_placeholder"):
        if filters.get(exact) not in (None, ""):
            commerces = commerces.filter(**{exact: filters[exact]})
    return commerces.order_by("name", "id")


def commerce_get(*, tenant, commerce_id):
    commerce = Commerce.objects.for_tenant(tenant).filter(pk=commerce_id).first()
    if commerce is None:
        raise errors.NotFound("Commerce not found")
    return commerce


def commerce_detail(*, tenant, commerce_id):
    """The commerce with its addresses and its users (roles, contacts), in five queries."""
    commerce = (
        Commerce.objects.for_tenant(tenant)
        .filter(pk=commerce_id)
        .prefetch_related(
            Prefetch("addresses", queryset=Address.objects.order_by("-is_primary", "created_at", "id")),
            Prefetch("users", queryset=commerce_users_with_details().order_by("last_name", "first_name", "id")),
        )
        .first()
    )
    if commerce is None:
        raise errors.NotFound("Commerce not found")
    return commerce


def commerce_user_get(*, commerce, user_id):
    user = commerce_users_with_details().filter(commerce=commerce, pk=user_id).first()
    if user is None:
        raise errors.NotFound("Commerce user not found")
    return user


def address_get(*, commerce, address_id):
    address = Address.objects.filter(commerce=commerce, pk=address_id).first()
    if address is None:
        raise errors.NotFound("Address not found")
    return address


def operator_list(*, tenant, filters=None):
    """Filters: `search` (name or e-mail contains), `type`, `is_active`."""
    filters = filters or {}
    operators = Operator.objects.for_tenant(tenant)
    search = (filters.get("search") or "").strip()
    if search:
        operators = operators.filter(Q(name__icontains=search) | Q(email__icontains=search))
    for exact in ("type", "is_active"):
        if filters.get(exact) not in (None, ""):
            operators = operators.filter(**{exact: filters[exact]})
    return operators.order_by("name", "id")


def operator_get(*, tenant, operator_id):
    operator = Operator.objects.for_tenant(tenant).filter(pk=operator_id).first()
    if operator is None:
        raise errors.NotFound("Operator not found")
    return operator


def _routes_with_operators(tenant):
    links = RouteOperator.objects.select_related("operator").order_by("-is_active", "role", "operator__name", "id")
    return Route.objects.for_tenant(tenant).prefetch_related(Prefetch("route_operators", queryset=links))


def route_list(*, tenant, filters=None):
    """Filters: `search` (code or name contains), `is_active`."""
    filters = filters or {}
    routes = _routes_with_operators(tenant)
    search = (filters.get("search") or "").strip()
    if search:
        routes = routes.filter(Q(code__icontains=search) | Q(name__icontains=search))
    if filters.get("is_active") is not None:
        routes = routes.filter(is_active=filters["is_active"])
    return routes.order_by("code", "id")


def route_get(*, tenant, route_id, with_operators=False):
    routes = _routes_with_operators(tenant) if with_operators else Route.objects.for_tenant(tenant)
    route = routes.filter(pk=route_id).first()
    if route is None:
        raise errors.NotFound("Route not found")
    return route
