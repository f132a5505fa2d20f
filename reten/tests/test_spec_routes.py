"""The routes of the URLconf are the routes the SPEC names, both ways.

SPEC_ROUTES is the SPEC's list of routes, written here so the test needs nothing outside the repository. Routes
the SPEC names that later issues build are in NOT_BUILT_YET, and must indeed have no view (building one means
deleting its line); routes built beyond the SPEC are in BEYOND_SPEC, with the reason, until the SPEC names them.
When the SPEC file itself is next to the repository (../shared/SPEC.md), its backticked `METHOD /path` routes
must all be in SPEC_ROUTES, so the list cannot drift from it.
"""
import itertools
import re
from pathlib import Path

from reten.tests.urlconf import operations

# One line per operation; path parameters as the URLconf names them where it has the route.
SPEC_ROUTES = [
    # 7. Back-office console: `/` redirects to it (the console itself is tested on its own)
    "GET /",
    # 1. Wire conventions
    "GET /api/schema/",
    "GET /api/docs/",
    # 2. Tenants, users, roles, authentication
    "POST /api/auth/login",
    "POST /api/auth/refresh",
    "POST /api/auth/logout",
    "GET /api/auth/me",
    "POST /api/auth/reset-my-password",
    "POST /api/auth/reset-user-password",
    "GET /api/auth/assignable-roles",
    "GET /api/tenant",
    "GET /api/tenant/mine",
    "POST /api/tenant/setup",
    "PATCH /api/tenant/{tenant_id}",
    "DELETE /api/tenant/{tenant_id}",
    "GET /api/user/tenant-users",
    "POST /api/user/tenant-users",
    "PUT /api/user/{user_id}/roles",
    "DELETE /api/user/{user_id}",
    "POST /api/api-keys",
    "GET /api/api-keys",  # also ?scope=tenant (11.6): a query parameter, the same route
    "POST /api/api-keys/{key_id}/revoke",
    # 3. Commerce directory
    "GET /api/commerces",
    "POST /api/commerces",
    "GET /api/commerces/{commerce_id}",
    "PATCH /api/commerces/{commerce_id}",
    "POST /api/commerces/sync",
    "POST /api/commerces/{commerce_id}/users",
    "PATCH /api/commerces/{commerce_id}/users/{user_id}",
    "POST /api/commerces/{commerce_id}/users/{user_id}/roles",
    "DELETE /api/commerces/{commerce_id}/users/{user_id}/roles/{role}",
    "POST /api/commerces/{commerce_id}/users/{user_id}/contacts",
    "POST /api/commerces/{commerce_id}/addresses",
    "PATCH /api/commerces/{commerce_id}/addresses/{address_id}",
    "GET /api/operators",
    "POST /api/operators",
    "GET /api/operators/{operator_id}",
    "PATCH /api/operators/{operator_id}",
    "POST /api/operators/sync",
    "GET /api/routes",
    "POST /api/routes",
    "GET /api/routes/{route_id}",
    "PATCH /api/routes/{route_id}",
    "POST /api/routes/{route_id}/operators",
    "DELETE /api/routes/{route_id}/operators/{operator_id}",
    # 4. Activities
    "POST /api/activities",
    "POST /api/activities/tasks",
    "POST /api/activities/bulk",
    "GET /api/activities",
    "GET /api/activities/{activity_id}",
    "PATCH /api/activities/{activity_id}/cancel",
    "PATCH /api/activities/{activity_id}/retry-resolution",
    "GET /api/activities/{activity_id}/target-users",
    "PATCH /api/activities/{activity_id}/target-users/{target_user_id}/resolve",
    "GET /api/activities/{activity_id}/attributes",
    "PATCH /api/activities/{activity_id}/attributes/{attribute_id}/resolve",
    "GET /api/activities/{activity_id}/status-events",
    "POST /api/activities/tasks/{activity_id}/dispatch",
    "GET /api/activity-config/target-resolution",
    "POST /api/activity-config/target-resolution",
    "PATCH /api/activity-config/target-resolution/{config_id}",
    "DELETE /api/activity-config/target-resolution/{config_id}",
    "GET /api/activity-config/attribute-keys",
    "GET /api/activity-config/attribute-policies",
    "POST /api/activity-config/attribute-policies",
    "GET /api/user-retention-statuses",
    "POST /api/user-retention-statuses",
    # 5. Dispatch
    "GET /api/dispatch-providers",
    "GET /api/dispatch-providers/{provider_id}/channel-definitions",
    "POST /api/dispatch-providers",
    "PATCH /api/dispatch-providers/{provider_id}",
    "POST /api/dispatch-providers/{provider_id}/channel-definitions",
    "PATCH /api/dispatch-providers/{provider_id}/channel-definitions/{definition_id}",
    "DELETE /api/dispatch-providers/{provider_id}/channel-definitions/{definition_id}",
    "GET /api/dispatch-configs",
    "POST /api/dispatch-configs",
    "GET /api/dispatch-configs/{config_id}",
    "PATCH /api/dispatch-configs/{config_id}",
    "DELETE /api/dispatch-configs/{config_id}",
    "POST /api/dispatch-configs/{config_id}/test",
    # 6. Results, delivery receipts, task result types, the integration task list
    "POST /api/activity-results/tasks",
    "POST /api/integration/activity-results/tasks",
    "GET /api/activity-results",
    "GET /api/activities/{activity_id}/results",
    "POST /api/integration/delivery-receipts",
    "POST /api/integration/delivery-receipts/batch",
    "POST /api/dispatch-callbacks/{config_id}",
    "POST /api/dispatch-configs/{config_id}/rotate-callback-secret",
    "GET /api/activities/{activity_id}/delivery-receipts",
    "GET /api/activity-config/task-result-types",
    "POST /api/activity-config/task-result-types",
    "PATCH /api/activity-config/task-result-types/{type_id}",
    "GET /api/integration/task-result-type-configs",
    "GET /api/integration/activities/tasks",
    # 9. Non-functional
    "GET /healthz",
    "GET /readyz",
    # 10. Security: invitations
    "GET /api/user/invitations",
    "POST /api/user/invitations/{invitation_id}/accept",
    "POST /api/user/invitations/{invitation_id}/decline",
    # 11. Operations
    "GET /api/activities/{activity_id}/dispatch-attempts",
    "PATCH /api/activities/{activity_id}/force-retry-dispatch",
    "POST /api/activities/bulk-cancel",
    "POST /api/activities/bulk-retry-resolution",
    "POST /api/activities/bulk-force-retry-dispatch",
    "GET /api/audit-log",
    # 12. Contact policy and templates
    "GET /api/activity-config/contact-windows",
    "POST /api/activity-config/contact-windows",
    "PATCH /api/activity-config/contact-windows/{window_id}",
    "DELETE /api/activity-config/contact-windows/{window_id}",
    "GET /api/activity-config/contact-caps",
    "POST /api/activity-config/contact-caps",
    "PATCH /api/activity-config/contact-caps/{cap_id}",
    "DELETE /api/activity-config/contact-caps/{cap_id}",
    "GET /api/activity-config/message-templates",
    "POST /api/activity-config/message-templates",
    "PATCH /api/activity-config/message-templates/{template_id}",
    "DELETE /api/activity-config/message-templates/{template_id}",
    "POST /api/activity-config/message-templates/{template_id}/preview",
    # 13. Webhooks to tenants
    "GET /api/webhook-endpoints",
    "POST /api/webhook-endpoints",
    "GET /api/webhook-endpoints/{endpoint_id}",
    "PATCH /api/webhook-endpoints/{endpoint_id}",
    "DELETE /api/webhook-endpoints/{endpoint_id}",
    "POST /api/webhook-endpoints/{endpoint_id}/test",
    "POST /api/webhook-endpoints/{endpoint_id}/rotate-secret",
    "GET /api/webhook-endpoints/{endpoint_id}/deliveries",
    "POST /api/webhook-deliveries/{delivery_id}/retry",
    # 14. Observability and reports
    "GET /metrics",
    "GET /api/reports/activities",
    "GET /api/reports/effectiveness",
]

# SPEC routes that later issues build. Each must have no view yet: building one means deleting its line here.
ISSUE_9 = "issue 9 (results, integration task list, task result types, attribute resolve)"
ISSUE_11 = "issue 11 (delivery receipts, callbacks, webhooks)"
ISSUE_12 = "issue 12 (attempts, force retry, bulk operations, audit log, reports, metrics)"
SPEC_12 = "SPEC 12, unscheduled"
NOT_BUILT_YET = {
    "GET /api/activity-config/contact-windows": SPEC_12,
    "POST /api/activity-config/contact-windows": SPEC_12,
    "PATCH /api/activity-config/contact-windows/{window_id}": SPEC_12,
    "DELETE /api/activity-config/contact-windows/{window_id}": SPEC_12,
    "GET /api/activity-config/contact-caps": SPEC_12,
    "POST /api/activity-config/contact-caps": SPEC_12,
    "PATCH /api/activity-config/contact-caps/{cap_id}": SPEC_12,
    "DELETE /api/activity-config/contact-caps/{cap_id}": SPEC_12,
    "GET /api/activity-config/message-templates": SPEC_12,
    "POST /api/activity-config/message-templates": SPEC_12,
    "PATCH /api/activity-config/message-templates/{template_id}": SPEC_12,
    "DELETE /api/activity-config/message-templates/{template_id}": SPEC_12,
    "POST /api/activity-config/message-templates/{template_id}/preview": SPEC_12,
}

# Routes the URLconf serves that the SPEC does not name, each with why it exists; to move into SPEC_ROUTES once
# the SPEC names them.
BEYOND_SPEC = {
    "GET /api/redoc/": "SPEC 7 asks for ReDoc served from local assets beside Swagger UI, without naming its path",
    "GET /api/activity-config/target-resolution/{config_id}":
        "reads the one config that PATCH and DELETE /api/activity-config/target-resolution/:id change",
    "GET /api/dispatch-providers/{provider_id}":
        "reads the one provider that PATCH /api/dispatch-providers/:id changes (its channel definitions included)",
}

_PARAMETER = re.compile(r"\{\w+\}|:\w+")


def shape(operation):
    """The operation with its path parameters unnamed: "PATCH /api/dispatch-configs/{}"."""
    return _PARAMETER.sub("{}", operation)


def _shapes(operations_):
    return {shape(operation): operation for operation in operations_}


def test_the_literal_lists_hold_each_route_once_and_agree():
    assert len(SPEC_ROUTES) == len(set(map(shape, SPEC_ROUTES))), "a route is listed twice in SPEC_ROUTES"
    spec = set(map(shape, SPEC_ROUTES))
    assert not {shape(r) for r in NOT_BUILT_YET} - spec, "every NOT_BUILT_YET route is a SPEC route"
    assert not {shape(r) for r in BEYOND_SPEC} & spec, "a BEYOND_SPEC route the SPEC names belongs in SPEC_ROUTES"


def test_every_spec_route_has_a_view():
    served = _shapes(operations())
    pending = {shape(route) for route in NOT_BUILT_YET}
    missing = [route for route in SPEC_ROUTES if shape(route) not in served and shape(route) not in pending]
    assert not missing, f"SPEC routes with no view (build them, or say in NOT_BUILT_YET which issue will): {missing}"


def test_every_view_is_a_spec_route():
    known = {shape(route) for route in [*SPEC_ROUTES, *BEYOND_SPEC]}
    unknown = [operation for operation in operations() if shape(operation) not in known]
    assert not unknown, f"Views the SPEC does not name (add them to SPEC_ROUTES, or to BEYOND_SPEC with why): {unknown}"


def test_routes_not_built_yet_have_no_view():
    served = _shapes(operations())
    built = {route: served[shape(route)] for route in NOT_BUILT_YET if shape(route) in served}
    assert not built, f"Built now, so delete their lines from NOT_BUILT_YET: {sorted(built)}"


def test_routes_beyond_the_spec_exist():
    served = _shapes(operations())
    gone = [route for route in BEYOND_SPEC if shape(route) not in served]
    assert not gone, f"BEYOND_SPEC routes with no view any more: {gone}"


# --- the SPEC file, when it is next to the repository -------------------------------------------------------------

REPOSITORY = Path(__file__).resolve().parents[2]
SPEC_FILE_CANDIDATES = (REPOSITORY.parent / "shared" / "SPEC.md", Path("/work/shared/SPEC.md"))
_METHODS = "GET|POST|PUT|PATCH|DELETE"
_BACKTICKED_ROUTE = re.compile(rf"`((?:{_METHODS})(?:\|(?:{_METHODS}))*) (/[^`\s]+)`")
_OPTIONAL = re.compile(r"\[([^\]]*)\]")


def spec_routes_in(text):
    """Every backticked `METHOD /path` of the text, expanded as the SPEC writes them: `GET|PATCH /a/:id` is both
    methods on one path; `POST|PATCH /a[/:id]` is POST /a and PATCH /a/:id (the methods in the order of the paths);
    `/a/:id/accept|decline` is two paths; a query string is not part of the route."""
    found = set()
    for methods, raw_path in _BACKTICKED_ROUTE.findall(text):
        methods = methods.split("|")
        raw_path = raw_path.split("?", 1)[0]
        if _OPTIONAL.search(raw_path) and len(methods) == 2:
            pairs = [(methods[0], _OPTIONAL.sub("", raw_path)), (methods[1], _OPTIONAL.sub(r"\1", raw_path))]
        else:
            paths = {_OPTIONAL.sub("", raw_path), _OPTIONAL.sub(r"\1", raw_path)}
            pairs = [(method, path) for method in methods for path in paths]
        for method, path in pairs:
            for chosen in itertools.product(*(segment.split("|") for segment in path.split("/"))):
                found.add(shape(f"{method} {'/'.join(chosen)}"))
    return found


def test_spec_routes_are_read_from_the_spec_notation():
    text = ("`GET|PATCH /api/commerces/:id`, `POST|PATCH /api/commerces/:id/addresses[/:aid]`, "
            "`POST /api/user/invitations/:id/accept|decline`, `GET /api/api-keys?scope=tenant`")
    assert spec_routes_in(text) == {
        "GET /api/commerces/{}", "PATCH /api/commerces/{}",
        "POST /api/commerces/{}/addresses", "PATCH /api/commerces/{}/addresses/{}",
        "POST /api/user/invitations/{}/accept", "POST /api/user/invitations/{}/decline",
        "GET /api/api-keys",
    }


def test_spec_routes_list_covers_every_route_the_spec_file_names():
    spec_file = next((candidate for candidate in SPEC_FILE_CANDIDATES if candidate.is_file()), None)
    if spec_file is None:
        print(f"No SPEC file at {', '.join(map(str, SPEC_FILE_CANDIDATES))}: SPEC_ROUTES is checked against the "
              "URLconf only (the repository carries the list; the file is the lead's copy of the SPEC).")
        return
    named = spec_routes_in(spec_file.read_text(encoding="utf-8"))
    assert "POST /api/auth/login" in named, f"{spec_file}: no route read; has the notation changed?"
    listed = set(map(shape, SPEC_ROUTES))
    missing = sorted(named - listed)
    assert not missing, f"{spec_file} names routes SPEC_ROUTES lacks (add them, and to NOT_BUILT_YET if unbuilt): " \
                        f"{missing}"
