"""SPEC 11.6: a holder of MANAGE_API_KEYS and CREATE_USER sees every key of the tenant with its creator, and may
revoke a key of any user they may manage (a strictly lower role level), so a departing employee's keys can be cut."""
import pytest

from tenants.models import ApiKey, Membership, Role
from tenants.services import api_key_create
from tenants.tests.factories import member

pytestmark = pytest.mark.django_db

KEYS = "/api/api-keys"


def key_of(user, tenant, name="k"):
    return api_key_create(tenant=tenant, creator=user, name=name, permissions=["VIEW_ACTIVITIES"])


def demote(user, tenant, *role_names):
    membership = Membership.objects.get(user=user, tenant=tenant)
    membership.roles.set(Role.objects.filter(name__in=role_names))


@pytest.fixture
def departing(tenant):
    """A former ADMIN, now FDE, who created a key while they were ADMIN."""
    user = member(tenant, "ADMIN")
    key, _ = key_of(user, tenant, name="departing's ERP key")
    demote(user, tenant, "FDE")
    return user, key


def revoked(key):
    key.refresh_from_db()
    return key.revoked_at is not None and not key.is_active


class TestTenantScope:
    def test_lists_every_key_of_the_tenant_with_its_creator_newest_first(self, admin_api, admin_user, tenant,
                                                                        other_tenant, departing):
        user, theirs = departing
        mine, _ = key_of(admin_user, tenant, name="mine")
        key_of(member(other_tenant, "ADMIN"), other_tenant)
        response = admin_api.get(KEYS, {"scope": "tenant"})
        assert response.status_code == 200
        body = response.json()
        assert [k["id"] for k in body] == [str(mine.id), str(theirs.id)]
        assert body[1]["createdBy"] == {"id": str(user.id), "email": user.email}
        assert body[0]["createdBy"] == {"id": str(admin_user.id), "email": admin_user.email}
        assert theirs.key_hash not in response.content.decode()

    def test_the_default_scope_is_still_the_callers_own_keys(self, admin_api, admin_user, tenant, departing):
        mine, _ = key_of(admin_user, tenant, name="mine")
        body = admin_api.get(KEYS).json()
        assert [k["id"] for k in body] == [str(mine.id)]
        assert admin_api.get(KEYS, {"scope": "mine"}).json() == body

    def test_the_query_count_does_not_grow_with_the_keys(self, admin_api, tenant, query_count):
        for _ in range(5):
            key_of(member(tenant, "ADMIN"), tenant)
        with query_count() as few:
            assert len(admin_api.get(KEYS, {"scope": "tenant"}).json()) == 5
        for _ in range(5):
            key_of(member(tenant, "ADMIN"), tenant)
        with query_count() as many:
            assert len(admin_api.get(KEYS, {"scope": "tenant"}).json()) == 10
        assert len(many.captured_queries) == len(few.captured_queries)

    def test_an_unknown_scope_is_400(self, admin_api):
        response = admin_api.get(KEYS, {"scope": "all"})
        assert response.status_code == 400 and "scope" in response.json()["details"]

    def test_without_create_user_it_is_403(self, api_as, make_api_key, departing):
        plaintext = make_api_key(["MANAGE_API_KEYS"])  # the key holds MANAGE_API_KEYS but not CREATE_USER
        response = api_as(api_key=plaintext).get(KEYS, {"scope": "tenant"})
        assert response.status_code == 403 and "CREATE_USER" in response.json()["message"]
        assert api_as(api_key=plaintext).get(KEYS).status_code == 200


class TestRevokeByManager:
    def test_an_admin_cuts_a_lower_users_key(self, admin_api, departing):
        _user, key = departing
        response = admin_api.post(f"{KEYS}/{key.id}/revoke")
        assert response.status_code == 200
        assert revoked(key)

    def test_a_key_of_a_user_who_left_the_tenant_can_be_cut(self, admin_api, tenant, departing):
        user, key = departing
        Membership.objects.filter(user=user, tenant=tenant).delete()
        assert admin_api.post(f"{KEYS}/{key.id}/revoke").status_code == 200
        assert revoked(key)

    def test_a_key_of_an_equal_level_user_is_refused(self, admin_api, tenant):
        colleague = member(tenant, "ADMIN")
        key, _ = key_of(colleague, tenant)
        response = admin_api.post(f"{KEYS}/{key.id}/revoke")
        assert response.status_code == 403
        assert "lower role level" in response.json()["message"]
        assert not revoked(key)

    def test_a_key_of_a_higher_level_user_is_refused(self, admin_api, tenant, superuser):
        member(tenant, "ADMIN", user=superuser)
        key, _ = key_of(superuser, tenant)
        assert admin_api.post(f"{KEYS}/{key.id}/revoke").status_code == 403
        assert not revoked(key)

    def test_without_create_user_another_users_key_is_not_found(self, api_as, make_api_key, departing):
        _user, key = departing
        plaintext = make_api_key(["MANAGE_API_KEYS"])
        response = api_as(api_key=plaintext).post(f"{KEYS}/{key.id}/revoke")
        assert response.status_code == 404
        assert not revoked(key)

    def test_without_create_user_ones_own_key_is_still_revoked(self, api_as, make_api_key, admin_user, tenant):
        plaintext = make_api_key(["MANAGE_API_KEYS"])
        own, _ = key_of(admin_user, tenant)
        assert api_as(api_key=plaintext).post(f"{KEYS}/{own.id}/revoke").status_code == 200
        assert revoked(own)

    def test_another_tenants_key_is_404(self, admin_api, other_tenant):
        key, _ = key_of(member(other_tenant, "VIEWER"), other_tenant)
        assert admin_api.post(f"{KEYS}/{key.id}/revoke").status_code == 404
        assert not revoked(key)
        assert ApiKey.objects.filter(revoked_at__isnull=False).count() == 0
