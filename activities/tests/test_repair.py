"""The way out of UNRESOLVED (SPEC 4.4): a manual attribute value, a retry with caller values, a target user."""
import uuid
from io import StringIO

import pytest

from activities.models import (
    Activity,
    ActivityAttribute,
    ActivityStatus,
    AttributeKey,
    AttributeResolutionStatus,
    AttributeStrategy,
    StatusEvent,
)
from activities.tests.factories import AttributePolicyFactory, activity_in, make_activity
from commerces.models import CommerceUser
from commerces.tests.factories import CommerceFactory
from tenants.tests.factories import member

LAST_ORDER = {"daysAgo": 3, "amount": 1500}


@pytest.fixture
def caller_provided(tenant):
    """last_order must come from the caller for this tenant: without it the activity is UNRESOLVED."""
    AttributePolicyFactory(tenant=tenant, attribute_key=AttributeKey.objects.get(key="last_order"),
                           strategy=AttributeStrategy.CALLER_PROVIDED)


def trail(activity):
    return list(StatusEvent.objects.filter(activity=activity).order_by("occurred_at", "id")
                .values_list("event_type", "from_status", "to_status"))


def attribute(activity, key):
    return ActivityAttribute.objects.get(activity=activity, attribute_key__key=key)


def snapshot(activity):
    """Everything a refused request must leave as it was."""
    return (Activity.objects.get(pk=activity.pk).status, trail(activity),
            list(ActivityAttribute.objects.filter(activity=activity).order_by("pk")
                 .values_list("pk", "value", "resolution_status", "resolver_type", "resolved_at", "updated_at")))


def resolve_url(activity, attribute_id):
    return f"/api/activities/{activity.pk}/attributes/{attribute_id}/resolve"


# --- PATCH /api/activities/:id/attributes/:attribute_id/resolve ------------------------------------------------------

def test_a_manual_value_resolves_the_last_blocking_attribute_and_the_activity_is_ready_again(
        admin_api, admin_user, commerce, caller_provided):
    activity = make_activity(commerce, attribute_keys=["promotions", "last_order"])
    assert activity.status == ActivityStatus.UNRESOLVED
    failed = attribute(activity, "last_order")
    assert failed.resolution_status == AttributeResolutionStatus.FAILED

    response = admin_api.patch(resolve_url(activity, failed.pk), {"value": LAST_ORDER})

    assert response.status_code == 200, response.json()
    listed = {item["id"]: item for item in admin_api.get(f"/api/activities/{activity.pk}/attributes").json()}
    assert response.json() == listed[str(failed.pk)]
    assert {k: response.json()[k] for k in ("key", "value", "resolutionStatus", "resolverType", "errorMessage")} == {
        "key": "last_order", "value": LAST_ORDER, "resolutionStatus": "RESOLVED", "resolverType": "MANUAL",
        "errorMessage": ""}
    assert response.json()["resolvedAt"] is not None
    assert Activity.objects.get(pk=activity.pk).status == ActivityStatus.READY
    assert trail(activity) == [("CREATED", None, "READY"), ("RESOLUTION_FAILED", "READY", "UNRESOLVED"),
                               ("ATTRIBUTE_RESOLVED", "UNRESOLVED", "UNRESOLVED"),
                               ("RESOLUTION_RETRY_SUCCESS", "UNRESOLVED", "READY")]
    resolved_event = StatusEvent.objects.get(activity=activity, event_type="ATTRIBUTE_RESOLVED")
    success = StatusEvent.objects.get(activity=activity, event_type="RESOLUTION_RETRY_SUCCESS")
    assert (resolved_event.actor_type, resolved_event.actor_user, resolved_event.error_message) == (
        "USER", admin_user, "attribute last_order set by hand")
    assert (success.actor_type, success.actor_user) == ("USER", admin_user)
    # The other attribute was left alone.
    assert attribute(activity, "promotions").resolver_type == "INTERNAL_SERVICE"


def test_a_manual_value_while_something_else_still_blocks_keeps_the_activity_unresolved(tenant, admin_api):
    AttributePolicyFactory(tenant=tenant, attribute_key=AttributeKey.objects.get(key="last_order"),
                           strategy=AttributeStrategy.CALLER_PROVIDED)
    nobody_home = CommerceFactory(tenant=tenant)  # no people: the target user fails too
    activity = make_activity(nobody_home, attribute_keys=["last_order"])
    response = admin_api.patch(resolve_url(activity, attribute(activity, "last_order").pk), {"value": 0})
    assert response.status_code == 200
    assert (response.json()["value"], response.json()["resolutionStatus"]) == (0, "RESOLVED")
    assert Activity.objects.get(pk=activity.pk).status == ActivityStatus.UNRESOLVED
    assert trail(activity)[-1] == ("ATTRIBUTE_RESOLVED", "UNRESOLVED", "UNRESOLVED")
    assert not StatusEvent.objects.filter(activity=activity, event_type="RESOLUTION_RETRY_SUCCESS").exists()


def test_a_manual_value_for_a_pending_on_dispatch_attribute_of_a_ready_activity(tenant, admin_api, commerce):
    AttributePolicyFactory(tenant=tenant, attribute_key=AttributeKey.objects.get(key="commerce_info"),
                           strategy=AttributeStrategy.ON_DISPATCH)
    activity = make_activity(commerce, attribute_keys=["commerce_info"])
    pending = attribute(activity, "commerce_info")
    assert (activity.status, pending.resolution_status) == (ActivityStatus.READY, AttributeResolutionStatus.PENDING)
    response = admin_api.patch(resolve_url(activity, pending.pk), {"value": ["any", {"json": True}]})
    assert response.status_code == 200
    assert attribute(activity, "commerce_info").value == ["any", {"json": True}]
    assert Activity.objects.get(pk=activity.pk).status == ActivityStatus.READY
    assert trail(activity)[-1] == ("ATTRIBUTE_RESOLVED", "READY", "READY")


@pytest.mark.parametrize(("payload", "details"), [
    ({}, {"value": ["This field is required."]}),
    ({"value": None}, {"value": ["This field may not be null."]}),
])
def test_a_manual_value_must_be_given(admin_api, commerce, caller_provided, payload, details):
    activity = make_activity(commerce, attribute_keys=["last_order"])
    before = snapshot(activity)
    response = admin_api.patch(resolve_url(activity, attribute(activity, "last_order").pk), payload)
    assert (response.status_code, response.json()["details"]) == (400, details)
    assert snapshot(activity) == before


def test_a_resolved_attribute_is_refused_and_nothing_changes(admin_api, commerce):
    activity = make_activity(commerce, attribute_keys=["promotions"])
    before = snapshot(activity)
    response = admin_api.patch(resolve_url(activity, attribute(activity, "promotions").pk), {"value": [1]})
    assert response.status_code == 400
    assert response.json()["message"] == "This attribute is RESOLVED; only PENDING or FAILED ones can be resolved"
    assert snapshot(activity) == before


@pytest.mark.parametrize("status", ["DISPATCHED", "COMPLETED", "CANCELED", "FAILED"])
def test_an_activity_past_resolution_takes_no_manual_value(admin_api, commerce, caller_provided, status):
    activity = activity_in(commerce, status, attribute_keys=["last_order"])
    before = snapshot(activity)
    response = admin_api.patch(resolve_url(activity, attribute(activity, "last_order").pk), {"value": 1})
    assert response.status_code == 400
    assert response.json()["message"] == (f"Cannot set an attribute value: the activity is {status}; only READY or "
                                          "UNRESOLVED activities take values")
    assert snapshot(activity) == before


def test_an_attribute_of_another_activity_or_unknown_is_404_and_nothing_changes(admin_api, commerce,
                                                                                 caller_provided):
    activity = make_activity(commerce, attribute_keys=["last_order"])
    other = make_activity(commerce, attribute_keys=["last_order"])
    before, other_before = snapshot(activity), snapshot(other)
    for attribute_id in (attribute(other, "last_order").pk, uuid.uuid4()):
        response = admin_api.patch(resolve_url(activity, attribute_id), {"value": 1})
        assert response.status_code == 404
        assert response.json() == {"statusCode": 404, "message": "Attribute not found", "error": "Not Found"}
    assert (snapshot(activity), snapshot(other)) == (before, other_before)


def test_another_tenants_activity_is_404(admin_api, other_tenant):
    from activities.tests.factories import commerce_with_rep

    AttributePolicyFactory(tenant=other_tenant, attribute_key=AttributeKey.objects.get(key="last_order"),
                           strategy=AttributeStrategy.CALLER_PROVIDED)
    foreign = make_activity(commerce_with_rep(other_tenant), attribute_keys=["last_order"])
    before = snapshot(foreign)
    response = admin_api.patch(resolve_url(foreign, attribute(foreign, "last_order").pk), {"value": 1})
    assert response.json() == {"statusCode": 404, "message": "Activity not found", "error": "Not Found"}
    assert snapshot(foreign) == before


def test_a_viewer_cannot_set_a_value(api_as, viewer_user, tenant, commerce, caller_provided):
    activity = make_activity(commerce, attribute_keys=["last_order"])
    before = snapshot(activity)
    response = api_as(viewer_user, tenant).patch(resolve_url(activity, attribute(activity, "last_order").pk),
                                                 {"value": 1})
    assert response.status_code == 403
    assert snapshot(activity) == before


# --- PATCH /api/activities/:id/retry-resolution with caller values ----------------------------------------------------

def retry(api, activity, payload=None):
    return api.patch(f"/api/activities/{activity.pk}/retry-resolution", payload)


def test_a_retry_with_a_supplied_value_makes_the_activity_ready(admin_api, admin_user, commerce, caller_provided):
    activity = make_activity(commerce, attribute_keys=["last_order", "promotions"])
    response = retry(admin_api, activity, {"attributes": [{"key": "last_order", "value": LAST_ORDER}]})
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "READY"
    supplied = attribute(activity, "last_order")
    assert (supplied.value, supplied.resolution_status, supplied.resolver_type, supplied.error_message) == (
        LAST_ORDER, "RESOLVED", "CALLER_PROVIDED", "")
    assert supplied.resolved_at is not None
    assert trail(activity)[-1] == ("RESOLUTION_RETRY_SUCCESS", "UNRESOLVED", "READY")
    assert StatusEvent.objects.get(activity=activity, event_type="RESOLUTION_RETRY_SUCCESS").actor_user == admin_user


def test_a_supplied_value_wins_over_a_resolved_one(admin_api, tenant, caller_provided):
    commerce = CommerceFactory(tenant=tenant)  # nobody to target: UNRESOLVED whatever the attributes
    activity = make_activity(commerce, attribute_keys=["promotions"])
    response = retry(admin_api, activity, {"attributes": [{"key": "promotions", "value": ["PROMO9"]}]})
    assert (response.status_code, response.json()["status"]) == (200, "UNRESOLVED")
    promotions = attribute(activity, "promotions")
    assert (promotions.value, promotions.resolver_type) == (["PROMO9"], "CALLER_PROVIDED")
    # The supplied value is kept even though the target user still fails.
    assert trail(activity)[-1] == ("RESOLUTION_RETRY_FAILED", "UNRESOLVED", "UNRESOLVED")


@pytest.mark.parametrize(("attributes", "details"), [
    ([{"key": "nope", "value": 1}], {"attributes.0.key": ["Unknown attribute key 'nope'."]}),
    ([{"key": "last_order", "value": 1}, {"key": "commerce_info", "value": 1}],
     {"attributes.1.key": ["The activity does not carry attribute 'commerce_info'."]}),
    ([{"key": "last_order", "value": 1}, {"key": "last_order", "value": 2}],
     {"attributes.1.key": ["Attribute key 'last_order' is given twice."]}),
    ([{"key": "last_order", "value": None}], {"attributes.0.value": ["This field may not be null."]}),
    ([{"key": "last_order"}], {"attributes.0.value": ["This field is required."]}),
    ("last_order", {"attributes.non_field_errors": ['Expected a list of items but got type "str".']}),
])
def test_a_retry_with_bad_supplied_values_is_400_and_changes_nothing(admin_api, commerce, caller_provided,
                                                                     attributes, details):
    activity = make_activity(commerce, attribute_keys=["last_order"])
    before = snapshot(activity)
    response = retry(admin_api, activity, {"attributes": attributes})
    assert (response.status_code, response.json()["details"]) == (400, details)
    assert snapshot(activity) == before


def test_a_retry_with_supplied_values_still_refuses_a_ready_activity(admin_api, commerce):
    activity = make_activity(commerce, attribute_keys=["promotions"])
    before = snapshot(activity)
    response = retry(admin_api, activity, {"attributes": [{"key": "promotions", "value": []}]})
    assert response.status_code == 400
    assert snapshot(activity) == before


@pytest.mark.parametrize("payload", [None, {}, {"attributes": []}])
def test_a_retry_without_values_works_as_before(admin_api, tenant, payload):
    from activities.tests.factories import reachable_user

    commerce = CommerceFactory(tenant=tenant)
    activity = make_activity(commerce)
    reachable_user(commerce, "OWNER")
    response = retry(admin_api, activity, payload)
    assert (response.status_code, response.json()["status"]) == (200, "READY")
    assert trail(activity)[-1] == ("RESOLUTION_RETRY_SUCCESS", "UNRESOLVED", "READY")


# --- the demo: every UNRESOLVED activity can be repaired through the API -------------------------------------------

def test_every_unresolved_demo_activity_can_be_repaired_through_the_api(db, api_as):
    from django.core.management import call_command

    from tenants.models import Tenant

    call_command("seed_demo", stdout=StringIO())
    tenant = Tenant.objects.get(slug="demo")
    api = api_as(member(tenant, "FDE"), tenant)  # an FDE may create and retry (SPEC 2)
    unresolved = list(Activity.objects.for_tenant(tenant).filter(status=ActivityStatus.UNRESOLVED).order_by("pk"))
    assert len(unresolved) >= 20
    ways = {"manual value": 0, "retry with values": 0, "target user": 0}
    for number, activity in enumerate(unresolved):
        detail = api.get(f"/api/activities/{activity.pk}").json()
        for target in detail["targetUsers"]:
            if target["resolutionStatus"] in ("PENDING", "FAILED"):
                commerce_id = detail["commerceAssignment"]["commerceId"]
                person = CommerceUser.objects.filter(commerce_id=commerce_id, is_active=True).first()
                response = api.patch(f"/api/activities/{activity.pk}/target-users/{target['id']}/resolve",
                                     {"commerce_user_id": str(person.pk)})
                assert response.status_code == 200, response.json()
                ways["target user"] += 1
        blocking = [a for a in detail["attributes"] if a["resolutionStatus"] in ("PENDING", "FAILED")]
        if number % 2:
            for item in blocking:
                response = api.patch(resolve_url(activity, item["id"]), {"value": {"daysAgo": number}})
                assert response.status_code == 200, response.json()
                ways["manual value"] += 1
        else:
            response = retry(api, activity, {"attributes": [{"key": a["key"], "value": {"daysAgo": number}}
                                                           for a in blocking]})
            assert response.status_code == 200, response.json()
            ways["retry with values"] += 1
        assert Activity.objects.get(pk=activity.pk).status == ActivityStatus.READY, trail(activity)
    assert ways["manual value"] and ways["retry with values"]
    assert not Activity.objects.for_tenant(tenant).filter(status=ActivityStatus.UNRESOLVED).exists()

