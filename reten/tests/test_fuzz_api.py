"""Property-based conformance fuzzing of every documented operation (SPEC section 1).

Whatever the input, never a 500, and every response -- its status code, content type, headers and body -- is
one the schema documents: the schema is the contract, so an answer it does not describe is either a bug in the
view or an inaccuracy in the annotation, and both fail here.

The schema is generated in-process by drf-spectacular and loaded at module level (NOTES: schemathesis 4.x);
requests go straight to the WSGI app. Each operation runs once per caller: a super admin and a VIEWER (bearer
JWT + x-tenant-id), and an API key holding every permission (created by a super admin member of the tenant).

FUZZ_MAX_EXAMPLES sets the generated cases per operation and caller (default 25, what CI runs); a nightly-size
run is `FUZZ_MAX_EXAMPLES=500 .venv/bin/pytest reten/tests/test_fuzz_api.py`.
"""
import json
import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tenants.roles import Permission
from tenants.services import api_key_create
from tenants.tests.factories import TenantFactory, UserFactory, member


def load_schema(*, coverage):
    loaded = schemathesis.openapi.from_dict(
        json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    )
    loaded.config.phases.coverage.enabled = coverage
    loaded.app = get_wsgi_application()
    return loaded


# The coverage phase sends every boundary and negative case the schema defines (thousands of requests, however
# many examples are asked for); it runs once, as the caller who passes every permission check. The other callers
# get the examples and FUZZ_MAX_EXAMPLES generated cases of each operation.
schema = load_schema(coverage=True)
fuzzing_schema = load_schema(coverage=False)

CALLERS = {"test_every_response_conforms_to_the_schema": ["super_admin"],
           "test_every_response_conforms_to_the_schema_for_other_callers": ["viewer", "api_key"]}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
AUTH_HEADERS = {"authorization", "x-api-key", "x-tenant-id"}
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "25"))
# derandomize: the same examples every run, so CI is reproducible; raise FUZZ_MAX_EXAMPLES to hunt further.
FUZZ_SETTINGS = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                         suppress_health_check=list(HealthCheck))


def pytest_generate_tests(metafunc):
    """One item per operation and caller, with a stable id: `test_...[GET /api/activities][viewer]`."""
    if "caller" in metafunc.fixturenames:
        metafunc.parametrize("caller", CALLERS[metafunc.definition.originalname])


@pytest.fixture(autouse=True)
def keep_test_connection():
    """As Django's test client does: a request must not close the connection holding the test transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def auth_headers(db, caller):
    tenant = TenantFactory()
    if caller == "viewer":
        user = member(tenant, "VIEWER")
        return {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}", "x-tenant-id": str(tenant.id)}
    super_admin = member(tenant, user=UserFactory(is_superuser=True, is_staff=True))
    if caller == "api_key":
        _, plaintext = api_key_create(tenant=tenant, creator=super_admin, name="fuzz",
                                      permissions=[permission.value for permission in Permission])
        return {"x-api-key": plaintext}
    return {"Authorization": f"Bearer {RefreshToken.for_user(super_admin).access_token}",
            "x-tenant-id": str(tenant.id)}


def call_and_check(case, auth_headers):
    generated = {name: value for name, value in (case.headers or {}).items() if name.lower() not in AUTH_HEADERS}
    case.headers = {**generated, **auth_headers}
    case.call_and_validate(checks=CHECKS)


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_response_conforms_to_the_schema(case, caller, auth_headers):
    call_and_check(case, auth_headers)


@fuzzing_schema.parametrize()
@FUZZ_SETTINGS
def test_every_response_conforms_to_the_schema_for_other_callers(case, caller, auth_headers):
    call_and_check(case, auth_headers)
