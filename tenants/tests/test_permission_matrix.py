"""SPEC section 2's permission table, walked for every role: the code and the probe view (the real endpoints
are walked by reten/tests/test_authorization_matrix.py, which reads SPEC_TABLE from here)."""
import pytest

from tenants.roles import ROLE_PERMISSIONS, Permission, RoleName
from tenants.tests.factories import member

# The table exactly as SPEC section 2 writes it: permission -> roles that hold it.
SA, AD, FD, VW = "SUPER_ADMIN", "ADMIN", "FDE", "VIEWER"
SPEC_TABLE = {
    "CREATE_USER": {SA, AD}, "UPDATE_USER": {SA, AD}, "RESET_USER_PASSWORD": {SA, AD},
    "VIEW_USERS": {SA, AD, FD},
    "DELETE_USER": {SA}, "CREATE_TENANT": {SA}, "UPDATE_TENANT": {SA}, "DELETE_TENANT": {SA},
    "VIEW_TENANTS": {SA, AD},
    "MANAGE_COMMERCES": {SA, AD, FD}, "MANAGE_OPERATORS": {SA, AD, FD}, "MANAGE_ROUTES": {SA, AD, FD},
    "SYNC_COMMERCES": {SA, AD}, "SYNC_OPERATORS": {SA, AD},
    "VIEW_ACTIVITIES": {SA, AD, FD, VW},
    "CREATE_ACTIVITY": {SA, AD, FD},
    "CANCEL_ACTIVITY": {SA, AD}, "DISPATCH_ACTIVITY": {SA, AD}, "MANAGE_ACTIVITY_CONFIG": {SA, AD},
    "SUBMIT_ACTIVITY_RESULT": {SA, AD}, "MANAGE_API_KEYS": {SA, AD},
}
CASES = [(role, permission) for permission in SPEC_TABLE for role in (SA, AD, FD, VW)]


def test_code_matches_the_spec_table():
    assert set(SPEC_TABLE) == {p.value for p in Permission}
    for role in RoleName:
        held = {p for p, roles in SPEC_TABLE.items() if role.value in roles}
        assert {p.value for p in ROLE_PERMISSIONS[role]} == held, role


@pytest.fixture
def user_with_role(tenant, superuser):
    def build(role):
        return superuser if role == SA else member(tenant, role)

    return build


@pytest.mark.urls("tenants.tests.probe_urls")
@pytest.mark.parametrize("role, permission", CASES)
def test_probe_answers_per_the_table(role, permission, tenant, api_as, user_with_role):
    response = api_as(user_with_role(role), tenant).get(f"/probe/{permission}")
    expected = 200 if role in SPEC_TABLE[permission] else 403
    assert response.status_code == expected, (role, permission, response.content)


@pytest.mark.urls("tenants.tests.probe_urls")
@pytest.mark.parametrize("permission", list(SPEC_TABLE))
def test_api_key_holds_exactly_what_it_lists(permission, tenant, superuser, make_api_key, api_as):
    member(tenant, user=superuser)
    plaintext = make_api_key(["VIEW_ACTIVITIES"], creator=superuser)
    expected = 200 if permission == "VIEW_ACTIVITIES" else 403
    assert api_as(api_key=plaintext).get(f"/probe/{permission}").status_code == expected


@pytest.mark.urls("tenants.tests.probe_urls")
def test_member_of_another_tenant_is_403(tenant, other_tenant, api_as):
    stranger = member(other_tenant, "ADMIN")
    assert api_as(stranger, tenant).get("/probe/VIEW_ACTIVITIES").status_code == 403


@pytest.mark.urls("tenants.tests.probe_urls")
def test_inactive_tenant_is_403_even_for_members(tenant, admin_user, api_as):
    tenant.is_active = False
    tenant.save()
    assert api_as(admin_user, tenant).get("/probe/VIEW_ACTIVITIES").status_code == 403


# Every real endpoint of every app, for every role and API key: reten/tests/test_authorization_matrix.py.
