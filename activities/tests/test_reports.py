"""SPEC 14 reports: counts by one or two keys, and effectiveness per channel and result type, against a
hand-counted fixture; one or two aggregate queries whatever the number of activities."""
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from activities import reports
from activities.models import Activity, TaskDetails, TaskResult
from commerces.tests.factories import CommerceFactory, OperatorFactory, RouteFactory

pytestmark = pytest.mark.django_db

ACTIVITIES = "/api/reports/activities"
EFFECTIVENESS = "/api/reports/effectiveness"
T0 = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
WINDOW = {"from": "2025-03-09", "to": "2025-03-11"}


def seconds(n):
    return timedelta(seconds=n)


def make(tenant, *, type="MESSAGE", channel="SMS", status="READY", reason="promo", created=T0, dispatched=None,
         closed=None, result=None, task=None):
    """One activity as the services would have left it; result = (code, status, stored after dispatch s)."""
    activity = Activity.objects.create(tenant=tenant, type=type, channel=channel, reason=reason,
                                       idempotency_key=str(uuid.uuid4()), scheduled_at=created)
    fields = {"status": status, "created_at": created,
              "dispatched_at": created + seconds(dispatched) if dispatched is not None else None,
              "completed_at": created + seconds(dispatched + closed) if closed is not None else None}
    if task is not None:
        TaskDetails.objects.create(activity=activity, route=task[0], operator=task[1])
    if result is not None:
        code, result_status, after = result
        stored = TaskResult.objects.create(
            tenant=tenant, source="RETEN_ACTIVITY", activity=activity, commerce=CommerceFactory(tenant=tenant),
            status=result_status, occurred_at=created, result_code=code, dedupe_key=uuid.uuid4().hex)
        TaskResult.objects.filter(pk=stored.pk).update(created_at=created + seconds(dispatched + after))
        fields["last_result"] = stored
    Activity.objects.filter(pk=activity.pk).update(**fields)
    return activity


@pytest.fixture
def fixture(tenant, other_tenant):
    """Hand-counted: 4 SALESMAN tasks (3 VISITED, 1 ABSENT) and 3 SMS messages in the window; 2 outside it."""
    route, operator = RouteFactory(tenant=tenant, name="North"), OperatorFactory(tenant=tenant, name="Ana")
    task = {"type": "TASK", "channel": "SALESMAN", "reason": "renew", "task": (route, operator)}
    day2 = T0 + timedelta(days=1)
    make(tenant, **task, status="COMPLETED", dispatched=10, closed=100, result=("VISITED", "EFFECTIVE", 100))
    make(tenant, **task, created=day2, status="COMPLETED", dispatched=30, closed=300,
         result=("VISITED", "NOT_EFFECTIVE", 300))
    make(tenant, **task, created=day2, status="COMPLETED", dispatched=20, closed=1000,
         result=("VISITED", "EFFECTIVE", 1000))
    make(tenant, **{**task, "reason": "absent"}, status="FAILED", dispatched=40,
         result=("ABSENT", "NOT_EXECUTED", 60))
    make(tenant, status="DISPATCHED", dispatched=5)
    make(tenant)
    make(tenant, created=day2, status="FAILED")
    make(tenant, created=T0 - timedelta(days=5))  # before the window
    make(other_tenant)  # another tenant
    return route, operator


def rows_by(body, *keys):
    return {tuple(row[key] for key in keys): row["count"] for row in body["rows"]}


class TestActivitiesReport:
    def test_by_status(self, admin_api, fixture):
        body = admin_api.get(ACTIVITIES, {**WINDOW, "group_by": "status"}).json()
        assert body == {"rows": [{"status": "COMPLETED", "count": 3}, {"status": "DISPATCHED", "count": 1},
                                 {"status": "FAILED", "count": 2}, {"status": "READY", "count": 1}], "total": 7}

    def test_by_two_keys(self, admin_api, fixture):
        body = admin_api.get(ACTIVITIES, {**WINDOW, "group_by": "channel,type"}).json()
        assert body["rows"] == [{"channel": "SALESMAN", "type": "TASK", "count": 4},
                                {"channel": "SMS", "type": "MESSAGE", "count": 3}]
        assert body["total"] == 7

    def test_by_day_reason_and_result(self, admin_api, fixture):
        def get(group_by):
            return admin_api.get(ACTIVITIES, {**WINDOW, "group_by": group_by}).json()

        assert rows_by(get("day"), "day") == {("2025-03-10",): 4, ("2025-03-11",): 3}
        assert rows_by(get("reason"), "reason") == {("absent",): 1, ("promo",): 3, ("renew",): 3}
        assert rows_by(get("result"), "result") == {(None,): 3, ("ABSENT",): 1, ("VISITED",): 3}
        assert rows_by(get("status,result"), "status", "result") == {
            ("COMPLETED", "VISITED"): 3, ("FAILED", "ABSENT"): 1, ("FAILED", None): 1, ("DISPATCHED", None): 1,
            ("READY", None): 1}

    def test_by_operator_and_route(self, admin_api, fixture):
        route, operator = fixture
        body = admin_api.get(ACTIVITIES, {**WINDOW, "group_by": "operator,route"}).json()
        assert rows_by(body, "operator", "operatorName", "route", "routeName") == {
            (str(operator.id), "Ana", str(route.id), "North"): 4, (None, None, None, None): 3}

    def test_the_window_is_inclusive_on_created_at(self, admin_api, fixture):
        body = admin_api.get(ACTIVITIES, {"from": T0.isoformat(), "to": T0.isoformat(), "group_by": "type"}).json()
        assert body["total"] == 4  # the four created at exactly T0

    @pytest.mark.parametrize("params, field", [
        ({"to": "2025-03-11", "group_by": "status"}, "from"),
        ({"from": "2025-03-09", "group_by": "status"}, "to"),
        ({**WINDOW}, "group_by"),
        ({**WINDOW, "group_by": ""}, "group_by"),
        ({**WINDOW, "group_by": "colour"}, "group_by"),
        ({**WINDOW, "group_by": "status,channel,type"}, "group_by"),
        ({**WINDOW, "group_by": "status,status"}, "group_by"),
        ({"from": "2025-01-01", "to": "2026-01-03", "group_by": "status"}, "to"),
        ({"from": "2025-03-12", "to": "2025-03-11", "group_by": "status"}, "from"),
        ({"from": "yesterday", "to": "2025-03-11", "group_by": "status"}, "from"),
        ({"from": "2025-02-30", "to": "2025-03-11", "group_by": "status"}, "from"),
    ])
    def test_bad_queries_are_400(self, admin_api, params, field):
        response = admin_api.get(ACTIVITIES, params)
        assert response.status_code == 400
        assert field in response.json()["details"]

    def test_366_days_is_allowed(self, admin_api, fixture):
        response = admin_api.get(ACTIVITIES, {"from": "2024-03-10", "to": "2025-03-10", "group_by": "status"})
        assert response.status_code == 200


def effectiveness(tenant):
    return reports.effectiveness_report(tenant=tenant, date_from=datetime(2025, 3, 9, tzinfo=UTC),
                                        date_to=datetime(2025, 3, 12, tzinfo=UTC))


class TestEffectivenessReport:
    def test_figures_match_the_hand_count(self, admin_api, fixture):
        body = admin_api.get(EFFECTIVENESS, WINDOW).json()
        assert body["total"] == 7
        assert body["rows"] == [
            {"channel": "SALESMAN", "resultType": "ABSENT", "count": 1, "dispatched": 1, "completed": 0,
             "failed": 1, "effective": 0, "notEffective": 0, "effectivenessRate": None,
             "readyToDispatchedSeconds": {"median": 40.0, "p90": 40.0},
             "dispatchedToClosedSeconds": {"median": 60.0, "p90": 60.0}},
            {"channel": "SALESMAN", "resultType": "VISITED", "count": 3, "dispatched": 3, "completed": 3,
             "failed": 0, "effective": 2, "notEffective": 1, "effectivenessRate": 0.6667,
             # ready: 10, 20, 30 -> median 20, p90 28 (interpolated); closed: 100, 300, 1000 -> 300, 860
             "readyToDispatchedSeconds": {"median": 20.0, "p90": 28.0},
             "dispatchedToClosedSeconds": {"median": 300.0, "p90": 860.0}},
            {"channel": "SMS", "resultType": None, "count": 3, "dispatched": 1, "completed": 0, "failed": 1,
             "effective": 0, "notEffective": 0, "effectivenessRate": None,
             "readyToDispatchedSeconds": {"median": 5.0, "p90": 5.0},
             "dispatchedToClosedSeconds": {"median": None, "p90": None}},
        ]

    def test_needs_from_and_to(self, admin_api):
        response = admin_api.get(EFFECTIVENESS, {"from": "2025-03-09"})
        assert response.status_code == 400 and "to" in response.json()["details"]

    def test_another_tenant_sees_none_of_it(self, api_as, other_tenant, fixture):
        from tenants.tests.factories import member
        body = api_as(member(other_tenant, "VIEWER"), other_tenant).get(EFFECTIVENESS, WINDOW).json()
        assert body["total"] == 1 and body["rows"][0]["channel"] == "SMS"


def test_percentile_cont_interpolates_like_postgresql():
    assert reports.percentile_cont([], 0.5) is None
    assert reports.percentile_cont([7.0], 0.9) == 7.0
    assert reports.percentile_cont([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert reports.percentile_cont([10.0, 30.0, 20.0], 0.9) == pytest.approx(28.0)


@pytest.mark.parametrize("build", ["activities", "effectiveness"])
def test_each_report_is_one_or_two_queries_whatever_the_number_of_activities(tenant, fixture, build):
    def run():
        with CaptureQueriesContext(connection) as captured:
            if build == "activities":
                reports.activities_report(tenant=tenant, date_from=datetime(2025, 3, 9, tzinfo=UTC),
                                          date_to=datetime(2025, 3, 12, tzinfo=UTC), group_by=["operator", "day"])
            else:
                effectiveness(tenant)
        return len(captured.captured_queries)

    few = run()
    route, operator = fixture
    for n in range(20):
        make(tenant, type="TASK", channel="SALESMAN", status="COMPLETED", dispatched=n, closed=n,
             result=("VISITED", "EFFECTIVE", n), task=(route, operator))
    expected = 1 if build == "activities" or connection.vendor == "postgresql" else 2
    assert few == run() == expected


@pytest.mark.postgres
def test_the_effectiveness_report_reads_last_results_through_the_covering_index_alone(tenant, fixture):
    """Migration 0012: the report's probes into the last results are index-only, so PostgreSQL keeps a nested
    loop over the window instead of a hash join over every result (issue 15). A column of the last result that
    the report starts to read must join the index's INCLUDE list, or the probes fetch rows again."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'task_result_report_cover_idx'")
        (definition,) = cursor.fetchone()
    assert definition.endswith("(id) INCLUDE (result_code, status, created_at)")
    with CaptureQueriesContext(connection) as captured:
        effectiveness(tenant)
    (query,) = captured.captured_queries
    with connection.cursor() as cursor:
        for setting in ("enable_hashjoin", "enable_mergejoin", "enable_seqscan", "enable_bitmapscan"):
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute("EXPLAIN " + query["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan using task_result_report_cover_idx on activities_taskresult" in plan, plan
