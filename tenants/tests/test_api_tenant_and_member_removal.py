"""Issue 10: PATCH/DELETE /api/tenant/:id (super admin), DELETE /api/user/:id (DELETE_USER), API key creation as the
docs send it."""
import uuid

import pytest
from rest_framework.test import APIClient

from reten.api.renderers import format_datetime
from tenants.models import ApiKey, Membership, Tenant
from tenants.tests.factories import TenantFactory, member

pytestmark = pytest.mark.django_db


def tenant_url(tenant_id):
    return f"/api/tenant/{tenant_id}"


# --- PATCH /api/tenant/:id ----------------------------------------------------------------------------------------


def test_super_admin_renames_and_deactivates_a_tenant_it_is_not_in(api_as, superuser, tenant, other_tenant):
    response = api_as(superuser, tenant).patch(tenant_url(other_tenant.id), {"name": "Renamed", "is_active": False})

    other_tenant.refresh_from_db()
    assert response.status_code == 200, response.json()
    assert response.json() == {"id": str(other_tenant.id), "name": "Renamed", "slug": other_tenant.slug,
                               "isActive": False, "createdAt": format_datetime(other_tenant.created_at)}
    assert (other_tenant.name, other_tenant.is_active) == ("Renamed", False)
    reactivated = api_as(superuser).patch(tenant_url(other_tenant.id), {"is_active": True})
    assert (reactivated.status_code, reactivated.json()["isActive"]) == (200, True)


def test_patch_of_an_unknown_tenant_is_404(api_as, superuser, tenant):
    response = api_as(superuser).patch(tenant_url(uuid.uuid4()), {"name": "Ghost"})
    assert response.json() == {"statusCode": 404, "message": "Tenant not found", "error": "Not Found"}
    assert not Tenant.objects.filter(name="Ghost").exists()


@pytest.mark.parametrize(("body", "details"), [
    ({"name": ""}, {"name": ["This field may not be blank."]}),
    ({"name": "x" * 256}, {"name": ["Ensure this field has no more than 255 characters."]}),
    ({"is_active": "perhaps"}, {"is_active": ["Must be a valid boolean."]}),
])
def test_patch_refuses_bad_input(api_as, superuser, tenant, body, details):
    response = api_as(superuser).patch(tenant_url(tenant.id), body)
    assert (response.status_code, response.json()["details"]) == (400, details)
    tenant.refresh_from_db()
    assert tenant.is_active is True and tenant.name != ""


@pytest.mark.parametrize("role", ["ADMIN", "FDE", "VIEWER"])
def test_only_a_super_admin_changes_a_tenant(api_as, tenant, role):
    response = api_as(member(tenant, role), tenant).patch(tenant_url(tenant.id), {"name": "Mine now"})
    assert (response.status_code, response.json()["message"]) == (403, "Missing permission UPDATE_TENANT")
    assert Tenant.objects.get(pk=tenant.pk).name == tenant.name


def test_an_api_key_acts_only_on_its_own_tenant(api_as, make_api_key, superuser, tenant, other_tenant):
    member(tenant, user=superuser)
    key = make_api_key(["UPDATE_TENANT", "DELETE_TENANT"], creator=superuser)

    assert api_as(api_key=key).patch(tenant_url(other_tenant.id), {"name": "Taken"}).status_code == 404
    assert api_as(api_key=key).delete(tenant_url(other_tenant.id)).status_code == 404
    other_tenant.refresh_from_db()
    assert (other_tenant.name, other_tenant.is_active) != ("Taken", False)
    assert api_as(api_key=key).patch(tenant_url(tenant.id), {"name": "Own"}).json()["name"] == "Own"


# --- DELETE /api/tenant/:id ---------------------------------------------------------------------------------------


def test_deleting_a_tenant_deactivates_it_and_locks_out_its_members_and_keys(api_as, superuser, make_api_key,
                                                                           admin_user, tenant):
    key = make_api_key(["VIEW_ACTIVITIES"])
    assert api_as(admin_user, tenant).get("/api/activities").status_code == 200
    assert api_as(api_key=key).get("/api/activities").status_code == 200

    response = api_as(superuser).delete(tenant_url(tenant.id))

    assert (response.status_code, response.content) == (204, b"")
    tenant.refresh_from_db()
    assert tenant.is_active is False
    assert Tenant.objects.filter(pk=tenant.pk).exists()  # deactivated, not erased
    refused = api_as(admin_user, tenant).get("/api/activities")
    assert (refused.status_code, refused.json()["message"]) == (403, "You do not belong to this tenant")
    with_key = api_as(api_key=key).get("/api/activities")
    assert (with_key.status_code, with_key.json()["message"]) == (401, "Invalid, expired or revoked API key")
    assert api_as(admin_user).get("/api/tenant/mine").json() == []
    assert api_as(superuser).delete(tenant_url(tenant.id)).status_code == 204  # again: still inactive


def test_delete_of_an_unknown_tenant_is_404_and_needs_delete_tenant(api_as, superuser, admin_user, tenant):
    assert api_as(superuser).delete(tenant_url(uuid.uuid4())).status_code == 404
    response = api_as(admin_user, tenant).delete(tenant_url(tenant.id))
    assert (response.status_code, response.json()["message"]) == (403, "Missing permission DELETE_TENANT")
    assert Tenant.objects.get(pk=tenant.pk).is_active is True


# --- DELETE /api/user/:id -----------------------------------------------------------------------------------------


def user_url(user):
    return f"/api/user/{user.id}"


def test_removing_a_member_deletes_the_membership_and_revokes_its_keys_here_only(
        api_as, superuser, tenant, other_tenant, make_api_key):
    member(tenant, user=superuser)
    leaving = member(tenant, "ADMIN")
    member(other_tenant, "ADMIN", user=leaving)
    key_here = make_api_key(["VIEW_ACTIVITIES"], creator=leaving)
    key_elsewhere = make_api_key(["VIEW_ACTIVITIES"], creator=leaving, key_tenant=other_tenant)

    response = api_as(superuser, tenant).delete(user_url(leaving))

    assert (response.status_code, response.content) == (204, b"")
    assert not Membership.objects.filter(user=leaving, tenant=tenant).exists()
    assert Membership.objects.filter(user=leaving, tenant=other_tenant).exists()
    here = ApiKey.objects.get(tenant=tenant, created_by=leaving)
    assert (here.is_active, here.revoked_at is not None) == (False, True)
    assert ApiKey.objects.get(tenant=other_tenant, created_by=leaving).is_active is True
    assert api_as(api_key=key_here).get("/api/activities").status_code == 401
    assert api_as(api_key=key_elsewhere).get("/api/activities").status_code == 200
    assert api_as(leaving, tenant).get("/api/activities").status_code == 403
    again = api_as(superuser, tenant).delete(user_url(leaving))
    assert (again.status_code, again.json()["message"]) == (404, "User not found in this tenant")


def test_a_user_of_another_tenant_is_not_found(api_as, superuser, tenant, other_tenant):
    member(tenant, user=superuser)
    stranger = member(other_tenant, "VIEWER")
    assert api_as(superuser, tenant).delete(user_url(stranger)).status_code == 404
    assert Membership.objects.filter(user=stranger, tenant=other_tenant).exists()


def test_only_users_of_a_higher_level_number_and_never_yourself(api_as, superuser, tenant):
    member(tenant, user=superuser)
    peer = member(TenantFactory(), user=member(tenant, "VIEWER", is_superuser=True))
    yourself = api_as(superuser, tenant).delete(user_url(superuser))
    assert (yourself.status_code, yourself.json()["message"]) == (403, "You cannot remove yourself from the tenant")
    same_level = api_as(superuser, tenant).delete(user_url(peer))
    assert (same_level.status_code, same_level.json()["message"]) == (
        403, "You may only manage users of a lower role level than yours")
    assert Membership.objects.filter(tenant=tenant, user__in=[superuser, peer]).count() == 2


@pytest.mark.parametrize("role", ["ADMIN", "FDE", "VIEWER"])
def test_removing_a_member_needs_delete_user(api_as, tenant, role):
    target = member(tenant, "VIEWER")
    response = api_as(member(tenant, role), tenant).delete(user_url(target))
    assert (response.status_code, response.json()["message"]) == (403, "Missing permission DELETE_USER")
    assert Membership.objects.filter(user=target, tenant=tenant).exists()


def test_remove_with_a_malformed_id_is_400(api_as, superuser, tenant):
    member(tenant, user=superuser)
    response = api_as(superuser, tenant).delete("/api/user/not-a-uuid")
    assert response.status_code == 400
    assert Membership.objects.filter(tenant=tenant).count() == 1


# --- API keys as the docs create them -----------------------------------------------------------------------------


def test_api_key_permissions_in_any_case_and_the_created_body(admin_api, admin_user, tenant):
    response = admin_api.post("/api/api-keys", {"name": "ERP", "permissions": ["manage_commerces", "View_Activities"]})

    assert response.status_code == 201, response.json()
    body = response.json()
    key = ApiKey.objects.get()
    assert body == {
        "id": str(key.id), "name": "ERP", "keyPrefix": key.key_prefix,
        "permissions": ["MANAGE_COMMERCES", "VIEW_ACTIVITIES"], "expiresAt": None, "lastUsedAt": None,
        "revokedAt": None, "isActive": True, "createdAt": format_datetime(key.created_at),
        "userId": str(admin_user.id), "tenantId": str(tenant.id), "plaintextKey": body["key"], "key": body["key"]}
    assert ApiKey.hash_key(body["key"]) == key.key_hash
    assert key.permissions == ["MANAGE_COMMERCES", "VIEW_ACTIVITIES"]
    listed = admin_api.get("/api/api-keys").json()
    assert "key" not in listed[0] and "plaintextKey" not in listed[0]
    assert APIClient().get("/api/commerces", HTTP_X_API_KEY=body["key"]).status_code == 200


def test_an_unknown_permission_names_the_allowed_ones(admin_api):
    response = admin_api.post("/api/api-keys", {"name": "ERP", "permissions": ["manage_everything"]})
    assert response.status_code == 400
    message = response.json()["details"]["permissions.0"][0]
    assert message.startswith('"manage_everything" is not a valid choice; one of CREATE_USER, UPDATE_USER, ')
    assert message.endswith(", MANAGE_API_KEYS.")
    assert ApiKey.objects.count() == 0
