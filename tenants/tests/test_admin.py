import pytest

from tenants.models import ApiKey
from tenants.tests.factories import member

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.mark.parametrize("url", ["/admin/tenants/tenant/", "/admin/tenants/user/", "/admin/tenants/apikey/",
                                 "/admin/tenants/membership/", "/admin/tenants/role/"])
def test_changelists_render(staff_client, admin_user, make_api_key, url):
    make_api_key(["VIEW_ACTIVITIES"])
    assert staff_client.get(url).status_code == 200


def test_user_list_shows_roles_per_tenant(staff_client, tenant):
    member(tenant, "FDE", email="shown@example.com")
    page = staff_client.get("/admin/tenants/user/").content.decode()
    assert f"{tenant.slug}: FDE" in page


def test_api_key_pages_never_show_the_secret_or_its_hash(staff_client, make_api_key):
    plaintext = make_api_key(["VIEW_ACTIVITIES"])
    key = ApiKey.objects.get()
    for url in ["/admin/tenants/apikey/", f"/admin/tenants/apikey/{key.id}/change/"]:
        page = staff_client.get(url).content.decode()
        assert plaintext not in page and key.key_hash not in page
        assert key.key_prefix in page


def test_revoke_action(staff_client, make_api_key):
    make_api_key(["VIEW_ACTIVITIES"])
    key = ApiKey.objects.get()
    response = staff_client.post("/admin/tenants/apikey/", {"action": "revoke_keys", "_selected_action": [key.id]},
                                 follow=True)
    assert "Revoked 1 key(s); skipped 0 already revoked." in response.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is not None and not key.is_active


def test_user_add_and_change_pages_render(staff_client, admin_user):
    assert staff_client.get("/admin/tenants/user/add/").status_code == 200
    assert staff_client.get(f"/admin/tenants/user/{admin_user.id}/change/").status_code == 200
