"""An activity created already due is handed to the dispatcher right after the commit (SPEC 5.3)."""
from datetime import timedelta

from django.utils import timezone

from activities.hooks import hooks
from activities.services import activity_bulk_create, activity_create
from activities.tests.factories import create_body
from commerces.tests.factories import CommerceFactory
from tenants.actors import SYSTEM


def test_due_ready_activities_are_handed_over_on_commit_and_others_are_not(commerce, tenant, monkeypatch,
                                                                          django_capture_on_commit_callbacks):
    handed = []
    monkeypatch.setattr(hooks, "activities_due", [handed.append])
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        due = activity_create(tenant=tenant, actor=SYSTEM, data=create_body(commerce, scheduled_at=now)).activity
        activity_create(tenant=tenant, actor=SYSTEM, data=create_body(commerce, scheduled_at=now + timedelta(days=3)))
        activity_create(tenant=tenant, actor=SYSTEM,
                        data=create_body(CommerceFactory(tenant=tenant), scheduled_at=now))  # UNRESOLVED
        activity_create(tenant=tenant, actor=SYSTEM, data=create_body(commerce, scheduled_at=now),
                        dispatch_due=False)
    assert len(callbacks) == 1
    assert [[a.pk for a in batch] for batch in handed] == [[due.pk]]


def test_bulk_hands_over_its_due_activities_in_one_call(commerce, tenant, monkeypatch,
                                                        django_capture_on_commit_callbacks):
    handed = []
    monkeypatch.setattr(hooks, "activities_due", [handed.append])
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = activity_bulk_create(tenant=tenant, actor=SYSTEM, items=[
            create_body(commerce, scheduled_at=now), create_body(commerce, scheduled_at=now - timedelta(hours=1)),
            create_body(commerce, scheduled_at=now + timedelta(days=2))])
    assert [[a.pk for a in batch] for batch in handed] == [[outcomes[0].activity_id, outcomes[1].activity_id]]


def test_a_replay_hands_nothing_over(commerce, tenant, monkeypatch, django_capture_on_commit_callbacks):
    handed = []
    monkeypatch.setattr(hooks, "activities_due", [handed.append])
    body = create_body(commerce, scheduled_at=timezone.now())
    activity_create(tenant=tenant, actor=SYSTEM, data=body)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert activity_create(tenant=tenant, actor=SYSTEM, data=body).replayed is True
    assert callbacks == [] and handed == []
