import pytest

from tenants.models import Membership, User
from tenants.tests.factories import member

pytestmark = pytest.mark.django_db

USERS = "/api/user/tenant-users"


def roles_url(user):
    return f"/api/user/{user.id}/roles"


class TestList:
    def test_lists_tenant_members_with_their_roles_paginated(self, admin_api, admin_user, tenant, other_tenant):
        fde = member(tenant, "FDE", email="b-fde@example.com")
        member(other_tenant, "ADMIN", email="stranger@example.com")
        response = admin_api.get(USERS, {"per_page": 1})
        assert response.status_code == 200
        body = response.json()
        assert body["meta"] == {"page": 1, "limit": 1, "total": 2, "totalPages": 2}
        emails = sorted([admin_user.email, fde.email])
        assert body["data"][0]["email"] == emails[0]
        second = admin_api.get(USERS, {"per_page": 1, "page": 2}).json()["data"]
        assert second[0]["email"] == emails[1]
        everyone = {u["email"]: u for u in admin_api.get(USERS).json()["data"]}
        assert everyone[fde.email] == {"id": str(fde.id), "email": fde.email, "firstName": fde.first_name,
                                       "lastName": fde.last_name, "roles": ["FDE"]}

    def test_search(self, admin_api, tenant):
        member(tenant, "VIEWER", email="zed@example.com", first_name="Zed")
        body = admin_api.get(USERS, {"search": "zed"}).json()
        assert [u["email"] for u in body["data"]] == ["zed@example.com"]

    def test_query_count_does_not_grow_with_page_size(self, admin_api, tenant, query_count):
        for _ in range(3):
            member(tenant, "VIEWER")
        with query_count() as few:
            admin_api.get(USERS, {"per_page": 2})
        for _ in range(10):
            member(tenant, "VIEWER")
        with query_count() as many:
            admin_api.get(USERS, {"per_page": 100})
        assert len(many) == len(few)

    def test_viewer_cannot_list(self, viewer_user, tenant, api_as):
        response = api_as(viewer_user, tenant).get(USERS)
        assert response.status_code == 403
        assert response.json() == {"statusCode": 403, "message": "Missing permission VIEW_USERS",
                                   "error": "Forbidden"}

    def test_fde_can_list(self, fde_user, tenant, api_as):
        assert api_as(fde_user, tenant).get(USERS).status_code == 200


class TestCreate:
    def test_creates_a_new_user_with_roles(self, admin_api, tenant):
        response = admin_api.post(USERS, {"email": "New@Example.com", "password": "new-user-pass",
                                          "first_name": "Nia", "roles": ["FDE"]})
        assert response.status_code == 201
        user = User.objects.get(email="new@example.com")
        assert response.json() == {"id": str(user.id), "email": "new@example.com", "firstName": "Nia",
                                   "lastName": "", "roles": ["FDE"]}
        assert user.check_password("new-user-pass")

    def test_an_existing_account_is_invited_without_touching_it(self, admin_api, tenant, other_tenant):
        existing = member(other_tenant, "ADMIN")
        response = admin_api.post(USERS, {"email": existing.email, "password": "ignored-pass", "roles": ["VIEWER"]})
        assert response.status_code == 201
        invitation = Membership.objects.get(user=existing, tenant=tenant)
        assert response.json() == {"invitationId": str(invitation.id), "email": existing.email,
                                   "status": "INVITED", "roles": ["VIEWER"]}
        existing.refresh_from_db()
        assert existing.check_password("password123")
        assert invitation.status == "INVITED" and invitation.role_names() == ["VIEWER"]
        assert existing.email not in [u["email"] for u in admin_api.get(USERS).json()["data"]]

    def test_new_user_needs_a_password(self, admin_api):
        response = admin_api.post(USERS, {"email": "nopass@example.com", "roles": ["VIEWER"]})
        assert response.status_code == 400
        assert response.json()["message"] == "password: required for a new user"
        assert list(response.json()["details"]) == ["password"]
        assert not User.objects.filter(email="nopass@example.com").exists()
        assert not Membership.objects.filter(user__email="nopass@example.com").exists()

    def test_already_a_member_is_409(self, admin_api, tenant):
        existing = member(tenant, "VIEWER")
        response = admin_api.post(USERS, {"email": existing.email, "roles": ["FDE"]})
        assert response.status_code == 409
        assert response.json() == {"statusCode": 409, "message": "This user is already a member of the tenant",
                                   "error": "Conflict"}
        assert Membership.objects.filter(user=existing).count() == 1
        assert Membership.objects.get(user=existing, tenant=tenant).role_names() == ["VIEWER"]

    def test_admin_cannot_create_an_admin(self, admin_api, tenant):
        members_before = Membership.objects.filter(tenant=tenant).count()
        response = admin_api.post(USERS, {"email": "x@example.com", "password": "long-enough", "roles": ["ADMIN"]})
        assert response.status_code == 403
        assert response.json()["message"] == "You may only assign roles below your own level (refused: ADMIN)"
        assert not User.objects.filter(email="x@example.com").exists()
        assert Membership.objects.filter(tenant=tenant).count() == members_before

    def test_super_admin_can_create_an_admin(self, superuser, tenant, api_as):
        response = api_as(superuser, tenant).post(USERS, {"email": "x@example.com", "password": "long-enough",
                                                          "roles": ["ADMIN"]})
        assert response.status_code == 201

    @pytest.mark.parametrize("roles", [[], ["SUPER_ADMIN"], ["BOSS"], "ADMIN"])
    def test_invalid_roles_are_400(self, admin_api, roles):
        response = admin_api.post(USERS, {"email": "x@example.com", "password": "long-enough", "roles": roles})
        assert response.status_code == 400
        assert response.json()["message"].startswith("Validation failed: roles")
        assert "roles" in next(iter(response.json()["details"]))
        assert not User.objects.filter(email="x@example.com").exists()

    def test_fde_cannot_create(self, fde_user, tenant, api_as):
        members_before = Membership.objects.filter(tenant=tenant).count()
        response = api_as(fde_user, tenant).post(USERS, {"email": "x@example.com", "password": "long-enough",
                                                         "roles": ["VIEWER"]})
        assert response.status_code == 403
        assert response.json()["message"] == "Missing permission CREATE_USER"
        assert not User.objects.filter(email="x@example.com").exists()
        assert Membership.objects.filter(tenant=tenant).count() == members_before


class TestRoles:
    def test_admin_changes_roles_of_a_lower_user(self, admin_api, tenant):
        target = member(tenant, "FDE")
        response = admin_api.put(roles_url(target), {"roles": ["VIEWER"]})
        assert response.status_code == 200
        assert response.json() == {"id": str(target.id), "roles": ["VIEWER"]}

    def test_admin_cannot_change_another_admin(self, admin_api, tenant):
        target = member(tenant, "ADMIN")
        response = admin_api.put(roles_url(target), {"roles": ["VIEWER"]})
        assert response.status_code == 403
        assert response.json()["message"] == "You may only manage users of a lower role level than yours"
        assert Membership.objects.get(user=target, tenant=tenant).role_names() == ["ADMIN"]

    def test_admin_cannot_promote_to_admin(self, admin_api, tenant):
        target = member(tenant, "FDE")
        response = admin_api.put(roles_url(target), {"roles": ["ADMIN"]})
        assert response.status_code == 403
        assert response.json()["message"] == "You may only assign roles below your own level (refused: ADMIN)"
        assert Membership.objects.get(user=target, tenant=tenant).role_names() == ["FDE"]

    def test_admin_cannot_change_own_roles(self, admin_api, admin_user, tenant):
        response = admin_api.put(roles_url(admin_user), {"roles": ["VIEWER"]})
        assert response.status_code == 403
        assert response.json()["message"] == "You may only manage users of a lower role level than yours"
        assert Membership.objects.get(user=admin_user, tenant=tenant).role_names() == ["ADMIN"]

    def test_user_of_another_tenant_is_404(self, admin_api, tenant, other_tenant):
        stranger = member(other_tenant, "VIEWER")
        response = admin_api.put(roles_url(stranger), {"roles": ["FDE"]})
        assert response.status_code == 404
        assert response.json() == {"statusCode": 404, "message": "User not found in this tenant",
                                   "error": "Not Found"}
        assert Membership.objects.get(user=stranger, tenant=other_tenant).role_names() == ["VIEWER"]
        assert not Membership.objects.filter(user=stranger, tenant=tenant).exists()

    def test_fde_lacks_update_user(self, fde_user, tenant, api_as):
        target = member(tenant, "VIEWER")
        response = api_as(fde_user, tenant).put(roles_url(target), {"roles": ["FDE"]})
        assert response.status_code == 403
        assert response.json()["message"] == "Missing permission UPDATE_USER"
        assert Membership.objects.get(user=target, tenant=tenant).role_names() == ["VIEWER"]
