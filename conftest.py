"""Shared fixtures: tenants, users per role, and API clients that authenticate as they would."""
import os

import pytest
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from reten.background import shutdown_all
from tenants.services import api_key_create
from tenants.tests.factories import TenantFactory, UserFactory, member


def pytest_collection_modifyitems(config, items):
    """`postgres` tests (row locks, concurrency) run only where the database is PostgreSQL (CI runs both);
    `browser` tests only with RETEN_BROWSER_TESTS=1 (they need Debian's chromium; `.ci/run` installs it)."""
    from django.conf import settings

    left_out = set()
    if not settings.DATABASES["default"]["ENGINE"].endswith(".postgresql"):
        left_out.add("postgres")
    if os.environ.get("RETEN_BROWSER_TESTS") != "1":
        left_out.add("browser")
    deselected = [item for item in items if left_out & set(item.keywords)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not left_out & set(item.keywords)]


@pytest.fixture(scope="session", autouse=True)
def background_pools_stopped_before_the_test_database_is_dropped(django_db_setup):
    """The on-commit pools keep a thread's connection for a moment after its last job (reten.background); PostgreSQL
    refuses to drop a database anyone is still connected to."""
    yield
    shutdown_all(timeout=30)


class Api:
    """An APIClient bound to a user or an API key, and to a tenant, sending what a real client sends."""

    def __init__(self, *, user=None, tenant=None, api_key=None):
        self.client = APIClient()
        self.user = user
        self.tenant = tenant
        headers = {}
        if user is not None:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {RefreshToken.for_user(user).access_token}"
        if api_key is not None:
            headers["HTTP_X_API_KEY"] = api_key
        if tenant is not None:
            headers["HTTP_X_TENANT_ID"] = str(tenant.id)
        self.client.credentials(**headers)

    def __getattr__(self, method):
        call = getattr(self.client, method)

        def send(path, data=None, **kwargs):
            if method in ("post", "put", "patch", "delete") and "format" not in kwargs:
                kwargs["format"] = "json"
            return call(path, data, **kwargs)

        return send


@pytest.fixture
def tenant(db):
    return TenantFactory()


@pytest.fixture
def other_tenant(db):
    return TenantFactory()


@pytest.fixture
def superuser(db):
    return UserFactory(is_superuser=True, is_staff=True)


@pytest.fixture
def admin_user(tenant):
    return member(tenant, "ADMIN")


@pytest.fixture
def fde_user(tenant):
    return member(tenant, "FDE")


@pytest.fixture
def viewer_user(tenant):
    return member(tenant, "VIEWER")


@pytest.fixture
def api_as():
    """api_as(user, tenant) or api_as(api_key="rtn_sk_...") -> Api."""

    def build(user=None, tenant=None, *, api_key=None):
        return Api(user=user, tenant=tenant, api_key=api_key)

    return build


@pytest.fixture
def admin_api(admin_user, tenant):
    return Api(user=admin_user, tenant=tenant)


@pytest.fixture
def make_api_key(tenant, admin_user):
    def build(permissions, *, creator=None, key_tenant=None, **kwargs):
        key, plaintext = api_key_create(tenant=key_tenant or tenant, creator=creator or admin_user,
                                        name="test key", permissions=permissions, **kwargs)
        return plaintext

    return build


@pytest.fixture
def query_count():
    """Counts SQL queries in a block: `with query_count() as counted: ...; counted.count`."""
    from django.test.utils import CaptureQueriesContext

    def build():
        return CaptureQueriesContext(connection)

    return build
