"""SPEC 11.5: every create, change and delete of configuration is recorded with actor and field changes
(django-auditlog), secrets never reach an entry, and GET /api/audit-log shows a tenant only its own objects."""
import json
from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from activities.models import AttributeKey, AttributePolicy, TargetResolutionConfig, TaskResultType
from dispatch.models import ChannelDefinition, DispatchConfig, DispatchProvider
from dispatch.tests import factories
from tenants.models import ApiKey, Membership, MembershipStatus, Role
from tenants.tests.factories import UserFactory, member

pytestmark = pytest.mark.django_db

AUDIT = "/api/audit-log"
CONFIGS = "/api/dispatch-configs"
SECRET = "sk_live_audit_plaintext_4242"


def entries_of(obj):
    return list(LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(type(obj)),
                                        object_pk=str(obj.pk)).order_by("timestamp", "id"))


def actions_of(obj):
    return [entry.action for entry in entries_of(obj)]


C, U, D = LogEntry.Action.CREATE, LogEntry.Action.UPDATE, LogEntry.Action.DELETE


def _api_key(tenant, user):
    from tenants.services import api_key_create
    return api_key_create(tenant=tenant, creator=user, name="k", permissions=["VIEW_ACTIVITIES"])[0]


# (object_type, create(tenant, user) -> obj, change(obj), the changed field)
AUDITED = [
    ("dispatch_config", lambda t, u: factories.config(t, channel="SMS"),
     lambda o: setattr(o, "base_url", "http://127.0.0.1:10"), "base_url"),
    ("api_key", _api_key, lambda o: setattr(o, "name", "renamed"), "name"),
    ("membership", lambda t, u: Membership.objects.create(user=UserFactory(), tenant=t),
     lambda o: setattr(o, "status", MembershipStatus.INVITED), "status"),
    ("target_resolution_config", lambda t, u: TargetResolutionConfig.objects.create(tenant=t, priority=7),
     lambda o: setattr(o, "priority", 8), "priority"),
    ("attribute_policy", lambda t, u: AttributePolicy.objects.create(
        tenant=t, attribute_key=AttributeKey.objects.create(key="audit_key", label="Audit key")),
     lambda o: setattr(o, "strategy", "LAZY"), "strategy"),
    ("task_result_type", lambda t, u: TaskResultType.objects.create(tenant=t, code="VISITED", label="Visited"),
     lambda o: setattr(o, "label", "Visited!"), "label"),
    ("provider", lambda t, u: DispatchProvider.objects.create(code="AUDITP", name="P", protocol_type="REST"),
     lambda o: setattr(o, "name", "P2"), "name"),
    ("channel_definition", lambda t, u: ChannelDefinition.objects.create(
        provider=DispatchProvider.objects.create(code="AUDITQ", name="Q", protocol_type="REST"), channel="SMS"),
     lambda o: setattr(o, "settings_schema", [{"key": "from"}]), "settings_schema"),
    ("role", lambda t, u: Role.objects.get(name="VIEWER"),
     lambda o: setattr(o, "description", "read only"), "description"),
]


@pytest.mark.parametrize("object_type, create, change, field", AUDITED, ids=[a[0] for a in AUDITED])
def test_create_change_and_delete_of_each_audited_model_are_recorded(tenant, admin_user, object_type, create,
                                                                   change, field):
    obj = create(tenant, admin_user)
    before = actions_of(obj)
    change(obj)
    obj.save()
    changed = entries_of(obj)[-1]
    assert changed.action == U and field in changed.changes_dict
    pk = obj.pk
    if isinstance(obj, Role):
        Membership.objects.filter(roles=obj).delete()
    if isinstance(obj, DispatchProvider):
        obj.configs.all().delete()
    obj.delete()
    obj.pk = pk
    assert actions_of(obj) == [*before, U, D]
    if object_type != "role":  # roles are seeded by a migration (no create entry in this test)
        assert before == [C]


def test_membership_roles_and_invitations_are_recorded(admin_api, tenant, admin_user):
    invited = UserFactory()
    membership = Membership.objects.create(user=invited, tenant=tenant, status=MembershipStatus.INVITED,
                                           invited_by=admin_user)
    membership.roles.set(Role.objects.filter(name="VIEWER"))
    created, roles_added = entries_of(membership)
    assert created.action == C and created.changes_dict["status"] == ["None", "INVITED"]
    assert roles_added.changes_dict["roles"] == {"type": "m2m", "operation": "add", "objects": ["VIEWER"]}


def test_a_dispatch_config_entry_holds_credential_key_names_but_never_the_secret_or_its_ciphertext(
        admin_api, admin_user, tenant):
    provider = DispatchProvider.objects.get(code="YOM")
    created = admin_api.post(CONFIGS, {"dispatch_provider_id": str(provider.id), "channel": "SALESMAN",
                                       "base_url": "https://api.yom.example", "credentials": {"apiKey": SECRET}})
    assert created.status_code == 201
    config_id = created.json()["id"]
    ciphertext = DispatchConfig.objects.get(pk=config_id).credentials_encrypted
    patched = admin_api.patch(f"{CONFIGS}/{config_id}", {"credentials": {"apiKey": SECRET + "2"}})
    assert patched.status_code == 200, patched.json()
    new_ciphertext = DispatchConfig.objects.get(pk=config_id).credentials_encrypted
    assert admin_api.delete(f"{CONFIGS}/{config_id}").status_code in (200, 204)

    config = DispatchConfig(pk=config_id)
    stored = entries_of(config)
    assert [e.action for e in stored] == [C, U, U]  # DELETE deactivates the config (SPEC 5.2)
    assert stored[2].changes_dict == {"is_active": ["True", "False"]}
    assert stored[0].changes_dict["credential_keys"] == ["None", '["apiKey"]']
    assert stored[0].changes_dict["credentials_encrypted"] == ["", "[redacted]"]
    # A rotation keeps the same key names: it is on record, without a byte of either secret.
    assert stored[1].changes_dict == {"credentials_encrypted": ["[redacted]", "[redacted]"]}
    assert all(e.actor == admin_user for e in stored)
    everything = json.dumps([LogEntry.objects.filter(pk=e.pk).values().first() for e in stored], default=str)
    for secret in (SECRET, SECRET + "2", ciphertext, new_ciphertext, *ciphertext.split(":")[1:],
                   *new_ciphertext.split(":")[1:]):
        assert secret not in everything


def test_an_api_key_entry_never_holds_its_hash(admin_api, admin_user):
    created = admin_api.post("/api/api-keys", {"name": "ERP", "permissions": ["VIEW_ACTIVITIES"]}).json()
    key = ApiKey.objects.get(pk=created["id"])
    assert admin_api.post(f"/api/api-keys/{key.id}/revoke").status_code == 200
    stored = entries_of(key)
    assert [e.action for e in stored] == [C, U]
    assert stored[1].changes_dict["is_active"] == ["True", "False"]
    everything = json.dumps([LogEntry.objects.filter(pk=e.pk).values().first() for e in stored], default=str)
    assert key.key_hash not in everything and created["plaintextKey"] not in everything
    assert "key_hash" not in everything


def test_an_api_key_acts_for_its_creator_and_the_entry_names_the_key(api_as, make_api_key, admin_user, tenant):
    plaintext = make_api_key(["MANAGE_ACTIVITY_CONFIG", "VIEW_ACTIVITIES"])
    key = ApiKey.objects.get(key_prefix=plaintext[:15])
    provider = DispatchProvider.objects.get(code="YOM")
    created = api_as(api_key=plaintext).post(CONFIGS, {
        "dispatch_provider_id": str(provider.id), "channel": "CALLCENTER", "base_url": "https://api.yom.example",
        "credentials": {"apiKey": SECRET}})
    assert created.status_code == 201, created.json()
    (entry,) = entries_of(DispatchConfig(pk=created.json()["id"]))
    assert entry.actor == admin_user and entry.additional_data == {"tenant_id": str(tenant.id),
                                                                   "api_key_id": str(key.id)}
    listed = api_as(admin_user, tenant).get(AUDIT, {"object_type": "dispatch_config"}).json()["data"]
    assert listed[0]["actor"] == {"id": str(admin_user.id), "email": admin_user.email}
    assert listed[0]["apiKeyId"] == str(key.id)


def test_an_actor_does_not_leak_into_the_next_request_or_a_background_change(admin_api, tenant):
    assert admin_api.get("/api/api-keys").status_code == 200
    background = TaskResultType.objects.create(tenant=tenant, code="BG", label="Background")
    assert entries_of(background)[0].actor is None


class TestAuditLogApi:
    def test_lists_the_tenants_entries_newest_first_with_their_shape(self, admin_api, admin_user, tenant):
        result_type = TaskResultType.objects.create(tenant=tenant, code="A", label="A")
        response = admin_api.patch(f"/api/activity-config/task-result-types/{result_type.id}", {"label": "B"})
        assert response.status_code == 200
        body = admin_api.get(AUDIT, {"object_type": "task_result_type"}).json()
        assert body["meta"]["total"] == 2
        newest, oldest = body["data"]
        assert set(newest) == {"id", "timestamp", "action", "objectType", "objectId", "objectRepr", "changes",
                               "actor", "apiKeyId", "remoteAddr"}
        assert (newest["action"], newest["objectType"], newest["objectId"]) == (
            "update", "task_result_type", str(result_type.id))
        assert newest["changes"] == {"label": ["A", "B"]}
        assert newest["actor"] == {"id": str(admin_user.id), "email": admin_user.email}
        assert oldest["action"] == "create" and oldest["actor"] is None

    def test_another_tenants_objects_and_global_objects_are_not_shown(self, admin_api, tenant, other_tenant):
        mine = TaskResultType.objects.create(tenant=tenant, code="MINE", label="Mine")
        TaskResultType.objects.create(tenant=other_tenant, code="THEIRS", label="Theirs")
        DispatchProvider.objects.create(code="GLOBALP", name="Global", protocol_type="REST")
        other_admin = member(other_tenant, "ADMIN")
        listed = admin_api.get(AUDIT).json()["data"]
        assert {row["objectId"] for row in listed if row["objectType"] == "task_result_type"} == {str(mine.id)}
        assert all(row["objectType"] != "provider" for row in listed)
        assert str(other_admin.id) not in json.dumps(listed)

    def test_filters(self, admin_api, api_as, admin_user, tenant):
        first = TaskResultType.objects.create(tenant=tenant, code="F1", label="F1")
        second = TaskResultType.objects.create(tenant=tenant, code="F2", label="F2")
        LogEntry.objects.filter(object_pk=str(first.id)).update(timestamp=timezone.now() - timedelta(days=3))
        patched = admin_api.patch(f"/api/activity-config/task-result-types/{second.id}", {"label": "F2!"})
        assert patched.status_code == 200

        def ids(**params):
            return [(row["objectId"], row["action"]) for row in admin_api.get(AUDIT, params).json()["data"]]

        assert ids(object_id=str(first.id)) == [(str(first.id), "create")]
        assert ids(actor_id=str(admin_user.id), object_type="task_result_type") == [(str(second.id), "update")]
        since = (timezone.now() - timedelta(days=1)).isoformat()
        assert ids(object_type="task_result_type", **{"from": since}) == [
            (str(second.id), "update"), (str(second.id), "create")]
        assert ids(object_type="task_result_type", to=since) == [(str(first.id), "create")]
        assert ids(object_type="api_key") == []

    @pytest.mark.parametrize("params, field", [
        ({"object_type": "wallet"}, "object_type"), ({"actor_id": "nope"}, "actor_id"),
        ({"from": "yesterday"}, "from"), ({"to": "2025-13-01"}, "to"),
        ({"from": "2025-02-01T00:00:00Z", "to": "2025-01-01T00:00:00Z"}, "from"), ({"page": "0"}, None),
    ])
    def test_bad_filters_are_400(self, admin_api, params, field):
        response = admin_api.get(AUDIT, params)
        assert response.status_code == 400
        if field:
            assert field in response.json()["details"]

    def test_needs_view_tenants(self, api_as, viewer_user, fde_user, tenant):
        assert api_as(viewer_user, tenant).get(AUDIT).status_code == 403


def test_the_admin_shows_entries_read_only(client, superuser, tenant):
    entry = TaskResultType.objects.create(tenant=tenant, code="ADM", label="Admin")
    (logged,) = entries_of(entry)
    client.force_login(superuser)
    assert client.get("/admin/auditlog/logentry/").status_code == 200
    assert client.get(f"/admin/auditlog/logentry/{logged.pk}/change/").status_code == 200
    assert client.get("/admin/auditlog/logentry/add/").status_code == 403
    assert client.post(f"/admin/auditlog/logentry/{logged.pk}/delete/", {"post": "yes"}).status_code == 403
    assert LogEntry.objects.filter(pk=logged.pk).exists()
