"""Activity configuration over the API: target resolution, attribute keys and policies, retention statuses."""
import uuid

import pytest

from activities.models import AttributeKey, AttributePolicy, TargetResolutionConfig, UserRetentionStatus
from activities.tests.factories import TargetResolutionConfigFactory, UserRetentionStatusFactory
from reten.api.renderers import format_datetime

CRITERIA = [{"type": "ROLE_MATCH", "config": {"role": "OWNER"}, "priority": 2},
            {"type": "LAST_CONTACTED_SAME_CHANNEL", "config": {}, "priority": 1}]


def test_target_resolution_config_lifecycle(admin_api, tenant):
    created = admin_api.post("/api/activity-config/target-resolution", {
        "resolution_strategy": "ON_DISPATCH", "fallback_to_owner": False, "priority": 3, "criteria": CRITERIA})
    assert created.status_code == 201, created.json()
    data = created.json()
    assert {k: data[k] for k in ("resolutionStrategy", "fallbackToCommerceRep", "fallbackToOwner", "priority",
                                 "isActive")} == {"resolutionStrategy": "ON_DISPATCH", "fallbackToCommerceRep": True,
                                                  "fallbackToOwner": False, "priority": 3, "isActive": True}
    assert [{k: c[k] for k in ("type", "config", "priority")} for c in data["criteria"]] == sorted(
        CRITERIA, key=lambda c: c["priority"])
    url = f"/api/activity-config/target-resolution/{data['id']}"
    patched = admin_api.patch(url, {"is_active": False, "criteria": []})
    assert (patched.status_code, patched.json()["isActive"], patched.json()["criteria"]) == (200, False, [])
    assert [c["id"] for c in admin_api.get("/api/activity-config/target-resolution").json()] == [data["id"]]
    assert admin_api.delete(url).status_code == 204
    assert TargetResolutionConfig.objects.count() == 0
    assert admin_api.delete(url).status_code == 404


def test_criteria_answer_the_docs_spelling_with_a_stable_id(admin_api, tenant):
    created = admin_api.post("/api/activity-config/target-resolution", {"priority": 4, "criteria": CRITERIA})
    config_id = uuid.UUID(created.json()["id"])
    first, second = (uuid.uuid5(config_id, f"criterion:{index}") for index in (0, 1))
    expected = [
        {"id": str(first), "type": "LAST_CONTACTED_SAME_CHANNEL", "config": {}, "priority": 1,
         "criteriaType": "LAST_CONTACTED_SAME_CHANNEL", "criteriaConfig": {}},
        {"id": str(second), "type": "ROLE_MATCH", "config": {"role": "OWNER"}, "priority": 2,
         "criteriaType": "ROLE_MATCH", "criteriaConfig": {"role": "OWNER"}},
    ]
    assert (created.status_code, created.json()["criteria"]) == (201, expected)
    url = f"/api/activity-config/target-resolution/{config_id}"
    assert admin_api.get(url).json()["criteria"] == expected  # the same ids on every read
    assert admin_api.get("/api/activity-config/target-resolution").json()[0]["criteria"] == expected
    assert TargetResolutionConfig.objects.get(pk=config_id).criteria == [  # ids are derived, never stored
        {"type": "LAST_CONTACTED_SAME_CHANNEL", "config": {}, "priority": 1},
        {"type": "ROLE_MATCH", "config": {"role": "OWNER"}, "priority": 2}]


def test_active_priorities_are_unique(admin_api, tenant):
    TargetResolutionConfigFactory(tenant=tenant, priority=0)
    response = admin_api.post("/api/activity-config/target-resolution", {"priority": 0})
    assert response.status_code == 409
    inactive = admin_api.post("/api/activity-config/target-resolution", {"priority": 0, "is_active": False})
    assert inactive.status_code == 201
    reactivate = admin_api.patch(f"/api/activity-config/target-resolution/{inactive.json()['id']}",
                                 {"is_active": True})
    assert reactivate.status_code == 409
    assert TargetResolutionConfig.objects.get(pk=inactive.json()["id"]).is_active is False


@pytest.mark.parametrize("criteria", [[{"type": "NOPE"}], [{"type": "ROLE_MATCH", "config": {}}]])
def test_bad_criteria_are_400(admin_api, criteria):
    response = admin_api.post("/api/activity-config/target-resolution", {"criteria": criteria})
    assert response.status_code == 400
    assert TargetResolutionConfig.objects.count() == 0


def test_config_writes_need_manage_activity_config(api_as, fde_user, tenant):
    api = api_as(fde_user, tenant)
    assert api.get("/api/activity-config/target-resolution").status_code == 200
    assert api.post("/api/activity-config/target-resolution", {}).status_code == 403
    assert api.post("/api/activity-config/attribute-policies", {"key": "promotions"}).status_code == 403
    assert api.post("/api/user-retention-statuses", {"code": "A", "label": "A"}).status_code == 403


def test_another_tenants_config_is_not_found(admin_api, other_tenant):
    config = TargetResolutionConfigFactory(tenant=other_tenant)
    url = f"/api/activity-config/target-resolution/{config.pk}"
    assert admin_api.get(url).status_code == 404
    assert admin_api.patch(url, {"priority": 9}).status_code == 404
    assert admin_api.delete(url).status_code == 404
    assert TargetResolutionConfig.objects.get(pk=config.pk).priority == config.priority
    assert admin_api.get(f"/api/activity-config/target-resolution/{uuid.uuid4()}").status_code == 404


def test_attribute_keys_catalogue_is_seeded(admin_api):
    keys = admin_api.get("/api/activity-config/attribute-keys").json()
    assert [k["key"] for k in keys] == ["commerce_info", "last_order", "promotions"]
    assert set(keys[0]) == {"id", "key", "label", "description"}


def test_attribute_policy_upsert(admin_api, tenant):
    created = admin_api.post("/api/activity-config/attribute-policies", {
        "key": "last_order", "resolver_type": "CLIENT_HOOK", "hook_url": "https://hooks.example.com/last-order"})
    assert created.status_code == 201, created.json()
    assert {k: created.json()[k] for k in ("key", "strategy", "resolverType", "hookUrl")} == {
        "key": "last_order", "strategy": "UPFRONT", "resolverType": "CLIENT_HOOK",
        "hookUrl": "https://hooks.example.com/last-order"}
    updated = admin_api.post("/api/activity-config/attribute-policies",
                             {"key": "last_order", "strategy": "CALLER_PROVIDED"})
    assert (updated.status_code, updated.json()["id"], updated.json()["strategy"]) == (
        200, created.json()["id"], "CALLER_PROVIDED")
    assert AttributePolicy.objects.count() == 1
    assert [p["key"] for p in admin_api.get("/api/activity-config/attribute-policies").json()] == ["last_order"]


def test_attribute_policy_by_attribute_key_id_answers_the_attribute_key(admin_api, tenant):
    key = AttributeKey.objects.get(key="promotions")
    created = admin_api.post("/api/activity-config/attribute-policies",
                             {"attribute_key_id": str(key.id), "strategy": "CALLER_PROVIDED"})
    policy = AttributePolicy.objects.get()
    assert created.status_code == 201, created.json()
    assert created.json() == {
        "id": str(policy.id), "attributeKeyId": str(key.id), "key": "promotions",
        "attributeKey": {"id": str(key.id), "key": "promotions", "label": key.label},
        "strategy": "CALLER_PROVIDED", "resolverType": "INTERNAL_SERVICE", "hookUrl": "",
        "createdAt": format_datetime(policy.created_at), "updatedAt": format_datetime(policy.updated_at)}
    both = admin_api.post("/api/activity-config/attribute-policies",
                          {"attribute_key_id": str(key.id), "key": "promotions", "strategy": "UPFRONT"})
    assert (both.status_code, both.json()["id"], both.json()["strategy"]) == (200, str(policy.id), "UPFRONT")
    listed = admin_api.get("/api/activity-config/attribute-policies").json()
    assert [p["attributeKey"] for p in listed] == [{"id": str(key.id), "key": "promotions", "label": key.label}]


@pytest.mark.parametrize(("payload", "details"), [
    ({}, {"key": ["Send key or attribute_key_id."]}),
    ({"attribute_key_id": "00000000-0000-0000-0000-000000000000"}, {"attribute_key_id": ["Unknown attribute key."]}),
    ({"attribute_key_id": "nope"}, {"attribute_key_id": ["Must be a valid UUID."]}),
])
def test_attribute_policy_key_or_id_is_required_and_must_exist(admin_api, payload, details):
    response = admin_api.post("/api/activity-config/attribute-policies", payload)
    assert (response.status_code, response.json()["details"]) == (400, details)
    assert AttributePolicy.objects.count() == 0


def test_attribute_policy_key_and_id_must_agree(admin_api):
    promotions = AttributeKey.objects.get(key="promotions")
    response = admin_api.post("/api/activity-config/attribute-policies",
                              {"attribute_key_id": str(promotions.id), "key": "last_order"})
    assert response.status_code == 400
    assert response.json()["details"] == {"attribute_key_id": ["Names key 'promotions', not 'last_order'."]}
    assert AttributePolicy.objects.count() == 0


@pytest.mark.parametrize(("payload", "field"), [
    ({"key": "nope"}, "key"), ({"key": "promotions", "resolver_type": "CLIENT_HOOK"}, "hook_url"),
    ({"key": "promotions", "strategy": "LATER"}, "strategy"), ({"key": "promotions", "hook_url": "ftp:x"}, "hook_url"),
])
def test_attribute_policy_validation(admin_api, payload, field):
    response = admin_api.post("/api/activity-config/attribute-policies", payload)
    assert response.status_code == 400
    assert field in response.json()["details"]
    assert AttributePolicy.objects.count() == 0


def test_user_retention_statuses(admin_api, tenant, other_tenant):
    UserRetentionStatusFactory(tenant=other_tenant, code="FOREIGN")
    UserRetentionStatusFactory(tenant=tenant, code="OLD", is_active=False)
    created = admin_api.post("/api/user-retention-statuses", {"code": "AT_RISK", "label": "At risk"})
    assert created.status_code == 201
    assert {k: created.json()[k] for k in ("code", "label", "description", "isActive")} == {
        "code": "AT_RISK", "label": "At risk", "description": "", "isActive": True}
    assert admin_api.post("/api/user-retention-statuses", {"code": "AT_RISK", "label": "x"}).status_code == 409
    assert [s["code"] for s in admin_api.get("/api/user-retention-statuses").json()] == ["AT_RISK", "OLD"]
    assert [s["code"] for s in admin_api.get("/api/user-retention-statuses", {"active_only": "true"}).json()] == [
        "AT_RISK"]
    assert admin_api.get("/api/user-retention-statuses", {"active_only": "maybe"}).status_code == 400
    assert UserRetentionStatus.objects.filter(tenant=tenant).count() == 2
