"""Reading and operating activities over the API (SPEC 4.4)."""
import uuid

import pytest

from activities.models import Activity, ActivityStatus, ResolutionStrategy, StatusEvent
from activities.tests.factories import (
    TargetResolutionConfigFactory,
    activity_in,
    commerce_with_rep,
    make_activity,
    set_status,
)
from commerces.tests.factories import CommerceFactory, CommerceUserFactory


def ids(response):
    return [item["id"] for item in response.json()["data"]]


def test_list_item_shape_and_envelope(admin_api, commerce):
    activity = make_activity(commerce, score=3)
    response = admin_api.get("/api/activities")
    assert response.status_code == 200
    assert response.json()["meta"] == {"page": 1, "limit": 25, "total": 1, "totalPages": 1}
    item = response.json()["data"][0]
    assert set(item) == {"id", "type", "channel", "status", "reason", "scheduledAt", "score",
                         "dispatchAttemptCount", "canForceRetryDispatch", "commerceAssignment", "createdAt",
                         "updatedAt"}
    assert item["id"] == str(activity.pk)
    assert item["commerceAssignment"] == {"commerceId": str(commerce.pk), "commerce": {
        "id": str(commerce.pk), "name": commerce.name, "externalId": commerce.external_id}}


def test_list_filters(admin_api, tenant):
    shop = commerce_with_rep(tenant, name="Shop Uno", external_id="EXT-1")
    other = commerce_with_rep(tenant)
    a = make_activity(shop, channel="SMS", scheduled_at="2025-01-10T10:00:00Z", reason="Payment reminder")
    b = make_activity(other, channel="PUSH", scheduled_at="2025-01-20T10:00:00Z")
    c = set_status(make_activity(other, channel="SMS", scheduled_at="2025-01-15T00:00:00Z"),
                   ActivityStatus.CANCELED)
    Activity.objects.filter(pk=b.pk).update(provider_activity_id="prov-777")

    def listed(**params):
        response = admin_api.get("/api/activities", params)
        assert response.status_code == 200, response.json()
        return set(ids(response))

    assert listed(status="CANCELED") == {str(c.pk)}
    assert listed(status="READY,CANCELED") == {str(a.pk), str(b.pk), str(c.pk)}
    assert listed(type="TASK") == set()
    assert listed(channel="SMS") == {str(a.pk), str(c.pk)}
    assert listed(commerce_id=str(shop.pk)) == {str(a.pk)}
    assert listed(scheduled_from="2025-01-15T00:00:00Z") == {str(b.pk), str(c.pk)}
    assert listed(scheduled_to="2025-01-15T00:00:00Z") == {str(a.pk), str(c.pk)}
    assert listed(scheduled_from="2025-01-15", scheduled_to="2025-01-15") == {str(c.pk)}
    assert listed(search="payment") == {str(a.pk)}
    assert listed(search="ext-1") == {str(a.pk)}
    assert listed(search="shop uno") == {str(a.pk)}
    assert listed(search="prov-777") == {str(b.pk)}
    assert listed(search=b.idempotency_key) == {str(b.pk)}


@pytest.mark.parametrize("params", [{"status": "DONE"}, {"type": "X"}, {"channel": "FAX"},
                                    {"commerce_id": "x"}, {"scheduled_from": "soon"}, {"ordering": "reason"},
                                    {"per_page": "0"}, {"page": "abc"}])
def test_list_refuses_bad_query_values(admin_api, params):
    assert admin_api.get("/api/activities", params).status_code == 400


def test_list_ordering(admin_api, commerce):
    low = make_activity(commerce, score=1, scheduled_at="2025-03-01T00:00:00Z")
    high = make_activity(commerce, score=9, scheduled_at="2025-01-01T00:00:00Z")
    none = make_activity(commerce, scheduled_at="2025-02-01T00:00:00Z")
    assert ids(admin_api.get("/api/activities")) == [str(none.pk), str(high.pk), str(low.pk)]
    assert ids(admin_api.get("/api/activities", {"ordering": "created_at"})) == [str(low.pk), str(high.pk),
                                                                                  str(none.pk)]
    assert ids(admin_api.get("/api/activities", {"ordering": "scheduled_at"})) == [str(high.pk), str(none.pk),
                                                                                    str(low.pk)]
    assert ids(admin_api.get("/api/activities", {"ordering": "-scheduled_at"})) == [str(low.pk), str(none.pk),
                                                                                     str(high.pk)]
    assert ids(admin_api.get("/api/activities", {"ordering": "score"})) == [str(low.pk), str(high.pk), str(none.pk)]
    assert ids(admin_api.get("/api/activities", {"ordering": "-score"})) == [str(high.pk), str(low.pk),
                                                                              str(none.pk)]


def test_list_uses_a_constant_number_of_queries(admin_api, tenant, query_count):
    from activities.services import activity_bulk_create
    from activities.tests.factories import create_body
    from tenants.actors import SYSTEM

    commerces = [commerce_with_rep(tenant) for _ in range(5)]
    activity_bulk_create(tenant=tenant, actor=SYSTEM,
                         items=[create_body(commerces[i % 5]) for i in range(120)])
    counts = []
    for per_page in (1, 100):
        with query_count() as counted:
            response = admin_api.get("/api/activities", {"per_page": per_page})
        assert len(response.json()["data"]) == per_page
        counts.append(len(counted.captured_queries))
    assert counts[0] == counts[1]
    assert counts[1] <= 6


def test_list_only_shows_this_tenants_activities(admin_api, other_tenant, commerce):
    mine = make_activity(commerce)
    make_activity(commerce_with_rep(other_tenant))
    assert ids(admin_api.get("/api/activities")) == [str(mine.pk)]


def test_sub_resources(admin_api, commerce):
    activity = make_activity(commerce, attribute_keys=["promotions"])
    target = activity.target_users.get()
    rep = target.commerce_user
    targets = admin_api.get(f"/api/activities/{activity.pk}/target-users").json()
    assert targets == [{"id": str(target.pk), "commerceUserId": str(rep.pk), "resolutionStatus": "RESOLVED",
                        "resolutionStrategy": "ON_CREATION", "lockReason": "FALLBACK_COMMERCE_REP",
                        "resolvedAt": targets[0]["resolvedAt"], "lockedAt": None,
                        "commerceUser": {"firstName": rep.first_name, "lastName": rep.last_name}}]
    attributes = admin_api.get(f"/api/activities/{activity.pk}/attributes").json()
    attribute = activity.attributes.get()
    assert attributes == [{"id": str(attribute.pk), "activityId": str(activity.pk),
                           "attributeKeyId": str(attribute.attribute_key_id), "key": "promotions", "value": [],
                           "resolutionStatus": "RESOLVED", "resolverType": "INTERNAL_SERVICE",
                           "resolvedAt": attributes[0]["resolvedAt"], "errorMessage": "",
                           "createdAt": attributes[0]["createdAt"], "updatedAt": attributes[0]["updatedAt"]}]
    admin_api.patch(f"/api/activities/{activity.pk}/cancel", {"reason": "no"})
    events = admin_api.get(f"/api/activities/{activity.pk}/status-events").json()
    assert [(e["eventType"], e["fromStatus"], e["toStatus"], e["errorMessage"]) for e in events] == [
        ("CREATED", None, "READY", ""), ("CANCELED", "READY", "CANCELED", "no")]
    assert set(events[0]) == {"id", "eventType", "fromStatus", "toStatus", "errorCode", "errorMessage",
                              "occurredAt"}


# --- operating ----------------------------------------------------------------------------------------------------

def test_cancel_over_the_api(admin_api, admin_user, commerce):
    activity = make_activity(commerce)
    response = admin_api.patch(f"/api/activities/{activity.pk}/cancel", {"reason": "Store closed"})
    assert response.status_code == 200
    assert response.json()["status"] == "CANCELED"
    assert response.json()["id"] == str(activity.pk)
    assert Activity.objects.get(pk=activity.pk).status == ActivityStatus.CANCELED
    events = list(StatusEvent.objects.filter(activity=activity).order_by("occurred_at", "id"))
    assert [event.event_type for event in events] == ["CREATED", "CANCELED"]
    canceled = events[-1]
    assert (canceled.from_status, canceled.to_status) == ("READY", "CANCELED")
    assert (canceled.actor_type, canceled.actor_user_id, canceled.actor_api_key_id) == ("USER", admin_user.pk, None)
    assert canceled.error_message == "Store closed"


def test_cancel_costs_nine_queries_and_asks_nothing_of_the_tenant_it_already_has(api_as, make_api_key, commerce,
                                                                                query_count):
    """API key (2: key, the creator's roles), the activity (1), its lock (1), the UPDATE and the event (2), then the
    detail (3). The webhook outbox reads the tenant's flag from the Tenant the request authenticated (issue 15)."""
    activity = make_activity(commerce)
    api = api_as(api_key=make_api_key(["CANCEL_ACTIVITY"]))
    api.patch(f"/api/activities/{make_activity(commerce).pk}/cancel")  # the key's last_used_at is fresh now

    with query_count() as counted:
        response = api.patch(f"/api/activities/{activity.pk}/cancel", {"reason": "Store closed"})

    assert response.status_code == 200 and response.json()["status"] == "CANCELED"
    # The test's own transaction turns the service's into a savepoint: not a query of the request's.
    sql = [query["sql"] for query in counted.captured_queries if "SAVEPOINT" not in query["sql"]]
    assert not [q for q in sql if 'FROM "tenants_tenant"' in q], sql
    assert len(sql) == 9, sql


@pytest.mark.parametrize("status", ["UNRESOLVED", "DISPATCHED", "COMPLETED", "CANCELED", "FAILED"])
def test_cancel_refuses_non_ready_with_400_and_changes_nothing(admin_api, commerce, status):
    activity = activity_in(commerce, status)
    response = admin_api.patch(f"/api/activities/{activity.pk}/cancel")
    assert response.status_code == 400
    assert response.json()["message"] == (f"Cannot cancel: the activity is {status}; only READY activities can be "
                                          "canceled")
    assert Activity.objects.get(pk=activity.pk).status == status
    assert StatusEvent.objects.filter(activity=activity).count() == 1


def test_cancel_needs_cancel_permission(api_as, fde_user, tenant, commerce):
    activity = make_activity(commerce)
    assert api_as(fde_user, tenant).patch(f"/api/activities/{activity.pk}/cancel").status_code == 403
    assert Activity.objects.get(pk=activity.pk).status == ActivityStatus.READY


def test_retry_resolution_over_the_api(admin_api, tenant):
    commerce = CommerceFactory(tenant=tenant)
    activity = make_activity(commerce)
    failed = admin_api.patch(f"/api/activities/{activity.pk}/retry-resolution")
    assert (failed.status_code, failed.json()["status"]) == (200, "UNRESOLVED")
    from activities.tests.factories import reachable_user

    reachable_user(commerce, "OWNER")
    resolved = admin_api.patch(f"/api/activities/{activity.pk}/retry-resolution")
    assert (resolved.status_code, resolved.json()["status"]) == (200, "READY")
    assert list(StatusEvent.objects.filter(activity=activity).order_by("occurred_at")
                .values_list("event_type", flat=True)) == [
        "CREATED", "RESOLUTION_FAILED", "RESOLUTION_RETRY_FAILED", "RESOLUTION_RETRY_SUCCESS"]


@pytest.mark.parametrize("status", ["READY", "DISPATCHED", "COMPLETED", "CANCELED", "FAILED"])
def test_retry_resolution_refuses_anything_but_unresolved(admin_api, commerce, status):
    activity = activity_in(commerce, status)
    response = admin_api.patch(f"/api/activities/{activity.pk}/retry-resolution")
    assert response.status_code == 400
    assert Activity.objects.get(pk=activity.pk).status == status
    assert StatusEvent.objects.filter(activity=activity).count() == 1


def test_manual_resolve_over_the_api(admin_api, tenant, commerce):
    TargetResolutionConfigFactory(tenant=tenant, resolution_strategy=ResolutionStrategy.MANUAL)
    activity = make_activity(commerce)
    target = activity.target_users.get()
    person = CommerceUserFactory(commerce=commerce)
    url = f"/api/activities/{activity.pk}/target-users/{target.pk}/resolve"
    assert admin_api.patch(url, {}).status_code == 400
    assert admin_api.patch(url, {"commerce_user_id": str(CommerceUserFactory().pk)}).status_code == 400
    response = admin_api.patch(url, {"commerce_user_id": str(person.pk)})
    assert response.status_code == 200, response.json()
    assert (response.json()["resolutionStatus"], response.json()["lockReason"],
            response.json()["commerceUserId"]) == ("LOCKED", "MANUAL_ASSIGNMENT", str(person.pk))
    assert Activity.objects.get(pk=activity.pk).status == ActivityStatus.READY
    again = admin_api.patch(url, {"commerce_user_id": str(person.pk)})
    assert again.status_code == 400
    unknown = admin_api.patch(f"/api/activities/{activity.pk}/target-users/{uuid.uuid4()}/resolve",
                              {"commerce_user_id": str(person.pk)})
    assert unknown.status_code == 404


# --- another tenant's activity is not found anywhere ---------------------------------------------------------------

@pytest.mark.parametrize(("method", "suffix", "payload"), [
    ("get", "", None), ("patch", "/cancel", {}), ("patch", "/retry-resolution", {}),
    ("get", "/target-users", None), ("get", "/attributes", None), ("get", "/status-events", None),
    ("patch", "/target-users/{target}/resolve", {"commerce_user_id": "{user}"}),
])
def test_every_activity_endpoint_answers_404_for_another_tenants_activity(admin_api, other_tenant, method, suffix,
                                                                          payload):
    foreign_commerce = commerce_with_rep(other_tenant)
    foreign = make_activity(foreign_commerce)
    set_status(foreign, ActivityStatus.UNRESOLVED)
    target = foreign.target_users.get()
    path = f"/api/activities/{foreign.pk}{suffix}".replace("{target}", str(target.pk))
    if payload:
        payload = {k: v.replace("{user}", str(target.commerce_user_id)) for k, v in payload.items()}
    response = getattr(admin_api, method)(path, payload)
    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "message": "Activity not found", "error": "Not Found"}
    assert Activity.objects.get(pk=foreign.pk).status == ActivityStatus.UNRESOLVED
    assert StatusEvent.objects.filter(activity=foreign).count() == 1


def test_unknown_activity_is_404(admin_api):
    assert admin_api.get(f"/api/activities/{uuid.uuid4()}").status_code == 404


def test_api_key_with_view_permission_reads(api_as, make_api_key, commerce):
    activity = make_activity(commerce)
    api = api_as(api_key=make_api_key(["VIEW_ACTIVITIES"]))
    assert api.get(f"/api/activities/{activity.pk}").status_code == 200
    assert api.patch(f"/api/activities/{activity.pk}/cancel").status_code == 403
