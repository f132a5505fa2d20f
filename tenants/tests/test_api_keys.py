import hashlib
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tenants.models import ApiKey, Membership
from tenants.tests.factories import member

pytestmark = pytest.mark.django_db

KEYS = "/api/api-keys"


def key_client(plaintext, tenant=None):
    client = APIClient()
    headers = {"HTTP_X_API_KEY": plaintext}
    if tenant is not None:
        headers["HTTP_X_TENANT_ID"] = str(tenant.id)
    client.credentials(**headers)
    return client


class TestCreate:
    def test_creates_key_returns_plaintext_once_and_stores_only_its_hash(self, admin_api, admin_user, tenant):
        response = admin_api.post(KEYS, {"name": "ERP", "permissions": ["VIEW_ACTIVITIES", "CREATE_ACTIVITY"]})
        assert response.status_code == 201
        body = response.json()
        plaintext = body["plaintextKey"]
        assert re.fullmatch(r"rtn_sk_[0-9a-f]{56}", plaintext)
        assert body["keyPrefix"] == plaintext[:15]
        assert set(body) == {"id", "name", "keyPrefix", "permissions", "expiresAt", "lastUsedAt", "revokedAt",
                             "isActive", "createdAt", "plaintextKey", "key", "userId", "tenantId"}
        assert (body["key"], body["userId"], body["tenantId"]) == (plaintext, str(admin_user.id), str(tenant.id))
        assert body["permissions"] == ["CREATE_ACTIVITY", "VIEW_ACTIVITIES"]
        key = ApiKey.objects.get(pk=body["id"])
        assert key.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
        stored = [str(v) for v in ApiKey.objects.filter(pk=key.pk).values_list(
            "name", "key_prefix", "key_hash", "permissions")[0]]
        assert all(plaintext not in value for value in stored)
        assert key.tenant == tenant and key.created_by == admin_user

    def test_list_is_newest_first_and_never_shows_the_secret(self, admin_api):
        first = admin_api.post(KEYS, {"name": "one", "permissions": ["VIEW_ACTIVITIES"]}).json()
        second = admin_api.post(KEYS, {"name": "two", "permissions": ["VIEW_ACTIVITIES"]}).json()
        response = admin_api.get(KEYS)
        assert [k["id"] for k in response.json()] == [second["id"], first["id"]]
        assert first["plaintextKey"] not in response.content.decode()
        assert "plaintextKey" not in response.json()[0]

    def test_list_shows_only_the_callers_keys_in_this_tenant(self, admin_api, tenant, other_tenant, make_api_key):
        colleague = member(tenant, "ADMIN")
        make_api_key(["VIEW_ACTIVITIES"], creator=colleague)
        assert admin_api.get(KEYS).json() == []

    def test_cannot_grant_a_permission_the_creator_lacks(self, admin_api):
        response = admin_api.post(KEYS, {"name": "too much", "permissions": ["VIEW_ACTIVITIES", "CREATE_TENANT"]})
        assert response.status_code == 403
        assert "CREATE_TENANT" in response.json()["message"]
        assert ApiKey.objects.count() == 0

    @pytest.mark.parametrize("body, field", [
        ({"name": "x", "permissions": []}, "permissions"),
        ({"name": "x", "permissions": ["FLY"]}, "permissions.0"),
        ({"name": "", "permissions": ["VIEW_ACTIVITIES"]}, "name"),
        ({"name": "x" * 256, "permissions": ["VIEW_ACTIVITIES"]}, "name"),
        ({"permissions": ["VIEW_ACTIVITIES"]}, "name"),
        ({"name": "x", "permissions": ["VIEW_ACTIVITIES"], "expires_at": "yesterday"}, "expires_at"),
    ])
    def test_invalid_bodies_are_400(self, admin_api, body, field):
        response = admin_api.post(KEYS, body)
        assert response.status_code == 400
        assert response.json()["error"] == "Bad Request"
        assert field in response.json()["details"]
        assert ApiKey.objects.count() == 0

    def test_expiry_in_the_past_is_400(self, admin_api):
        past = (timezone.now() - timedelta(hours=1)).isoformat()
        response = admin_api.post(KEYS, {"name": "x", "permissions": ["VIEW_ACTIVITIES"], "expires_at": past})
        assert response.status_code == 400
        assert response.json()["message"] == "expires_at: must be in the future"
        assert list(response.json()["details"]) == ["expires_at"]
        assert ApiKey.objects.count() == 0

    @pytest.mark.parametrize("role", ["FDE", "VIEWER"])
    def test_roles_without_manage_api_keys_get_403(self, tenant, api_as, role):
        response = api_as(member(tenant, role), tenant).post(KEYS, {"name": "x", "permissions": ["VIEW_ACTIVITIES"]})
        assert response.status_code == 403
        assert response.json() == {"statusCode": 403, "message": "Missing permission MANAGE_API_KEYS",
                                   "error": "Forbidden"}
        assert ApiKey.objects.count() == 0


class TestUse:
    def test_key_alone_opens_tenant_routes_and_records_last_use(self, tenant, make_api_key):
        plaintext = make_api_key(["VIEW_USERS"])
        response = key_client(plaintext).get("/api/user/tenant-users")
        assert response.status_code == 200
        assert ApiKey.objects.get().last_used_at is not None

    def test_key_is_limited_to_its_permissions(self, make_api_key):
        plaintext = make_api_key(["VIEW_ACTIVITIES"])
        response = key_client(plaintext).get("/api/user/tenant-users")
        assert response.status_code == 403
        assert response.json()["message"] == "Missing permission VIEW_USERS"
        assert "data" not in response.json()

    def test_matching_tenant_header_is_accepted(self, tenant, make_api_key):
        assert key_client(make_api_key(["VIEW_USERS"]), tenant).get("/api/user/tenant-users").status_code == 200

    def test_differing_tenant_header_is_403(self, other_tenant, make_api_key):
        response = key_client(make_api_key(["VIEW_USERS"]), other_tenant).get("/api/user/tenant-users")
        assert response.status_code == 403
        assert response.json()["error"] == "Forbidden"
        assert "data" not in response.json()

    def test_expired_key_is_401(self, make_api_key):
        plaintext = make_api_key(["VIEW_USERS"], expires_at=timezone.now() + timedelta(seconds=60))
        ApiKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        response = key_client(plaintext).get("/api/user/tenant-users")
        assert response.status_code == 401
        assert response.json() == {"statusCode": 401, "message": "Invalid, expired or revoked API key",
                                   "error": "Unauthorized"}
        assert ApiKey.objects.get().last_used_at is None

    def test_revoked_key_is_401(self, admin_api, make_api_key):
        plaintext = make_api_key(["VIEW_USERS"])
        key = ApiKey.objects.get()
        assert admin_api.post(f"{KEYS}/{key.id}/revoke").status_code == 200
        response = key_client(plaintext).get("/api/user/tenant-users")
        assert response.status_code == 401
        assert response.json()["message"] == "Invalid, expired or revoked API key"
        assert ApiKey.objects.get().last_used_at is None

    @pytest.mark.parametrize("header", ["rtn_sk_short", "sk_" + "a" * 56, "rtn_sk_" + "0" * 56])
    def test_malformed_or_unknown_key_is_401(self, db, header):
        response = key_client(header).get("/api/user/tenant-users")
        assert response.status_code == 401
        assert response.json()["error"] == "Unauthorized"
        assert "data" not in response.json()

    def test_key_loses_what_its_creator_loses(self, tenant, admin_user, make_api_key):
        plaintext = make_api_key(["VIEW_USERS"])
        membership = Membership.objects.get(user=admin_user, tenant=tenant)
        membership.roles.clear()
        response = key_client(plaintext).get("/api/user/tenant-users")
        assert response.status_code == 403
        assert response.json()["message"] == "Missing permission VIEW_USERS"
        assert ApiKey.objects.get().permissions == ["VIEW_USERS"]


class TestRevoke:
    def test_revoke_soft_deletes(self, admin_api, make_api_key):
        make_api_key(["VIEW_USERS"])
        key = ApiKey.objects.get()
        response = admin_api.post(f"{KEYS}/{key.id}/revoke")
        assert response.status_code == 200
        assert response.json() == {"message": "API key revoked successfully"}
        key.refresh_from_db()
        assert key.is_active is False and key.revoked_at is not None
        listed = admin_api.get(KEYS).json()[0]
        assert listed["isActive"] is False and listed["revokedAt"].endswith("Z")

    def test_revoking_twice_is_400(self, admin_api, make_api_key):
        make_api_key(["VIEW_USERS"])
        key = ApiKey.objects.get()
        admin_api.post(f"{KEYS}/{key.id}/revoke")
        revoked_at = ApiKey.objects.get().revoked_at
        response = admin_api.post(f"{KEYS}/{key.id}/revoke")
        assert response.status_code == 400
        assert response.json() == {"statusCode": 400, "message": "This API key is already revoked",
                                   "error": "Bad Request"}
        assert ApiKey.objects.get().revoked_at == revoked_at
        assert ApiKey.objects.get().is_active is False

    def test_key_of_another_tenant_is_404(self, admin_api, admin_user, other_tenant, make_api_key):
        member(other_tenant, "ADMIN", user=admin_user)
        make_api_key(["VIEW_USERS"], key_tenant=other_tenant)
        key = ApiKey.objects.get()
        response = admin_api.post(f"{KEYS}/{key.id}/revoke")
        assert response.status_code == 404
        assert response.json()["error"] == "Not Found"
        key.refresh_from_db()
        assert key.is_active is True and key.revoked_at is None

    def test_unknown_key_is_404(self, admin_api, make_api_key):
        make_api_key(["VIEW_USERS"])
        response = admin_api.post(f"{KEYS}/00000000-0000-0000-0000-000000000000/revoke")
        assert response.status_code == 404
        assert response.json()["error"] == "Not Found"
        assert ApiKey.objects.get().revoked_at is None
