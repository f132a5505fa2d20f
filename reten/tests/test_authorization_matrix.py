"""Who may call what: every operation of the URLconf x every kind of caller, against SPEC sections 2-5.

OPERATIONS below is written from the SPEC, one line per operation (path pattern as the URLconf spells it, and the
permission the SPEC gives it). The URLconf is walked (reten/tests/urlconf.py), so a route that is not in the table,
or a table line with no route, fails until someone writes down who may use it. For each operation and caller:

- a caller without the permission gets 403 and nothing is written (no INSERT/UPDATE/DELETE reached the database);
- a caller with it does not get 403 (any other answer is fine: the body is minimal, so 400 or 404 are expected);
- an id of another tenant's object in the path is 404, with nothing written, for a caller who holds the permission.

Callers: SUPER_ADMIN, ADMIN, FDE and VIEWER (JWT + x-tenant-id), an API key holding exactly the permission and one
holding every permission but it (both created by a super admin member of the tenant), and no credentials at all.
The data (two tenants with one object of each kind) is built once per module and every test rolls back.
"""
import functools
import json
import re
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from activities.models import ActivityAttribute, ActivityType, AttributeKey, AttributeResolutionStatus, Channel
from activities.tests.factories import TargetResolutionConfigFactory, TaskResultTypeFactory
from commerces.tests.factories import (
    AddressFactory,
    CommerceFactory,
    CommerceUserFactory,
    ContactFactory,
    OperatorFactory,
    RouteFactory,
    RouteOperatorFactory,
)
from dispatch.models import DispatchProvider
from dispatch.tests import factories as dispatch_factories
from reten.tests.urlconf import operations
from tenants.api.permissions import AUTHENTICATED_ONLY, PUBLIC_ROUTES, declared_permission
from tenants.models import ApiKey, Membership, MembershipStatus
from tenants.roles import Permission
from tenants.services import api_key_create
from tenants.tests.factories import TenantFactory, UserFactory, member
from tenants.tests.test_permission_matrix import SPEC_TABLE
from webhooks.models import DeliveryStatus
from webhooks.tests import factories as webhook_factories

PUBLIC = "PUBLIC"  # no credentials needed (tenants.api.permissions.PUBLIC_ROUTES)


@dataclass(frozen=True)
class Rule:
    permission: str  # a SPEC section 2 permission, AUTHENTICATED_ONLY or PUBLIC
    super_admin_only: bool = False  # SPEC 5.1: held as SUPER_ADMIN; a tenant ADMIN and API keys get 403
    jwt_only: bool = False  # a person's own account: API keys get 403
    api_key_only: bool = False  # SPEC 2: integration routes accept API keys only; a JWT gets 401
    body: dict = field(default_factory=dict)  # minimal body; Id("kind") is this tenant's object of that kind


@dataclass(frozen=True)
class Id:
    kind: str


def needs(permission, **options):
    return Rule(permission, **options)


ANYONE = Rule(AUTHENTICATED_ONLY)  # any authenticated caller, in a tenant they belong to where the route has one
OPEN = Rule(PUBLIC)

# fmt: off
OPERATIONS = {
    # SPEC 1: schema and docs; SPEC 9: probes
    "GET /": OPEN,
    "GET /healthz": OPEN,
    "GET /readyz": OPEN,
    "GET /api/schema/": OPEN,
    "GET /api/docs/": OPEN,
    "GET /api/redoc/": OPEN,
    # SPEC 14: no user credential opens it; its own METRICS_TOKEN rule is tested in dispatch/tests/test_metrics.py
    # (here, with no token set and DEBUG off, it is a 404 for every caller)
    "GET /metrics": OPEN,
    # SPEC 2: authentication, tenants, users, API keys
    "POST /api/auth/login": OPEN,
    "POST /api/auth/refresh": OPEN,
    "POST /api/auth/logout": OPEN,
    "GET /api/auth/me": ANYONE,
    "POST /api/auth/reset-my-password": Rule(AUTHENTICATED_ONLY, jwt_only=True),
    "POST /api/auth/reset-user-password": needs("RESET_USER_PASSWORD"),
    "GET /api/auth/assignable-roles": ANYONE,
    "GET /api/tenant": needs("VIEW_TENANTS"),
    "GET /api/tenant/mine": ANYONE,
    "POST /api/tenant/setup": needs("CREATE_TENANT"),
    "PATCH /api/tenant/{tenant_id}": needs("UPDATE_TENANT"),
    "DELETE /api/tenant/{tenant_id}": needs("DELETE_TENANT"),
    "GET /api/user/tenant-users": needs("VIEW_USERS"),
    "POST /api/user/tenant-users": needs("CREATE_USER"),
    "PUT /api/user/{user_id}/roles": needs("UPDATE_USER", body={"roles": ["VIEWER"]}),
    "DELETE /api/user/{user_id}": needs("DELETE_USER"),
    # SPEC 10: invitations are answered by the invited person themselves (never an API key)
    "GET /api/user/invitations": Rule(AUTHENTICATED_ONLY, jwt_only=True),
    "POST /api/user/invitations/{invitation_id}/accept": Rule(AUTHENTICATED_ONLY, jwt_only=True),
    "POST /api/user/invitations/{invitation_id}/decline": Rule(AUTHENTICATED_ONLY, jwt_only=True),
    "GET /api/api-keys": needs("MANAGE_API_KEYS"),
    "POST /api/api-keys": needs("MANAGE_API_KEYS"),
    "POST /api/api-keys/{key_id}/revoke": needs("MANAGE_API_KEYS"),
    # SPEC 11.5: the audit trail of the tenant's configuration
    "GET /api/audit-log": needs("VIEW_TENANTS"),
    # SPEC 3: commerce directory
    "GET /api/commerces": needs("MANAGE_COMMERCES"),
    "POST /api/commerces": needs("MANAGE_COMMERCES"),
    "POST /api/commerces/sync": needs("SYNC_COMMERCES"),
    "GET /api/commerces/{commerce_id}": needs("MANAGE_COMMERCES"),
    "PATCH /api/commerces/{commerce_id}": needs("MANAGE_COMMERCES"),
    "POST /api/commerces/{commerce_id}/users": needs("MANAGE_COMMERCES"),
    "PATCH /api/commerces/{commerce_id}/users/{user_id}": needs("MANAGE_COMMERCES"),
    "POST /api/commerces/{commerce_id}/users/{user_id}/roles": needs("MANAGE_COMMERCES", body={"role": "FINANCE"}),
    "DELETE /api/commerces/{commerce_id}/users/{user_id}/roles/{role}": needs("MANAGE_COMMERCES"),
    "POST /api/commerces/{commerce_id}/users/{user_id}/contacts": needs(
        "MANAGE_COMMERCES", body={"contact_type": "EMAIL", "value": "someone@example.com"}),
    "POST /api/commerces/{commerce_id}/addresses": needs("MANAGE_COMMERCES"),
    "PATCH /api/commerces/{commerce_id}/addresses/{address_id}": needs("MANAGE_COMMERCES"),
    "GET /api/operators": needs("MANAGE_OPERATORS"),
    "POST /api/operators": needs("MANAGE_OPERATORS"),
    "POST /api/operators/sync": needs("SYNC_OPERATORS"),
    "GET /api/operators/{operator_id}": needs("MANAGE_OPERATORS"),
    "PATCH /api/operators/{operator_id}": needs("MANAGE_OPERATORS"),
    "GET /api/routes": needs("MANAGE_ROUTES"),
    "POST /api/routes": needs("MANAGE_ROUTES"),
    "GET /api/routes/{route_id}": needs("MANAGE_ROUTES"),
    "PATCH /api/routes/{route_id}": needs("MANAGE_ROUTES"),
    "POST /api/routes/{route_id}/operators": needs("MANAGE_ROUTES", body={"operator_id": Id("operator")}),
    "DELETE /api/routes/{route_id}/operators/{operator_id}": needs("MANAGE_ROUTES"),
    # SPEC 4: activities, their operations and configuration
    "GET /api/activities": needs("VIEW_ACTIVITIES"),
    # SPEC 14: reports
    "GET /api/reports/activities": needs("VIEW_ACTIVITIES"),
    "GET /api/reports/effectiveness": needs("VIEW_ACTIVITIES"),
    "POST /api/activities": needs("CREATE_ACTIVITY"),
    "POST /api/activities/tasks": needs("CREATE_ACTIVITY"),
    "POST /api/activities/bulk": needs("CREATE_ACTIVITY"),
    "GET /api/activities/{activity_id}": needs("VIEW_ACTIVITIES"),
    "PATCH /api/activities/{activity_id}/cancel": needs("CANCEL_ACTIVITY"),
    "PATCH /api/activities/{activity_id}/retry-resolution": needs("CREATE_ACTIVITY"),
    "GET /api/activities/{activity_id}/target-users": needs("VIEW_ACTIVITIES"),
    "PATCH /api/activities/{activity_id}/target-users/{target_user_id}/resolve": needs(
        "CREATE_ACTIVITY", body={"commerce_user_id": Id("commerce_user")}),
    "GET /api/activities/{activity_id}/attributes": needs("VIEW_ACTIVITIES"),
    "PATCH /api/activities/{activity_id}/attributes/{attribute_id}/resolve": needs("CREATE_ACTIVITY",
                                                                                   body={"value": 1}),
    # SPEC 6.1, 6.3, 6.4: results, result types, the integration routes (API keys only)
    "GET /api/activities/{activity_id}/results": needs("VIEW_ACTIVITIES"),
    "GET /api/activity-results": needs("VIEW_ACTIVITIES"),
    "POST /api/activity-results/tasks": needs("CREATE_ACTIVITY"),
    "GET /api/activity-config/task-result-types": needs("VIEW_ACTIVITIES"),
    "POST /api/activity-config/task-result-types": needs("MANAGE_ACTIVITY_CONFIG"),
    "PATCH /api/activity-config/task-result-types/{result_type_id}": needs("MANAGE_ACTIVITY_CONFIG"),
    "POST /api/integration/activity-results/tasks": needs("SUBMIT_ACTIVITY_RESULT", api_key_only=True),
    "GET /api/integration/activities/tasks": needs("VIEW_ACTIVITIES", api_key_only=True),
    "GET /api/integration/task-result-type-configs": needs("VIEW_ACTIVITIES", api_key_only=True),
    # SPEC 6.2: delivery receipts (integration routes: API keys only; providers without a key sign a callback)
    "POST /api/integration/delivery-receipts": needs("SUBMIT_ACTIVITY_RESULT", api_key_only=True),
    "POST /api/integration/delivery-receipts/batch": needs("SUBMIT_ACTIVITY_RESULT", api_key_only=True),
    "GET /api/activities/{activity_id}/delivery-receipts": needs("VIEW_ACTIVITIES"),
    "POST /api/dispatch-callbacks/{config_id}": OPEN,  # the Standard Webhooks signature is its authentication
    "GET /api/activities/{activity_id}/status-events": needs("VIEW_ACTIVITIES"),
    "POST /api/activities/tasks/{activity_id}/dispatch": needs("DISPATCH_ACTIVITY"),
    # SPEC 11.1, 11.3, 11.4: attempts, force retry, bulk operations by selection
    "GET /api/activities/{activity_id}/dispatch-attempts": needs("VIEW_ACTIVITIES"),
    "PATCH /api/activities/{activity_id}/force-retry-dispatch": needs("DISPATCH_ACTIVITY"),
    "POST /api/activities/bulk-cancel": needs("CANCEL_ACTIVITY", body={"filter": {}, "dry_run": True}),
    "POST /api/activities/bulk-retry-resolution": needs("CREATE_ACTIVITY", body={"filter": {}, "dry_run": True}),
    "POST /api/activities/bulk-force-retry-dispatch": needs("DISPATCH_ACTIVITY",
                                                            body={"filter": {}, "dry_run": True}),
    # SPEC 4.5 names no permission for configuration: read with VIEW_ACTIVITIES, write with MANAGE_ACTIVITY_CONFIG
    # (as SPEC 5.2 and 6.3 do for the other configuration)
    "GET /api/activity-config/target-resolution": needs("VIEW_ACTIVITIES"),
    "POST /api/activity-config/target-resolution": needs("MANAGE_ACTIVITY_CONFIG"),
    "GET /api/activity-config/target-resolution/{config_id}": needs("VIEW_ACTIVITIES"),
    "PATCH /api/activity-config/target-resolution/{config_id}": needs("MANAGE_ACTIVITY_CONFIG"),
    "DELETE /api/activity-config/target-resolution/{config_id}": needs("MANAGE_ACTIVITY_CONFIG"),
    "GET /api/activity-config/attribute-keys": needs("VIEW_ACTIVITIES"),
    "GET /api/activity-config/attribute-policies": needs("VIEW_ACTIVITIES"),
    "POST /api/activity-config/attribute-policies": needs("MANAGE_ACTIVITY_CONFIG"),
    "GET /api/user-retention-statuses": needs("VIEW_ACTIVITIES"),
    "POST /api/user-retention-statuses": needs("MANAGE_ACTIVITY_CONFIG"),
    # SPEC 5.1: providers are global; writing them needs MANAGE_ACTIVITY_CONFIG held as SUPER_ADMIN
    "GET /api/dispatch-providers": needs("VIEW_ACTIVITIES"),
    "POST /api/dispatch-providers": needs("MANAGE_ACTIVITY_CONFIG", super_admin_only=True),
    "GET /api/dispatch-providers/{provider_id}": needs("VIEW_ACTIVITIES"),
    "PATCH /api/dispatch-providers/{provider_id}": needs("MANAGE_ACTIVITY_CONFIG", super_admin_only=True),
    "GET /api/dispatch-providers/{provider_id}/channel-definitions": needs("VIEW_ACTIVITIES"),
    "POST /api/dispatch-providers/{provider_id}/channel-definitions": needs(
        "MANAGE_ACTIVITY_CONFIG", super_admin_only=True),
    "PATCH /api/dispatch-providers/{provider_id}/channel-definitions/{definition_id}": needs(
        "MANAGE_ACTIVITY_CONFIG", super_admin_only=True),
    "DELETE /api/dispatch-providers/{provider_id}/channel-definitions/{definition_id}": needs(
        "MANAGE_ACTIVITY_CONFIG", super_admin_only=True),
    # SPEC 5.2: dispatch configs
    "GET /api/dispatch-configs": needs("VIEW_ACTIVITIES"),
    "POST /api/dispatch-configs": needs("MANAGE_ACTIVITY_CONFIG"),
    "GET /api/dispatch-configs/{config_id}": needs("VIEW_ACTIVITIES"),
    "PATCH /api/dispatch-configs/{config_id}": needs("MANAGE_ACTIVITY_CONFIG"),
    "DELETE /api/dispatch-configs/{config_id}": needs("MANAGE_ACTIVITY_CONFIG"),
    "POST /api/dispatch-configs/{config_id}/test": needs("MANAGE_ACTIVITY_CONFIG"),
    "POST /api/dispatch-configs/{config_id}/rotate-callback-secret": needs("MANAGE_ACTIVITY_CONFIG"),
    "GET /api/webhook-endpoints": needs("MANAGE_ACTIVITY_CONFIG"),
    "POST /api/webhook-endpoints": needs("MANAGE_ACTIVITY_CONFIG"),
    "GET /api/webhook-endpoints/{endpoint_id}": needs("MANAGE_ACTIVITY_CONFIG"),
    "PATCH /api/webhook-endpoints/{endpoint_id}": needs("MANAGE_ACTIVITY_CONFIG"),
    "DELETE /api/webhook-endpoints/{endpoint_id}": needs("MANAGE_ACTIVITY_CONFIG"),
    "POST /api/webhook-endpoints/{endpoint_id}/rotate-secret": needs("MANAGE_ACTIVITY_CONFIG"),
    "POST /api/webhook-endpoints/{endpoint_id}/test": needs("MANAGE_ACTIVITY_CONFIG"),
    "GET /api/webhook-endpoints/{endpoint_id}/deliveries": needs("MANAGE_ACTIVITY_CONFIG"),
    "POST /api/webhook-deliveries/{delivery_id}/retry": needs("MANAGE_ACTIVITY_CONFIG"),
}
# fmt: on

# Which object a path parameter names: {param: kind}, or {param: {path prefix: kind}} where one name has two uses.
PATH_OBJECTS = {
    "activity_id": "activity",
    "target_user_id": "target_user",
    "attribute_id": "attribute",
    "config_id": {"/api/dispatch-configs/": "dispatch_config", "/api/dispatch-callbacks/": "dispatch_config",
                  "/api/activity-config/target-resolution/": "target_resolution_config"},
    "provider_id": "provider",
    "definition_id": "channel_definition",
    "commerce_id": "commerce",
    "user_id": {"/api/commerces/": "commerce_user", "/api/user/": "tenant_user"},
    "address_id": "address",
    "operator_id": "operator",
    "route_id": "route",
    "key_id": "api_key",
    "invitation_id": "invitation",
    "result_type_id": "task_result_type",
    "role": "commerce_user_role",
    "tenant_id": "tenant",
    "endpoint_id": "webhook_endpoint",
    "delivery_id": "webhook_delivery",
}
# Shared by every tenant: no "another tenant's" id exists. A tenant in the path is acted on by a super admin, who may
# act on any tenant (an API key only on its own: tenants/tests/test_tenants_api.py).
GLOBAL_KINDS = {"provider", "channel_definition", "tenant"}
VALUE_KINDS = {"commerce_user_role"}  # a value, not an object: the same in every tenant
ROLES = ("SUPER_ADMIN", "ADMIN", "FDE", "VIEWER")
EVERY_PERMISSION = tuple(p.value for p in Permission)
ANY_KEY_PERMISSION = "VIEW_ACTIVITIES"  # the one permission of the key that calls routes with no permission
ANONYMOUS = "no credentials"
PARAM = re.compile(r"\{(\w+)\}")
routed_operations = functools.cache(operations)  # this module changes no URLconf: walk it once


def object_kind(path, param):
    kind = PATH_OBJECTS.get(param)
    if isinstance(kind, dict):
        kind = next((k for prefix, k in kind.items() if path.startswith(prefix)), None)
    assert kind is not None, f"{path}: say in PATH_OBJECTS which object {{{param}}} names (and build one per tenant)"
    return kind


def tenant_owned_params(path):
    return [p for p in PARAM.findall(path) if object_kind(path, p) not in GLOBAL_KINDS | VALUE_KINDS]


# --- callers and what SPEC section 2 answers them ---------------------------------------------------------------


def key_only(permission):
    return f"API key with only {permission}"


def key_all_but(permission):
    return f"API key with every permission but {permission}"


def callers(rule):
    if rule.permission in (PUBLIC, AUTHENTICATED_ONLY):
        keys = [key_only(ANY_KEY_PERMISSION), "API key with every permission"]
    else:
        keys = [key_only(rule.permission), key_all_but(rule.permission)]
    return [*ROLES, *keys, ANONYMOUS]


def refusal(rule, caller):
    """None when SPEC section 2 lets `caller` through; else (status, message or None when any 403 will do)."""
    if rule.permission == PUBLIC:
        return None
    if caller == ANONYMOUS:
        return 401, None
    is_key = caller.startswith("API key")
    if rule.api_key_only and not is_key:
        return 401, None
    if rule.permission == AUTHENTICATED_ONLY:
        return (403, None) if is_key and rule.jwt_only else None
    if is_key:
        holds = caller == key_only(rule.permission)
    else:
        holds = caller in SPEC_TABLE[rule.permission]
    if not holds:
        return 403, f"Missing permission {rule.permission}"
    if rule.super_admin_only and caller != "SUPER_ADMIN":
        return 403, None
    if rule.jwt_only and is_key:
        return 403, None
    return None


def allowed_callers(rule):
    return [caller for caller in callers(rule) if refusal(rule, caller) is None and caller != ANONYMOUS]


# --- the data: two tenants with one object of each kind, built once per module --------------------------------


@dataclass
class World:
    home: object
    other: object
    objects: dict  # {tenant id: {kind: id}}
    headers: dict  # {caller: request headers}


def _tenant_objects(tenant, superuser):
    commerce = CommerceFactory(tenant=tenant)
    person = CommerceUserFactory(commerce=commerce, roles=["OWNER"])
    ContactFactory(commerce_user=person)
    address = AddressFactory(commerce=commerce)
    operator = OperatorFactory(tenant=tenant)
    route = RouteFactory(tenant=tenant)
    RouteOperatorFactory(route=route, operator=operator)
    mock = DispatchProvider.objects.get(code="MOCK")
    config = dispatch_factories.config(tenant, channel=Channel.SALESMAN, provider_obj=mock)
    activity = dispatch_factories.activity(tenant, type=ActivityType.TASK, channel=Channel.SALESMAN,
                                           commerce=commerce, person=person)
    attribute = ActivityAttribute.objects.create(
        activity=activity, attribute_key=AttributeKey.objects.get(key="commerce_info"),
        resolution_status=AttributeResolutionStatus.FAILED)
    viewer = member(tenant, "VIEWER")
    # A viewer's key: an ADMIN may revoke it (SPEC 11.6, a user they may manage), and so may a super admin.
    key, _ = api_key_create(tenant=tenant, creator=viewer, name="revoke me", permissions=["VIEW_ACTIVITIES"])
    # Someone else's invitation to this tenant: nobody calling here may answer it.
    invitation = Membership.objects.create(user=UserFactory(), tenant=tenant, status=MembershipStatus.INVITED)
    endpoint = webhook_factories.endpoint(tenant, url=webhook_factories.NOWHERE_URL)
    delivery = webhook_factories.delivery(endpoint, status=DeliveryStatus.FAILED)
    return {
        "commerce": commerce.pk, "commerce_user": person.pk, "address": address.pk, "operator": operator.pk,
        "route": route.pk, "dispatch_config": config.pk, "activity": activity.pk,
        "target_user": activity.target_users.get().pk, "attribute": attribute.pk,
        "target_resolution_config": TargetResolutionConfigFactory(tenant=tenant).pk,
        "tenant_user": viewer.pk, "api_key": key.pk, "commerce_user_role": "OWNER",
        "invitation": invitation.pk, "task_result_type": TaskResultTypeFactory(tenant=tenant).pk,
        "tenant": tenant.pk, "webhook_endpoint": endpoint.pk, "webhook_delivery": delivery.pk,
    }


def _bearer(user, tenant):
    return {"HTTP_AUTHORIZATION": f"Bearer {RefreshToken.for_user(user).access_token}",
            "HTTP_X_TENANT_ID": str(tenant.id)}


def _build_world():
    home, other = TenantFactory(), TenantFactory()
    superuser = member(home, user=UserFactory(is_superuser=True, is_staff=True))
    member(other, user=superuser)
    provider = dispatch_factories.provider(code="AUTHZ", channels=(Channel.SMS,))
    objects = {tenant.id: _tenant_objects(tenant, superuser) for tenant in (home, other)}
    for tenant_objects in objects.values():
        tenant_objects.update(provider=provider.pk, channel_definition=provider.channel_definitions.get().pk)
    headers = {"SUPER_ADMIN": _bearer(superuser, home), ANONYMOUS: {}}
    for role in ("ADMIN", "FDE", "VIEWER"):
        headers[role] = _bearer(member(home, role), home)

    def key_headers(permissions):
        _, plaintext = api_key_create(tenant=home, creator=superuser, name="caller", permissions=permissions)
        return {"HTTP_X_API_KEY": plaintext}

    for permission in EVERY_PERMISSION:
        headers[key_only(permission)] = key_headers([permission])
        headers[key_all_but(permission)] = key_headers([p for p in EVERY_PERMISSION if p != permission])
    headers["API key with every permission"] = key_headers(list(EVERY_PERMISSION))
    # Authentication refreshes last_used_at when it is older than a minute: in the future, it never is.
    ApiKey.objects.update(last_used_at=timezone.now() + timedelta(days=3650))
    return World(home=home, other=other, objects=objects, headers=headers)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once, inside a transaction rolled back after the module; each test rolls back its own changes."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield _build_world()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


# --- requests -----------------------------------------------------------------------------------------------------

WRITE_SQL = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|MERGE|TRUNCATE)\b", re.IGNORECASE)


def _cache_tables():
    return [c["LOCATION"] for c in settings.CACHES.values() if c["BACKEND"].endswith("DatabaseCache")]


@dataclass
class Answer:
    status: int
    body: object
    writes: list

    def __str__(self):
        return f"{self.status} {self.body}; writes: {self.writes or 'none'}"


def call(world, operation, caller, *, foreign=()):
    """Send `operation` as `caller`; path parameters named in `foreign` take the other tenant's object."""
    method, path = operation.split(" ", 1)
    rule = OPERATIONS[operation]

    def object_id(param):
        tenant = world.other if param in foreign else world.home
        return str(world.objects[tenant.id][object_kind(path, param)])

    url = PARAM.sub(lambda match: object_id(match.group(1)), path)
    home = world.objects[world.home.id]
    body = {name: str(home[value.kind]) if isinstance(value, Id) else value for name, value in rule.body.items()}
    client = APIClient()
    with CaptureQueriesContext(connection) as queries:
        response = client.generic(method, url, json.dumps(body) if method != "GET" else "",
                                  content_type="application/json", **world.headers[caller])
    cache_tables = _cache_tables()
    writes = [q["sql"][:120] for q in queries.captured_queries
              if WRITE_SQL.match(q["sql"]) and not any(table in q["sql"] for table in cache_tables)]
    content_type = response.get("Content-Type", "")
    parsed = response.json() if content_type.startswith("application/json") and response.content else None
    return Answer(response.status_code, parsed if parsed is not None else response.content[:200], writes)


# --- the table is the URLconf -------------------------------------------------------------------------------------


def test_every_route_of_the_urlconf_has_a_line_in_the_table():
    missing = sorted(set(operations()) - set(OPERATIONS))
    assert not missing, f"Operations with no line in OPERATIONS (write down who may call them): {missing}"


def test_every_line_of_the_table_has_a_route():
    stale = sorted(set(OPERATIONS) - set(operations()))
    assert not stale, f"Lines of OPERATIONS that match no route of the URLconf: {stale}"


def test_each_view_declares_the_permission_the_table_gives_it():
    found = operations()
    wrong = []
    for operation, rule in OPERATIONS.items():
        if operation not in found or rule.permission == PUBLIC:
            continue
        declared = declared_permission(found[operation].view(), operation.split(" ", 1)[0])
        if declared != rule.permission:
            wrong.append(f"{operation}: the view declares {declared!r}, the SPEC says {rule.permission!r}")
    assert not wrong, "\n".join(wrong)


def test_public_lines_of_the_table_are_the_public_routes():
    public = {operation.split(" ", 1)[1] for operation, rule in OPERATIONS.items() if rule.permission == PUBLIC}
    assert public == PUBLIC_ROUTES


# --- every operation x every caller -------------------------------------------------------------------------------

CASES = [pytest.param(operation, caller, id=f"{operation} as {caller}")
         for operation, rule in OPERATIONS.items() for caller in callers(rule)]


@pytest.mark.django_db
@pytest.mark.parametrize("operation, caller", CASES)
def test_caller_gets_what_spec_section_2_gives(operation, caller, world):
    if operation not in routed_operations():
        pytest.fail(f"{operation} is in OPERATIONS but no route of the URLconf serves it")
    rule = OPERATIONS[operation]
    answer = call(world, operation, caller)
    refused = refusal(rule, caller)
    if refused is None:
        # A public route may still answer 401 for the credentials it checks itself (a wrong password, no cookie).
        let_through = (403,) if rule.permission == PUBLIC else (401, 403)
        assert answer.status not in let_through, f"{operation} as {caller} must be let through, got {answer}"
        return
    status, message = refused
    assert answer.status == status, f"{operation} as {caller} must be refused with {status}, got {answer}"
    if message is not None:
        assert answer.body["message"] == message, f"{operation} as {caller} must be refused: {message}; got {answer}"
    assert answer.writes == [], f"{operation} as {caller} was refused but wrote: {answer.writes}"


# --- another tenant's ids -----------------------------------------------------------------------------------------


def _foreign_variants(path):
    owned = tenant_owned_params(path)
    if not owned:
        return []
    variants = [("another tenant's " + ", ".join(owned), tuple(owned))]
    if len(owned) > 1:  # the parent is ours, the child is not: the lookup must be scoped by tenant, not by parent
        variants.append((f"another tenant's {owned[-1]} only", (owned[-1],)))
    return variants


FOREIGN_CASES = [
    pytest.param(operation, caller, foreign, id=f"{operation} as {caller} with {label}")
    for operation, rule in OPERATIONS.items() if rule.permission != PUBLIC
    for label, foreign in _foreign_variants(operation.split(" ", 1)[1])
    for caller in allowed_callers(rule)
    if caller in ("SUPER_ADMIN", "ADMIN") or caller.startswith("API key with only")
]


@pytest.mark.django_db
@pytest.mark.parametrize("operation, caller, foreign", FOREIGN_CASES)
def test_another_tenants_object_is_not_found(operation, caller, foreign, world):
    answer = call(world, operation, caller, foreign=foreign)
    named = ", ".join(foreign)
    assert answer.status == 404, f"{operation} as {caller} with another tenant's {named} must be 404, got {answer}"
    assert answer.writes == [], f"{operation} as {caller} with another tenant's {named} wrote: {answer.writes}"


@pytest.mark.django_db
def test_the_write_detector_sees_a_write(world):
    # "Nothing written" above means something only if an allowed write is seen by the same capture.
    answer = call(world, "PATCH /api/activity-config/target-resolution/{config_id}", "ADMIN")
    assert answer.status == 200, answer
    assert any(sql.startswith("UPDATE") for sql in answer.writes), answer
