import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tenants.models import ApiKey, Membership, Tenant, User
from tenants.tests.factories import member

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip().splitlines()


class TestSetupTenant:
    ARGS = ["setup_tenant", "--name", "Acme", "--slug", "acme", "--admin-email", "boss@acme.test",
            "--admin-password", "acme-pass-123", "--admin-first-name", "Bea"]

    def test_creates_tenant_and_admin_and_prints_id_last(self):
        lines = run(*self.ARGS)
        tenant = Tenant.objects.get(slug="acme")
        assert lines[-1] == str(tenant.id)
        user = User.objects.get(email="boss@acme.test")
        assert user.first_name == "Bea" and user.check_password("acme-pass-123")
        assert Membership.objects.get(user=user, tenant=tenant).role_names() == ["ADMIN"]

    def test_taken_slug_fails_with_one_line(self, tenant):
        args = list(self.ARGS)
        args[4] = tenant.slug
        with pytest.raises(CommandError, match="already exists"):
            run(*args)

    @pytest.mark.parametrize("flag, value", [("--slug", "not a slug"), ("--admin-email", "nope"),
                                             ("--admin-password", "short")])
    def test_bad_input_fails(self, flag, value):
        args = list(self.ARGS)
        args[args.index(flag) + 1] = value
        with pytest.raises(CommandError):
            run(*args)
        assert not Tenant.objects.filter(slug="acme").exists()


class TestCreateApiKey:
    def test_prints_the_key_last_and_stores_its_hash(self, tenant, admin_user):
        lines = run("create_api_key", "--tenant", tenant.slug, "--email", admin_user.email, "--name", "ERP",
                    "--permissions", "VIEW_ACTIVITIES,CREATE_ACTIVITY")
        assert re.fullmatch(r"rtn_sk_[0-9a-f]{56}", lines[-1])
        key = ApiKey.objects.get()
        assert key.key_hash == ApiKey.hash_key(lines[-1])
        assert key.permissions == ["CREATE_ACTIVITY", "VIEW_ACTIVITIES"]

    @pytest.mark.parametrize("override, message", [
        ({"--tenant": "nope"}, "Unknown tenant"),
        ({"--email": "nobody@example.com"}, "Unknown user"),
        ({"--permissions": "FLY"}, "unknown permission"),
        ({"--permissions": "CREATE_TENANT"}, "do not hold"),
        ({"--expires-at": "tomorrow"}, "ISO 8601"),
    ])
    def test_bad_input_fails_with_a_clear_message(self, tenant, admin_user, override, message):
        options = {"--tenant": tenant.slug, "--email": admin_user.email, "--name": "x",
                   "--permissions": "VIEW_ACTIVITIES", **override}
        args = [part for pair in options.items() for part in pair]
        with pytest.raises(CommandError, match=message):
            run("create_api_key", *args)
        assert ApiKey.objects.count() == 0


def test_command_errors_exit_non_zero_from_the_shell(tenant, capsys):
    from django.core.management import execute_from_command_line

    with pytest.raises(SystemExit) as exited:
        execute_from_command_line(["manage.py", "create_api_key", "--tenant", "nope", "--email", "x@example.com",
                                   "--name", "x", "--permissions", "VIEW_ACTIVITIES"])
    assert exited.value.code != 0
    assert capsys.readouterr().err.strip() == "CommandError: Unknown tenant slug 'nope'"


def test_seed_demo_is_idempotent_and_lets_each_role_log_in(client):
    run("seed_demo")
    counts = (Tenant.objects.count(), User.objects.count(), Membership.objects.count())
    run("seed_demo")
    assert (Tenant.objects.count(), User.objects.count(), Membership.objects.count()) == counts
    demo = Tenant.objects.get(slug="demo")
    for email, role in [("admin@reten.demo", "ADMIN"), ("fde@reten.demo", "FDE"), ("viewer@reten.demo", "VIEWER")]:
        assert Membership.objects.get(user__email=email, tenant=demo).role_names() == [role]
        response = client.post("/api/auth/login", {"identifier": email, "password": "reten-demo-2026"},
                               content_type="application/json")
        assert response.status_code == 200
    assert User.objects.get(email="superadmin@reten.demo").is_superuser


def test_createsuperuser_by_email_noinput(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "super-pass-123")
    call_command("createsuperuser", "--email", "root@example.com", "--noinput", stdout=StringIO())
    user = User.objects.get(email="root@example.com")
    assert user.is_superuser and user.is_staff and user.check_password("super-pass-123")


def test_super_admin_role_and_superuser_flag_are_one(tenant, api_as):
    user = member(tenant, "VIEWER")
    user.is_superuser = True
    user.save()
    assert api_as(user, tenant).get("/api/auth/me").json()["roles"] == ["SUPER_ADMIN", "VIEWER"]
