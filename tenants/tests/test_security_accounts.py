"""Reten issue 8, items 1-3 and 6, replayed exactly as the probe did them (two tenants, the real endpoints).

Each attack must now fail safely, and what must keep working still works (SPEC 10, "Accounts are global,
tenants are not", "Logins", "API keys").
"""
import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from tenants.models import ApiKey, Membership, MembershipStatus, User
from tenants.services import api_key_create
from tenants.tests.factories import UserFactory, member
from tenants.tests.hashers import CountingMD5PasswordHasher

pytestmark = pytest.mark.django_db

USERS = "/api/user/tenant-users"
RESET_USER = "/api/auth/reset-user-password"
INVITATIONS = "/api/user/invitations"
KEYS = "/api/api-keys"
LOGIN = "/api/auth/login"


def login(identifier, password="password123", client=None):
    return (client or APIClient()).post(LOGIN, {"identifier": identifier, "password": password}, format="json")


def key_client(plaintext):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=plaintext)
    return client


@pytest.fixture
def tenant_a(tenant):
    return tenant


@pytest.fixture
def tenant_b(other_tenant):
    return other_tenant


@pytest.fixture
def victim(tenant_a):
    """An ADMIN of tenant A, with a recognisable profile."""
    return member(tenant_a, "ADMIN", email="victim@a.example", first_name="Vera", last_name="Victim")


@pytest.fixture
def attacker(tenant_b):
    return member(tenant_b, "ADMIN", email="attacker@b.example")


@pytest.fixture
def attacker_api(attacker, tenant_b, api_as):
    return api_as(attacker, tenant_b)


def invite(api, user, roles=("VIEWER",)):
    return api.post(USERS, {"email": user.email, "roles": list(roles)})


class TestCrossTenantTakeover:
    """Item 1: B's ADMIN adds A's ADMIN by e-mail, resets their password, logs in as them, mints a key."""

    def test_the_replayed_attack_fails_at_every_step(self, attacker_api, victim, tenant_a, tenant_b):
        added = attacker_api.post(USERS, {"email": victim.email, "roles": ["VIEWER"]})
        assert added.status_code == 201
        invitation = Membership.objects.get(user=victim, tenant=tenant_b)
        assert invitation.status == MembershipStatus.INVITED
        # Nothing of the account leaves: no id, no names.
        assert added.json() == {"invitationId": str(invitation.id), "email": victim.email, "status": "INVITED",
                                "roles": ["VIEWER"]}
        assert str(victim.id) not in added.content.decode()
        assert "Vera" not in added.content.decode() and "Victim" not in added.content.decode()

        reset = attacker_api.post(RESET_USER, {"user_id": str(victim.id), "new_password": "attacker-chosen-1"})
        assert reset.status_code == 404
        victim.refresh_from_db()
        assert victim.check_password("password123")
        assert login(victim.email, "attacker-chosen-1").status_code == 401
        assert ApiKey.objects.count() == 0
        assert login(victim.email).status_code == 200

    def test_an_invited_user_is_no_member_of_the_inviting_tenant(self, attacker_api, victim, tenant_a, tenant_b,
                                                                 api_as):
        invite(attacker_api, victim)
        listed = [u["email"] for u in attacker_api.get(USERS).json()["data"]]
        assert victim.email not in listed
        assert attacker_api.put(f"/api/user/{victim.id}/roles", {"roles": ["FDE"]}).status_code == 404
        # The invitee cannot act in B either.
        assert api_as(victim, tenant_b).get("/api/activities").status_code == 403
        me = api_as(victim).get("/api/auth/me").json()
        assert me["tenantIds"] == [str(tenant_a.id)] and me["roles"] == ["ADMIN"]
        assert [t["id"] for t in api_as(victim).get("/api/tenant/mine").json()] == [str(tenant_a.id)]
        assert [t["id"] for t in api_as(victim).get("/api/tenant").json()] == [str(tenant_a.id)]
        assert Membership.objects.get(user=victim, tenant=tenant_b).role_names() == ["VIEWER"]

    def test_accepting_makes_the_membership_active(self, attacker_api, victim, tenant_a, tenant_b, api_as):
        invitation_id = invite(attacker_api, victim).json()["invitationId"]
        mine = api_as(victim).get(INVITATIONS)
        assert mine.status_code == 200
        [listed] = mine.json()
        assert listed["id"] == invitation_id and listed["status"] == "INVITED" and listed["roles"] == ["VIEWER"]
        assert listed["tenant"] == {"id": str(tenant_b.id), "name": tenant_b.name, "slug": tenant_b.slug}

        accepted = api_as(victim).post(f"{INVITATIONS}/{invitation_id}/accept")
        assert accepted.status_code == 200
        assert accepted.json()["status"] == "ACTIVE"
        assert Membership.objects.get(pk=invitation_id).status == MembershipStatus.ACTIVE
        assert api_as(victim).get(INVITATIONS).json() == []
        assert victim.email in [u["email"] for u in attacker_api.get(USERS).json()["data"]]
        assert api_as(victim, tenant_b).get("/api/auth/me").json()["roles"] == ["VIEWER"]
        assert sorted(api_as(victim).get("/api/auth/me").json()["tenantIds"]) == sorted(
            [str(tenant_a.id), str(tenant_b.id)])

    def test_after_joining_a_tenant_admin_still_cannot_change_their_credentials(self, attacker_api, victim,
                                                                                 tenant_b, api_as):
        invitation_id = invite(attacker_api, victim).json()["invitationId"]
        api_as(victim).post(f"{INVITATIONS}/{invitation_id}/accept")
        reset = attacker_api.post(RESET_USER, {"user_id": str(victim.id), "new_password": "attacker-chosen-1"})
        assert reset.status_code == 403
        assert "another tenant" in reset.json()["message"]
        victim.refresh_from_db()
        assert victim.check_password("password123")

    def test_a_super_admin_may_reset_a_user_of_several_tenants(self, attacker_api, victim, tenant_b, superuser,
                                                               api_as):
        invitation_id = invite(attacker_api, victim).json()["invitationId"]
        api_as(victim).post(f"{INVITATIONS}/{invitation_id}/accept")
        reset = api_as(superuser, tenant_b).post(RESET_USER, {"user_id": str(victim.id),
                                                              "new_password": "platform-reset-1"})
        assert reset.status_code == 200
        assert login(victim.email, "platform-reset-1").status_code == 200

    def test_the_service_refuses_too_not_only_the_view(self, victim, tenant_a, tenant_b, attacker):
        from reten import errors
        from tenants.services import tenant_user_reset_password

        member(tenant_b, "VIEWER", user=victim)  # however the membership came to be
        with pytest.raises(errors.PermissionDenied):
            tenant_user_reset_password(tenant=tenant_b, actor_user=attacker, user_id=victim.id,
                                       new_password="attacker-chosen-1")
        victim.refresh_from_db()
        assert victim.check_password("password123")

    def test_a_tenant_admin_still_resets_their_own_tenants_users(self, attacker_api, tenant_b):
        local = member(tenant_b, "FDE")
        reset = attacker_api.post(RESET_USER, {"user_id": str(local.id), "new_password": "local-reset-1"})
        assert reset.status_code == 200
        assert login(local.email, "local-reset-1").status_code == 200

    def test_declining_deletes_the_invitation_and_allows_a_new_one(self, attacker_api, victim, tenant_b, api_as):
        invitation_id = invite(attacker_api, victim).json()["invitationId"]
        declined = api_as(victim).post(f"{INVITATIONS}/{invitation_id}/decline")
        assert declined.status_code == 200
        assert declined.json() == {"message": "Invitation declined"}
        assert not Membership.objects.filter(user=victim, tenant=tenant_b).exists()
        assert api_as(victim).post(f"{INVITATIONS}/{invitation_id}/accept").status_code == 404
        assert invite(attacker_api, victim).status_code == 201

    def test_someone_elses_invitation_is_404(self, attacker_api, victim, attacker, tenant_a, api_as):
        invitation_id = invite(attacker_api, victim).json()["invitationId"]
        bystander = member(tenant_a, "VIEWER")
        for caller in (attacker, bystander):
            for action in ("accept", "decline"):
                assert api_as(caller).post(f"{INVITATIONS}/{invitation_id}/{action}").status_code == 404
            assert api_as(caller).get(INVITATIONS).json() == []
        assert Membership.objects.get(pk=invitation_id).status == MembershipStatus.INVITED

    def test_an_api_key_cannot_read_or_answer_the_invitations_of_its_creator(self, attacker_api, victim,
                                                                              tenant_a):
        invitation_id = invite(attacker_api, victim).json()["invitationId"]
        _key, plaintext = api_key_create(tenant=tenant_a, creator=victim, name="erp",
                                         permissions=["VIEW_ACTIVITIES"])
        assert key_client(plaintext).get(INVITATIONS).status_code == 403
        for action in ("accept", "decline"):
            assert key_client(plaintext).post(f"{INVITATIONS}/{invitation_id}/{action}").status_code == 403
        assert Membership.objects.get(pk=invitation_id).status == MembershipStatus.INVITED

    def test_inviting_twice_or_inviting_a_member_is_409(self, attacker_api, victim, tenant_b):
        assert invite(attacker_api, victim).status_code == 201
        again = invite(attacker_api, victim, roles=["FDE"])
        assert again.status_code == 409
        assert Membership.objects.get(user=victim, tenant=tenant_b).role_names() == ["VIEWER"]
        colleague = member(tenant_b, "VIEWER")
        assert invite(attacker_api, colleague, roles=["FDE"]).status_code == 409
        assert Membership.objects.get(user=colleague, tenant=tenant_b).role_names() == ["VIEWER"]

    def test_inviting_ignores_the_password_and_names_sent(self, attacker_api, victim):
        response = attacker_api.post(USERS, {"email": victim.email.upper(), "password": "attacker-chosen-1",
                                             "first_name": "Mallory", "username": "mallory", "roles": ["VIEWER"]})
        assert response.status_code == 201 and response.json()["status"] == "INVITED"
        victim.refresh_from_db()
        assert victim.check_password("password123")
        assert (victim.first_name, victim.username) == ("Vera", None)

    def test_a_new_email_still_creates_the_user_in_one_call(self, attacker_api, tenant_b):
        response = attacker_api.post(USERS, {"email": "fresh@b.example", "password": "fresh-pass-1",
                                             "first_name": "Fay", "roles": ["FDE"]})
        assert response.status_code == 201
        user = User.objects.get(email="fresh@b.example")
        assert response.json() == {"id": str(user.id), "email": "fresh@b.example", "firstName": "Fay",
                                   "lastName": "", "roles": ["FDE"]}
        assert Membership.objects.get(user=user, tenant=tenant_b).status == MembershipStatus.ACTIVE
        assert login("fresh@b.example", "fresh-pass-1").status_code == 200

    def test_an_invited_creator_key_holds_nothing(self, tenant_a, victim):
        _key, plaintext = api_key_create(tenant=tenant_a, creator=victim, name="erp", permissions=["VIEW_USERS"])
        assert key_client(plaintext).get(USERS).status_code == 200
        Membership.objects.filter(user=victim, tenant=tenant_a).update(status=MembershipStatus.INVITED)
        assert key_client(plaintext).get(USERS).status_code == 403

    def test_the_admin_user_list_does_not_show_invited_roles(self, client, superuser, attacker_api, victim,
                                                             tenant_a, tenant_b):
        invite(attacker_api, victim)
        client.force_login(superuser)
        page = client.get("/admin/tenants/user/", {"q": victim.email}).content.decode()
        assert f"{tenant_a.slug}: ADMIN" in page
        assert f"{tenant_b.slug}: VIEWER" not in page


class TestLoginSquatting:
    """Item 2: a tenant ADMIN creates a user whose username is another user's e-mail, locking them out."""

    def test_a_username_equal_to_someone_elses_email_is_refused(self, attacker_api, victim):
        response = attacker_api.post(USERS, {"email": "squatter@b.example", "password": "squatter-pass-1",
                                             "username": victim.email, "roles": ["VIEWER"]})
        assert response.status_code == 400
        assert list(response.json()["details"]) == ["username"]
        assert not User.objects.filter(email="squatter@b.example").exists()
        assert login(victim.email).json()["user"]["id"] == str(victim.id)

    @pytest.mark.parametrize("username", ["not@an-email", "@", "x@y"])
    def test_a_username_with_an_at_sign_is_refused(self, attacker_api, username):
        response = attacker_api.post(USERS, {"email": "new@b.example", "password": "long-enough-1",
                                             "username": username, "roles": ["VIEWER"]})
        assert response.status_code == 400
        assert list(response.json()["details"]) == ["username"]
        assert not User.objects.filter(email="new@b.example").exists()

    def test_a_username_without_at_sign_still_works(self, attacker_api):
        response = attacker_api.post(USERS, {"email": "new@b.example", "password": "long-enough-1",
                                             "username": "newbie", "roles": ["VIEWER"]})
        assert response.status_code == 201
        assert login("newbie", "long-enough-1").json()["user"]["email"] == "new@b.example"

    def test_a_taken_username_in_another_case_is_409(self, attacker_api, tenant_a):
        member(tenant_a, "VIEWER", username="vicky")
        response = attacker_api.post(USERS, {"email": "new@b.example", "password": "long-enough-1",
                                             "username": "Vicky", "roles": ["VIEWER"]})
        assert response.status_code == 409
        assert not User.objects.filter(email="new@b.example").exists()

    def test_an_existing_squat_cannot_shadow_the_email(self, victim, tenant_b):
        # A row written before the fix: its username is the victim's e-mail.
        squatter = member(tenant_b, "VIEWER", email="squatter@b.example", username=victim.email)
        squatter.set_password("squatter-pass-1")
        squatter.save()
        assert login(victim.email).json()["user"]["id"] == str(victim.id)
        # The e-mail names the victim, so the squatter's password does not open anything with it.
        assert login(victim.email, "squatter-pass-1").status_code == 401

    def test_the_model_refuses_such_usernames_too_for_the_admin(self, victim):
        other = UserFactory(email="someone@b.example")
        for bad in (victim.email, "has@sign"):
            other.username = bad
            with pytest.raises(ValidationError) as refused:
                other.full_clean()
            assert "username" in refused.value.message_dict


class TestApiKeyEscalation:
    """Item 3: a key holding only MANAGE_API_KEYS mints a key with CANCEL_ACTIVITY, CREATE_USER, ... and uses it."""

    @pytest.fixture
    def manage_keys_only(self, tenant_a, victim):
        _key, plaintext = api_key_create(tenant=tenant_a, creator=victim, name="key manager",
                                         permissions=["MANAGE_API_KEYS"])
        return plaintext

    def test_a_key_cannot_mint_a_stronger_key(self, manage_keys_only):
        response = key_client(manage_keys_only).post(KEYS, {"name": "escalated", "permissions": [
            "CANCEL_ACTIVITY", "CREATE_USER", "MANAGE_API_KEYS"]}, format="json")
        assert response.status_code == 403
        message = response.json()["message"]
        assert "CANCEL_ACTIVITY" in message and "CREATE_USER" in message
        assert "MANAGE_API_KEYS" not in message.split(":", 1)[1]
        assert ApiKey.objects.count() == 1

    def test_a_key_may_mint_what_it_holds_and_the_minted_key_is_no_stronger(self, manage_keys_only):
        response = key_client(manage_keys_only).post(KEYS, {"name": "same", "permissions": ["MANAGE_API_KEYS"]},
                                                     format="json")
        assert response.status_code == 201
        minted = response.json()["plaintextKey"]
        created = key_client(minted).post(USERS, {"email": "x@a.example", "password": "long-enough-1",
                                                  "roles": ["VIEWER"]}, format="json")
        assert created.status_code == 403
        assert not User.objects.filter(email="x@a.example").exists()

    def test_a_person_still_grants_what_they_hold(self, victim, tenant_a, api_as):
        response = api_as(victim, tenant_a).post(KEYS, {"name": "erp", "permissions": [
            "CANCEL_ACTIVITY", "CREATE_USER"]})
        assert response.status_code == 201

    def test_a_key_loses_what_its_creator_loses_through_the_api(self, victim, tenant_a, superuser, api_as):
        _key, plaintext = api_key_create(tenant=tenant_a, creator=victim, name="erp",
                                         permissions=["VIEW_USERS", "MANAGE_API_KEYS"])
        assert key_client(plaintext).get(USERS).status_code == 200
        demoted = api_as(superuser, tenant_a).put(f"/api/user/{victim.id}/roles", {"roles": ["VIEWER"]})
        assert demoted.status_code == 200
        assert key_client(plaintext).get(USERS).status_code == 403
        minted = key_client(plaintext).post(KEYS, {"name": "x", "permissions": ["VIEW_ACTIVITIES"]}, format="json")
        assert minted.status_code == 403
        assert ApiKey.objects.count() == 1


class TestTimingOracle:
    """Item 6: an unknown identifier answered in ~5 ms, a known one in ~250 ms. The hasher now runs either way."""

    @pytest.fixture
    def counting_hasher(self, settings):
        settings.PASSWORD_HASHERS = ["tenants.tests.hashers.CountingMD5PasswordHasher"]
        CountingMD5PasswordHasher.calls = 0

        def calls_during(attempt):
            CountingMD5PasswordHasher.calls = 0
            response = attempt()
            return response.status_code, CountingMD5PasswordHasher.calls

        return calls_during

    def test_unknown_and_known_identifiers_hash_once_each(self, counting_hasher, victim, tenant_a):
        member(tenant_a, "VIEWER", username="vicky")
        inactive = member(tenant_a, "VIEWER", is_active=False)
        assert counting_hasher(lambda: login(victim.email, "wrong-password")) == (401, 1)
        assert counting_hasher(lambda: login("nobody@nowhere.example", "wrong-password")) == (401, 1)
        assert counting_hasher(lambda: login("nobody", "wrong-password")) == (401, 1)
        assert counting_hasher(lambda: login("vicky", "wrong-password")) == (401, 1)
        assert counting_hasher(lambda: login(inactive.email)) == (401, 1)
        assert counting_hasher(lambda: login(victim.email)) == (200, 1)

    def test_the_admin_login_hashes_for_unknown_emails_too(self, counting_hasher, superuser, client):
        status, calls = counting_hasher(lambda: client.post("/admin/login/", {
            "username": "nobody@nowhere.example", "password": "wrong-password"}))
        assert (status, calls) == (200, 1)
