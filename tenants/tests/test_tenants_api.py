import pytest
from django.apps import apps
from rest_framework.test import APIClient

from tenants.models import Membership, Tenant, User
from tenants.tests.factories import member

pytestmark = pytest.mark.django_db

SETUP = "/api/tenant/setup"


def setup_body(**overrides):
    body = {"name": "Acme Stores", "slug": "acme", "admin_email": "boss@acme.test",
            "admin_password": "acme-pass-123", "admin_first_name": "Bea", "admin_last_name": "Boss"}
    body.update(overrides)
    return body


class TestSetup:
    def test_super_admin_creates_tenant_and_first_admin(self, superuser, api_as):
        response = api_as(superuser).post(SETUP, setup_body())
        assert response.status_code == 201
        tenant = Tenant.objects.get(slug="acme")
        assert response.json() == {"id": str(tenant.id), "name": "Acme Stores", "slug": "acme"}
        admin = User.objects.get(email="boss@acme.test")
        assert (admin.first_name, admin.last_name) == ("Bea", "Boss")
        assert Membership.objects.get(user=admin, tenant=tenant).role_names() == ["ADMIN"]
        login = APIClient().post("/api/auth/login", {"identifier": "boss@acme.test", "password": "acme-pass-123"},
                                 format="json")
        assert login.status_code == 200

    def test_no_dispatch_configs_are_created(self, superuser, api_as):
        api_as(superuser).post(SETUP, setup_body())
        DispatchConfig = apps.get_model("dispatch", "DispatchConfig")
        assert DispatchConfig.objects.count() == 0

    def test_existing_user_is_linked_not_recreated(self, superuser, api_as, tenant):
        existing = member(tenant, "VIEWER", email="boss@acme.test")
        response = api_as(superuser).post(SETUP, setup_body(admin_email="BOSS@acme.test", admin_password="other-pass"))
        assert response.status_code == 201
        assert User.objects.filter(email="boss@acme.test").count() == 1
        existing.refresh_from_db()
        assert existing.check_password("password123")  # linking never changes a password
        assert Membership.objects.get(user=existing, tenant__slug="acme").role_names() == ["ADMIN"]

    def test_taken_slug_is_409_and_creates_no_user(self, superuser, api_as, tenant):
        response = api_as(superuser).post(SETUP, setup_body(slug=tenant.slug))
        assert response.status_code == 409
        assert response.json()["error"] == "Conflict"
        assert not User.objects.filter(email="boss@acme.test").exists()

    def test_invalid_body_is_400_naming_fields(self, superuser, api_as):
        response = api_as(superuser).post(SETUP, setup_body(slug="not a slug", admin_email="nope",
                                                            admin_password="short"))
        assert response.status_code == 400
        assert set(response.json()["details"]) == {"slug", "admin_email", "admin_password"}
        assert not Tenant.objects.filter(name="Acme Stores").exists()

    @pytest.mark.parametrize("role", ["ADMIN", "FDE", "VIEWER"])
    def test_tenant_roles_cannot_create_tenants(self, tenant, api_as, role):
        user = member(tenant, role)
        assert api_as(user).post(SETUP, setup_body()).status_code == 403
        assert api_as(user, tenant).post(SETUP, setup_body()).status_code == 403
        assert not Tenant.objects.filter(slug="acme").exists()

    def test_anonymous_is_401(self, db):
        assert APIClient().post(SETUP, setup_body(), format="json").status_code == 401


class TestTenantLists:
    def test_mine_lists_memberships(self, tenant, other_tenant, api_as):
        user = member(tenant, "VIEWER")
        assert api_as(user).get("/api/tenant/mine").json() == [
            {"id": str(tenant.id), "name": tenant.name, "slug": tenant.slug}
        ]

    def test_mine_for_super_admin_is_every_active_tenant(self, superuser, tenant, other_tenant, api_as):
        other_tenant.is_active = False
        other_tenant.save()
        assert [t["id"] for t in api_as(superuser).get("/api/tenant/mine").json()] == [str(tenant.id)]

    def test_super_admin_lists_all_tenants(self, superuser, tenant, other_tenant, api_as):
        body = api_as(superuser).get("/api/tenant").json()
        assert {t["slug"] for t in body} == {tenant.slug, other_tenant.slug}
        assert set(body[0]) == {"id", "name", "slug", "createdAt"}

    def test_admin_sees_only_own_tenants(self, admin_user, tenant, other_tenant, api_as):
        assert [t["id"] for t in api_as(admin_user).get("/api/tenant").json()] == [str(tenant.id)]
        assert [t["id"] for t in api_as(admin_user, tenant).get("/api/tenant").json()] == [str(tenant.id)]

    @pytest.mark.parametrize("role", ["FDE", "VIEWER"])
    def test_other_roles_cannot_list_tenants(self, tenant, api_as, role):
        assert api_as(member(tenant, role)).get("/api/tenant").status_code == 403

    def test_foreign_tenant_header_is_403(self, admin_user, other_tenant, api_as):
        assert api_as(admin_user, other_tenant).get("/api/tenant").status_code == 403
