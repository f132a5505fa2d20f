import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tenants.models import User
from tenants.tests.factories import UserFactory, member

pytestmark = pytest.mark.django_db

LOGIN = "/api/auth/login"


def login(client, identifier, password="password123"):
    return client.post(LOGIN, {"identifier": identifier, "password": password}, format="json")


def bearer(client, token, tenant=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if tenant is not None:
        headers["HTTP_X_TENANT_ID"] = str(tenant.id)
    client.credentials(**headers)
    return client


class TestLogin:
    def test_login_with_email_returns_token_user_and_refresh_cookie(self, admin_user):
        client = APIClient()
        response = login(client, admin_user.email.upper())
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"accessToken", "user"}
        assert body["user"] == {"id": str(admin_user.id), "email": admin_user.email,
                                "firstName": admin_user.first_name, "lastName": admin_user.last_name}
        cookie = response.cookies["refreshToken"]
        assert cookie["httponly"] is True
        assert int(cookie["max-age"]) == 7 * 24 * 3600
        assert cookie["path"] == settings.REFRESH_COOKIE_PATH
        assert cookie["samesite"] == "Lax"

    def test_login_with_username(self, tenant):
        user = member(tenant, "VIEWER", username="vicky")
        response = login(APIClient(), "vicky")
        assert response.status_code == 200
        assert response.json()["user"]["id"] == str(user.id)

    def test_wrong_password_is_401_with_envelope(self, admin_user):
        response = login(APIClient(), admin_user.email, "wrong-password")
        assert response.status_code == 401
        assert response.json() == {"statusCode": 401, "message": "Invalid email or password", "error": "Unauthorized"}
        assert "refreshToken" not in response.cookies

    def test_unknown_user_is_401(self, db):
        assert login(APIClient(), "nobody@example.com").status_code == 401

    def test_inactive_user_is_401(self, tenant):
        user = member(tenant, "ADMIN", is_active=False)
        assert login(APIClient(), user.email).status_code == 401

    def test_short_password_is_400_naming_the_field(self, admin_user):
        response = login(APIClient(), admin_user.email, "short")
        assert response.status_code == 400
        assert list(response.json()["details"]) == ["password"]

    def test_missing_fields_are_400(self, db):
        response = APIClient().post(LOGIN, {}, format="json")
        assert response.status_code == 400
        assert set(response.json()["details"]) == {"identifier", "password"}

    def test_access_token_opens_tenant_routes(self, admin_user, tenant):
        token = login(APIClient(), admin_user.email).json()["accessToken"]
        response = bearer(APIClient(), token, tenant).get("/api/user/tenant-users")
        assert response.status_code == 200

    def test_garbage_bearer_token_is_401(self, tenant):
        response = bearer(APIClient(), "not-a-jwt", tenant).get("/api/auth/me")
        assert response.status_code == 401
        assert response.json()["error"] == "Unauthorized"

    def test_repeated_attempts_are_throttled_with_429(self, admin_user, settings):
        settings.LOGIN_THROTTLE_RATE = "3/min"
        statuses = [login(APIClient(), admin_user.email, "wrong-password").status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 429]
        response = login(APIClient(), admin_user.email)
        assert response.status_code == 429
        assert response.json()["error"] == "Too Many Requests" and int(response["Retry-After"]) > 0
        assert "refreshToken" not in response.cookies


class TestRefreshAndLogout:
    def test_refresh_returns_new_access_token_and_rotates_cookie(self, admin_user):
        client = APIClient()
        old_cookie = login(client, admin_user.email).cookies["refreshToken"].value
        response = client.post("/api/auth/refresh")
        assert response.status_code == 200
        assert set(response.json()) == {"accessToken"}
        new_cookie = response.cookies["refreshToken"].value
        assert new_cookie and new_cookie != old_cookie
        # the rotated-out token is dead
        replay = APIClient()
        replay.cookies["refreshToken"] = old_cookie
        assert replay.post("/api/auth/refresh").status_code == 401

    def test_refresh_without_cookie_is_401(self, db):
        assert APIClient().post("/api/auth/refresh").status_code == 401

    def test_refresh_with_garbage_cookie_is_401(self, db):
        client = APIClient()
        client.cookies["refreshToken"] = "garbage"
        assert client.post("/api/auth/refresh").status_code == 401

    def test_refresh_for_deactivated_user_is_401(self, admin_user):
        client = APIClient()
        login(client, admin_user.email)
        User.objects.filter(pk=admin_user.pk).update(is_active=False)
        assert client.post("/api/auth/refresh").status_code == 401

    def test_logout_clears_cookie_and_revokes_refresh_token(self, admin_user):
        client = APIClient()
        cookie = login(client, admin_user.email).cookies["refreshToken"].value
        response = client.post("/api/auth/logout")
        assert response.status_code == 200
        assert response.json() == {"message": "Logged out successfully"}
        assert response.cookies["refreshToken"].value == ""
        replay = APIClient()
        replay.cookies["refreshToken"] = cookie
        assert replay.post("/api/auth/refresh").status_code == 401

    def test_logout_without_cookie_still_succeeds(self, db):
        assert APIClient().post("/api/auth/logout").status_code == 200


class TestMe:
    def test_me_without_tenant_lists_all_roles_and_tenants(self, tenant, other_tenant, api_as):
        user = member(tenant, "FDE")
        member(other_tenant, "VIEWER", user=user)
        body = api_as(user).get("/api/auth/me").json()
        assert body["roles"] == ["FDE", "VIEWER"]
        assert sorted(body["tenantIds"]) == sorted([str(tenant.id), str(other_tenant.id)])

    def test_me_in_a_tenant_gives_that_tenants_roles(self, tenant, other_tenant, api_as):
        user = member(tenant, "FDE")
        member(other_tenant, "VIEWER", user=user)
        assert api_as(user, other_tenant).get("/api/auth/me").json()["roles"] == ["VIEWER"]

    def test_super_admin_me(self, superuser, tenant, api_as):
        body = api_as(superuser).get("/api/auth/me").json()
        assert body["roles"] == ["SUPER_ADMIN"]
        assert str(tenant.id) in body["tenantIds"]

    def test_me_needs_authentication(self, db):
        response = APIClient().get("/api/auth/me")
        assert response.status_code == 401
        assert response["WWW-Authenticate"]


class TestResetMyPassword:
    URL = "/api/auth/reset-my-password"

    def test_changes_password_and_revokes_sessions(self, admin_user, api_as):
        client = APIClient()
        login(client, admin_user.email)
        response = api_as(admin_user).post(self.URL, {"current_password": "password123",
                                                      "new_password": "brand-new-pass"})
        assert (response.status_code, response.json()) == (200, {"message": "Password reset successfully"})
        assert login(APIClient(), admin_user.email, "brand-new-pass").status_code == 200
        assert login(APIClient(), admin_user.email, "password123").status_code == 401
        assert client.post("/api/auth/refresh").status_code == 401

    def test_wrong_current_password_is_400_and_changes_nothing(self, admin_user, api_as):
        response = api_as(admin_user).post(self.URL, {"current_password": "wrong-one",
                                                      "new_password": "brand-new-pass"})
        assert response.status_code == 400
        assert list(response.json()["details"]) == ["current_password"]
        assert login(APIClient(), admin_user.email).status_code == 200

    def test_short_new_password_is_400(self, admin_user, api_as):
        response = api_as(admin_user).post(self.URL, {"currentPassword": "password123", "newPassword": "short"})
        assert response.status_code == 400
        assert list(response.json()["details"]) == ["new_password"]


class TestResetUserPassword:
    URL = "/api/auth/reset-user-password"

    def test_admin_resets_a_lower_level_user(self, admin_api, tenant):
        target = member(tenant, "FDE")
        response = admin_api.post(self.URL, {"user_id": str(target.id), "new_password": "reset-pass-1"})
        assert response.status_code == 200
        assert login(APIClient(), target.email, "reset-pass-1").status_code == 200

    def test_admin_cannot_reset_another_admin(self, admin_api, tenant):
        target = member(tenant, "ADMIN")
        response = admin_api.post(self.URL, {"user_id": str(target.id), "new_password": "reset-pass-1"})
        assert response.status_code == 403
        assert login(APIClient(), target.email).status_code == 200

    def test_admin_cannot_reset_a_super_admin(self, admin_api, tenant, superuser):
        from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

        member(tenant, user=superuser)
        session = APIClient()
        assert login(session, superuser.email).status_code == 200
        assert OutstandingToken.objects.filter(user=superuser).count() == 1
        response = admin_api.post(self.URL, {"user_id": str(superuser.id), "new_password": "reset-pass-1"})
        assert response.status_code == 403
        assert response.json() == {"statusCode": 403, "error": "Forbidden",
                                   "message": "You may only manage users of a lower role level than yours"}
        superuser.refresh_from_db()
        assert superuser.check_password("password123")
        assert not superuser.check_password("reset-pass-1")
        assert not BlacklistedToken.objects.filter(token__user=superuser).exists()
        assert session.post("/api/auth/refresh").status_code == 200

    def test_fde_lacks_the_permission(self, fde_user, tenant, api_as):
        target = member(tenant, "VIEWER")
        response = api_as(fde_user, tenant).post(self.URL, {"user_id": str(target.id), "new_password": "x" * 10})
        assert response.status_code == 403

    def test_user_of_another_tenant_is_404(self, admin_api, other_tenant):
        stranger = member(other_tenant, "VIEWER")
        response = admin_api.post(self.URL, {"user_id": str(stranger.id), "new_password": "reset-pass-1"})
        assert response.status_code == 404
        assert login(APIClient(), stranger.email).status_code == 200


class TestAssignableRoles:
    URL = "/api/auth/assignable-roles"

    def test_admin_may_offer_fde_and_viewer(self, admin_api):
        body = admin_api.get(self.URL).json()
        assert body["currentUserLevel"] == 2
        assert [r["name"] for r in body["assignableRoles"]] == ["FDE", "VIEWER"]
        viewer = body["assignableRoles"][1]
        assert viewer["level"] == 4 and viewer["permissions"] == ["VIEW_ACTIVITIES"]
        assert set(viewer) == {"id", "name", "description", "permissions", "level"}

    def test_super_admin_may_offer_every_tenant_role(self, superuser, tenant, api_as):
        body = api_as(superuser, tenant).get(self.URL).json()
        assert body["currentUserLevel"] == 1
        assert [r["name"] for r in body["assignableRoles"]] == ["ADMIN", "FDE", "VIEWER"]

    def test_viewer_may_offer_nothing(self, viewer_user, tenant, api_as):
        assert api_as(viewer_user, tenant).get(self.URL).json() == {"assignableRoles": [], "currentUserLevel": 4}

    def test_needs_tenant_header(self, admin_user, api_as):
        response = api_as(admin_user).get(self.URL)
        assert response.status_code == 400
        assert list(response.json()["details"]) == ["x-tenant-id"]


def test_user_factory_password_is_usable(db):
    assert UserFactory().check_password("password123")
