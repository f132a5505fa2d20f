"""Routes and the operators on them."""

from django.db import transaction

from commerces.models import (
    Route,
    RouteOperator,
    RouteOperatorRole,
)
from commerces.services.common import ROUTE_FIELDS, apply_values, conflict, save_or_conflict
from reten import errors


@transaction.atomic
def route_create(*, tenant, data):
    fields = {key: data[key] for key in ROUTE_FIELDS if key in data}
    if Route.objects.for_tenant(tenant).filter(code=fields["code"]).exists():
        conflict("code", f"A route with code {fields['code']!r} already exists in this tenant")
    return save_or_conflict(Route(tenant=tenant, **fields), "A route with this code already exists")


@transaction.atomic
def route_update(*, route, data):
    """Rename or (de)activate a route; the code, the key activities are assigned by, stays."""
    route = Route.objects.select_for_update().get(pk=route.pk)
    changes = {key: data[key] for key in ("name", "is_active") if key in data}
    if apply_values(route, changes):
        route.save(update_fields=[*changes, "updated_at"])
    return route


@transaction.atomic
def route_operator_assign(*, route, operator, role=None):
    """Put an operator on a route (idempotent). Returns (link, created); an inactive link is reactivated and
    `role`, when given, replaces the link's role."""
    if operator.tenant_id != route.tenant_id:
        raise errors.NotFound("Operator not found")
    link = RouteOperator.objects.select_for_update().filter(route=route, operator=operator).first()
    if link is None:
        link = RouteOperator(route=route, operator=operator, role=role or RouteOperatorRole.MEMBER)
        return save_or_conflict(link, "This operator was just assigned to the route; retry"), True
    changes = {"is_active": True, **({"role": role} if role else {})}
    if apply_values(link, changes):
        link.save(update_fields=[*changes, "updated_at"])
    return link, False


@transaction.atomic
def route_operator_remove(*, route, operator_id):
    """Take an operator off a route: the link is kept, inactive, so a later assignment reactivates it."""
    link = RouteOperator.objects.select_for_update().filter(route=route, operator_id=operator_id,
                                                            is_active=True).first()
    if link is None:
        raise errors.NotFound("This operator is not on the route")
    link.is_active = False
    link.save(update_fields=["is_active", "updated_at"])
    return link
