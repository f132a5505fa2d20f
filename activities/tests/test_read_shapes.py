"""The hand-written read shapes (activities/api/serializers.py) give exactly what DRF's walk over the declared
fields gives: the same keys, in the same order, with the same values, for every kind of activity the API shows."""
import json

import pytest
from rest_framework import serializers

from activities import selectors
from activities.api.serializers import (
    ActivityAttributeSerializer,
    ActivityDetailSerializer,
    ActivityListItemSerializer,
    TargetUserSerializer,
    TaskResultSerializer,
)
from activities.models import Activity, EventType, TaskResult
from activities.services.creation import activity_create
from activities.tests.factories import (
    TaskResultTypeFactory,
    commerce_with_rep,
    create_body,
    dispatched_task,
    make_activity,
    result_body,
    set_status,
)
from tenants.actors import SYSTEM


def drf_walk(serializer_class, instance):
    """What DRF's Serializer.to_representation answers: every declared field, one by one."""
    return serializers.Serializer.to_representation(serializer_class(instance), instance)


def ordered(data):
    """Dicts compared with their key order (== on dicts ignores it)."""
    return json.dumps(data, default=repr)


@pytest.fixture
def activities(tenant, api_as, make_api_key, route, operator):
    commerce = commerce_with_rep(tenant)
    TaskResultTypeFactory(tenant=tenant, code="VISITED")
    key = api_as(api_key=make_api_key(["SUBMIT_ACTIVITY_RESULT"]))
    resolved = make_activity(commerce, attribute_keys=["commerce_info"], score=4, user_status="AT_RISK",
                             suggested_execution_time="2025-01-15T10:00:00Z")
    unresolved = make_activity(commerce, channel="EMAIL", attributes=[{"key": "commerce_info", "value": [1, None]}])
    task = dispatched_task(commerce, route=route, operator=operator)
    assert key.post("/api/integration/activity-results/tasks", result_body(task, status="PENDING")).status_code == 201
    message = set_status(make_activity(commerce), "DISPATCHED")
    Activity.objects.filter(pk=message.pk).update(provider_activity_id="prov-shape")
    assert key.post("/api/integration/delivery-receipts", {"activity_id": str(message.pk), "status": "SENT",
                                                           "occurred_at": "2025-01-16T12:00:00Z"}).status_code == 201
    failed = make_activity(commerce)
    Activity.objects.filter(pk=failed.pk).update(status="FAILED", failed_by=EventType.DISPATCH_FAILED,
                                                 last_dispatch_error="timeout", dispatch_attempt_count=3)
    created = activity_create(tenant=tenant, actor=SYSTEM, data=create_body(commerce, attribute_keys=[
        "commerce_info"])).activity  # as a create's response renders it: rows attached, nothing re-read
    read = [selectors.activity_get(tenant=tenant, activity_id=a.pk) for a in (resolved, unresolved, task, message,
                                                                               failed)]
    return [*read, created]


def test_the_detail_is_drfs_walk(activities):
    assert any(a.last_result is not None for a in activities) and any(a.target_users.all() for a in activities)
    for activity in activities:
        assert ordered(ActivityDetailSerializer(activity).data) == ordered(drf_walk(ActivityDetailSerializer,
                                                                                    activity))


def test_the_list_item_is_drfs_walk(activities):
    for activity in activities:
        assert ordered(ActivityListItemSerializer(activity).data) == ordered(drf_walk(ActivityListItemSerializer,
                                                                                      activity))


def test_target_users_and_attributes_are_drfs_walk(activities):
    targets = [t for a in activities for t in a.target_users.all()]
    attributes = [attribute for a in activities for attribute in a.attributes.all()]
    assert targets and attributes
    assert any(t.commerce_user is None for t in targets) and any(t.commerce_user for t in targets)
    for target in targets:
        assert ordered(TargetUserSerializer(target).data) == ordered(drf_walk(TargetUserSerializer, target))
    for attribute in attributes:
        assert ordered(ActivityAttributeSerializer(attribute).data) == ordered(drf_walk(ActivityAttributeSerializer,
                                                                                        attribute))


def test_a_task_result_is_drfs_walk(tenant, api_as, make_api_key, commerce, route, operator):
    TaskResultTypeFactory(tenant=tenant, code="VISITED")
    key = api_as(api_key=make_api_key(["SUBMIT_ACTIVITY_RESULT"]))
    task = dispatched_task(commerce, route=route, operator=operator)
    first = key.post("/api/integration/activity-results/tasks", result_body(task, status="PENDING", task_result={
        "result": "VISITED", "comment": "Call back", "operator_external_id": "OP-1", "payload": {"basket": [1, 2]}}))
    assert first.status_code == 201, first.json()
    key.post("/api/integration/activity-results/tasks", result_body(task, status="COMPLETED",
                                                                     occurred_at="2025-01-16T13:00:00Z"))
    results = list(TaskResult.objects.order_by("occurred_at"))
    assert len(results) == 2
    for result in results:
        assert ordered(TaskResultSerializer(result).data) == ordered(drf_walk(TaskResultSerializer, result))
