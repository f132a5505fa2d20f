"""Delivery receipts over the API-key routes (SPEC 6.2): every status on every state, resends, matching, batch."""
import uuid

import pytest

from activities.models import Activity, DeliveryReceipt, StatusEvent
from activities.tests.factories import commerce_with_rep, dispatched_task, make_activity, set_status
from commerces.tests.factories import OperatorFactory, RouteFactory
from tenants.tests.factories import member

URL = "/api/integration/delivery-receipts"
BATCH_URL = "/api/integration/delivery-receipts/batch"
OCCURRED = "2025-01-16T12:00:00Z"
RECEIPT_STATUSES = ["SENT", "DELIVERED", "READ", "FAILED", "UNDELIVERED", "BOUNCED"]
CLOSES = {"SENT": None, "DELIVERED": ("COMPLETED", "COMPLETED"), "READ": ("COMPLETED", "COMPLETED"),
          "FAILED": ("FAILED", "EXECUTION_FAILED"), "UNDELIVERED": ("FAILED", "EXECUTION_FAILED"),
          "BOUNCED": ("FAILED", "EXECUTION_FAILED")}


def dispatched_message(commerce, provider_activity_id=None):
    message = make_activity(commerce)
    Activity.objects.filter(pk=message.pk).update(
        status="DISPATCHED", provider_activity_id=provider_activity_id or f"msg-{message.pk.hex[:10]}")
    return Activity.objects.get(pk=message.pk)


@pytest.fixture
def message(commerce):
    return dispatched_message(commerce)


@pytest.fixture
def key_api(api_as, make_api_key):
    return api_as(api_key=make_api_key(["SUBMIT_ACTIVITY_RESULT", "VIEW_ACTIVITIES"]))


def body(activity=None, status="DELIVERED", occurred_at=OCCURRED, **overrides):
    data = {"status": status, "occurred_at": occurred_at}
    if activity is not None:
        data["activity_id"] = str(activity.pk)
    data.update(overrides)
    return data


def trail(activity):
    return list(StatusEvent.objects.filter(activity=activity).order_by("occurred_at")
                .values_list("event_type", "from_status", "to_status", "error_code"))


def status_of(activity):
    return Activity.objects.get(pk=activity.pk).status


CREATED = [("CREATED", None, "READY", "")]  # dispatched_message() sets DISPATCHED without an event


@pytest.mark.parametrize("receipt_status", RECEIPT_STATUSES)
def test_each_status_on_a_dispatched_message(key_api, message, receipt_status):
    response = key_api.post(URL, body(message, receipt_status, error_code="E42" if CLOSES[receipt_status]
                                      and CLOSES[receipt_status][0] == "FAILED" else None))

    assert response.status_code == 201, response.json()
    data = response.json()
    receipt = DeliveryReceipt.objects.get(activity=message)
    assert data["id"] == str(receipt.pk) and data["status"] == receipt_status
    assert data["providerActivityId"] == message.provider_activity_id
    closes = CLOSES[receipt_status]
    expected_status = closes[0] if closes else "DISPATCHED"
    assert status_of(message) == data["activityStatus"] == expected_status
    error_code = "E42" if closes and closes[0] == "FAILED" else ""
    expected = CREATED + [("DELIVERY_RECEIPT", "DISPATCHED", "DISPATCHED", error_code)]
    if closes:
        expected.append((closes[1], "DISPATCHED", closes[0], error_code))
    assert trail(message) == expected
    completed_at = Activity.objects.get(pk=message.pk).completed_at
    assert (completed_at is not None) == (expected_status == "COMPLETED")


@pytest.mark.parametrize("receipt_status", RECEIPT_STATUSES)
@pytest.mark.parametrize("terminal", ["COMPLETED", "CANCELED", "FAILED"])
def test_on_a_terminal_message_the_receipt_is_stored_and_changes_nothing(key_api, commerce, terminal,
                                                                        receipt_status):
    closed = set_status(dispatched_message(commerce), terminal)

    response = key_api.post(URL, body(closed, receipt_status))

    assert response.status_code == 201, response.json()
    assert status_of(closed) == terminal == response.json()["activityStatus"]
    assert DeliveryReceipt.objects.filter(activity=closed).count() == 1
    assert trail(closed) == CREATED + [("DELIVERY_RECEIPT", terminal, terminal, "")]


@pytest.mark.parametrize("receipt_status", RECEIPT_STATUSES)
@pytest.mark.parametrize("waiting", ["READY", "UNRESOLVED"])
def test_a_message_not_yet_dispatched_is_409_and_nothing_is_stored(key_api, commerce, waiting, receipt_status):
    early = set_status(make_activity(commerce), waiting)

    response = key_api.post(URL, body(early, receipt_status))

    assert response.status_code == 409
    assert response.json()["errorCode"] == "ACTIVITY_NOT_DISPATCHED"
    assert not DeliveryReceipt.objects.exists()
    assert status_of(early) == waiting
    assert [event[0] for event in trail(early)] == ["CREATED"]


def test_a_task_takes_no_receipt(key_api, commerce):
    task = dispatched_task(commerce, route=RouteFactory(tenant=commerce.tenant),
                           operator=OperatorFactory(tenant=commerce.tenant))

    response = key_api.post(URL, body(task))

    assert response.status_code == 400
    assert "task results" in response.json()["message"]
    assert not DeliveryReceipt.objects.exists() and status_of(task) == "DISPATCHED"


def test_the_same_receipt_again_is_200_and_changes_nothing(key_api, message):
    first = key_api.post(URL, body(message, "DELIVERED"))
    before = trail(message)

    again = key_api.post(URL, body(message, "DELIVERED", occurred_at="2025-01-16T09:00:00-03:00"))  # same instant

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert DeliveryReceipt.objects.filter(activity=message).count() == 1
    assert trail(message) == before


def test_receipts_only_move_forward(key_api, message):
    assert key_api.post(URL, body(message, "SENT", occurred_at="2025-01-16T11:00:00Z")).status_code == 201
    assert key_api.post(URL, body(message, "DELIVERED", occurred_at="2025-01-16T11:01:00Z")).status_code == 201
    late_failure = key_api.post(URL, body(message, "BOUNCED", occurred_at="2025-01-16T11:02:00Z",
                                          error_code="5.1.1"))

    assert late_failure.status_code == 201
    assert status_of(message) == "COMPLETED"
    assert [e[0] for e in trail(message)] == ["CREATED", "DELIVERY_RECEIPT", "DELIVERY_RECEIPT", "COMPLETED",
                                              "DELIVERY_RECEIPT"]


def test_matching_by_provider_activity_id_within_the_tenant(key_api, commerce, other_tenant):
    ours = dispatched_message(commerce, provider_activity_id="wamid.123")
    theirs = dispatched_message(commerce_with_rep(other_tenant), provider_activity_id="wamid.999")

    matched = key_api.post(URL, body(status="READ", provider_activity_id="wamid.123"))
    foreign = key_api.post(URL, body(status="READ", provider_activity_id="wamid.999"))
    foreign_id = key_api.post(URL, body(theirs, "READ"))
    unknown = key_api.post(URL, body(status="READ", activity_id=str(uuid.uuid4())))

    assert matched.status_code == 201 and matched.json()["activityId"] == str(ours.pk)
    assert (foreign.status_code, foreign_id.status_code, unknown.status_code) == (404, 404, 404)
    assert status_of(theirs) == "DISPATCHED"
    assert not DeliveryReceipt.objects.filter(activity=theirs).exists()


@pytest.mark.parametrize("bad, field", [
    ({"status": "LOST"}, "status"),
    ({"occurred_at": "yesterday"}, "occurred_at"),
    ({"activity_id": None}, "activity_id"),
    ({"color": "red"}, "color"),
])
def test_bad_bodies_are_400_naming_the_field(key_api, message, bad, field):
    response = key_api.post(URL, {**body(message), **bad})

    assert response.status_code == 400
    assert field in response.json()["details"]
    assert not DeliveryReceipt.objects.exists()


def test_a_bearer_token_is_refused_on_the_integration_routes(admin_api, message):
    for url, data in ((URL, body(message)), (BATCH_URL, {"items": [body(message)]})):
        assert admin_api.post(url, data).status_code == 401
    assert not DeliveryReceipt.objects.exists()


def test_a_key_without_submit_activity_result_is_403(api_as, make_api_key, message):
    viewer_key = api_as(api_key=make_api_key(["VIEW_ACTIVITIES"]))

    assert viewer_key.post(URL, body(message)).status_code == 403
    assert viewer_key.post(BATCH_URL, {"items": [body(message)]}).status_code == 403
    assert not DeliveryReceipt.objects.exists()


# --- the batch ---------------------------------------------------------------------------------------------------


def test_a_batch_reports_each_item_on_its_own(key_api, commerce, message):
    early = make_activity(commerce)
    task = dispatched_task(commerce, route=RouteFactory(tenant=commerce.tenant),
                           operator=OperatorFactory(tenant=commerce.tenant))
    second = dispatched_message(commerce, provider_activity_id="sms-2")
    key_api.post(URL, body(message, "SENT"))

    response = key_api.post(BATCH_URL, {"items": [
        body(message, "SENT"),  # a resend
        body(message, "DELIVERED", occurred_at="2025-01-16T12:05:00Z"),
        body(status="UNDELIVERED", provider_activity_id="sms-2", error_code="30003"),
        body(early),  # 409
        body(task),  # 400
        body(status="READ", activity_id=str(uuid.uuid4())),  # 404
        {"status": "NOPE"},  # 400, its shape
        body(second, "UNDELIVERED", error_code="30003"),  # the same as item 2: replayed within the batch
    ]})

    assert response.status_code == 200
    data = response.json()
    assert [(r["index"], r["status"]) for r in data["results"]] == [
        (0, 200), (1, 201), (2, 201), (3, 409), (4, 400), (5, 404), (6, 400), (7, 200)]
    assert data["results"][3]["error"]["errorCode"] == "ACTIVITY_NOT_DISPATCHED"
    assert data["results"][7]["receiptId"] == data["results"][2]["receiptId"]
    assert (data["created"], data["replayed"], data["failed"]) == (2, 2, 4)
    assert status_of(message) == "COMPLETED" and status_of(second) == "FAILED"
    assert status_of(early) == "READY" and status_of(task) == "DISPATCHED"
    assert DeliveryReceipt.objects.count() == 3
    assert trail(second)[-1] == ("EXECUTION_FAILED", "DISPATCHED", "FAILED", "30003")


@pytest.mark.parametrize("payload", [{}, {"items": []}, {"items": "x"}, [1, 2]])
def test_a_batch_needs_a_list_of_items(key_api, payload):
    response = key_api.post(BATCH_URL, payload)

    assert response.status_code == 400
    assert not DeliveryReceipt.objects.exists()


def test_a_batch_takes_at_most_1000(key_api, message):
    response = key_api.post(BATCH_URL, {"items": [body(message)] * 1001})

    assert response.status_code == 400
    assert "1000" in response.json()["message"]
    assert not DeliveryReceipt.objects.exists()


def test_one_receipt_by_activity_id_costs_seven_queries(key_api, commerce, query_count):
    """The key and its creator's roles (2); the activity, read and locked within the tenant at once (1); the
    receipts already stored (1); the INSERT, the activity's UPDATE and the events' INSERT (3). Issue 15."""
    first, second = dispatched_message(commerce), dispatched_message(commerce)
    key_api.post(URL, body(first, "SENT"))  # the key's last_used_at is fresh now

    with query_count() as counted:
        response = key_api.post(URL, body(second, "DELIVERED"))

    assert response.status_code == 201 and response.json()["activityStatus"] == "COMPLETED"
    sql = [query["sql"] for query in counted.captured_queries if "SAVEPOINT" not in query["sql"]]
    assert len(sql) == 7, sql


def test_a_receipt_for_another_tenants_activity_is_not_found_and_locks_nothing(key_api, other_tenant):
    theirs = dispatched_message(commerce_with_rep(other_tenant))

    response = key_api.post(URL, body(theirs, "DELIVERED"))

    assert response.status_code == 404
    assert Activity.objects.get(pk=theirs.pk).status == "DISPATCHED"
    assert not DeliveryReceipt.objects.exists()


def test_a_batch_reads_set_based(key_api, commerce, query_count):
    messages = [dispatched_message(commerce) for _ in range(30)]
    items = [body(m, "DELIVERED") for m in messages] + [body(m, "READ", occurred_at="2025-01-16T12:01:00Z")
                                                        for m in messages]
    key_api.post(BATCH_URL, {"items": [body(status="READ", activity_id=str(uuid.uuid4()))]})  # the key's first use
    with query_count() as small:
        key_api.post(BATCH_URL, {"items": items[:2] + items[30:32]})
    with query_count() as large:
        response = key_api.post(BATCH_URL, {"items": items[2:30] + items[32:]})

    assert response.json()["created"] == 56
    assert len(large.captured_queries) == len(small.captured_queries)


# --- reading ---------------------------------------------------------------------------------------------------


def test_reading_receipts_oldest_first_and_delivery_status_on_the_detail(key_api, admin_api, message, query_count):
    assert admin_api.get(f"/api/activities/{message.pk}").json()["deliveryStatus"] is None
    with query_count() as before:
        admin_api.get(f"/api/activities/{message.pk}")
    key_api.post(URL, body(message, "READ", occurred_at="2025-01-16T12:10:00Z"))
    key_api.post(URL, body(message, "SENT", occurred_at="2025-01-16T12:00:00Z"))  # arrives late, is older

    listed = admin_api.get(f"/api/activities/{message.pk}/delivery-receipts")
    with query_count() as after:
        detail = admin_api.get(f"/api/activities/{message.pk}")

    assert [r["status"] for r in listed.json()] == ["SENT", "READ"]
    assert detail.json()["deliveryStatus"] == "READ"
    assert len(after.captured_queries) == len(before.captured_queries)


def test_reading_receipts_needs_view_activities_and_the_tenants_activity(api_as, tenant, other_tenant, message):
    outsider = dispatched_message(commerce_with_rep(other_tenant))
    viewer = api_as(member(tenant, "VIEWER"), tenant)

    assert viewer.get(f"/api/activities/{message.pk}/delivery-receipts").status_code == 200
    assert viewer.get(f"/api/activities/{outsider.pk}/delivery-receipts").status_code == 404
