"""The state machine of SPEC 4.2 on the model: every legal move, and every other one refused."""
import pytest
from django_fsm import TransitionNotAllowed

from activities.models import ActivityStatus as S
from activities.tests.factories import activity_in

LEGAL = {
    "resolution_failed": (S.READY, S.UNRESOLVED),
    "resolution_retried": (S.UNRESOLVED, S.READY),
    "dispatch_succeeded": (S.READY, S.DISPATCHED),
    "dispatch_exhausted": (S.READY, S.FAILED),
    "cancel": (S.READY, S.CANCELED),
    "result_completed": (S.DISPATCHED, S.COMPLETED),
    "result_not_executed": (S.DISPATCHED, S.FAILED),
    "result_canceled": (S.DISPATCHED, S.CANCELED),
}
ILLEGAL = [(name, status) for name, (source, _) in LEGAL.items() for status in S.values if status != source]


@pytest.mark.parametrize("name", LEGAL)
def test_each_transition_of_the_table_moves_from_its_source_to_its_target(commerce, name):
    source, target = LEGAL[name]
    activity = activity_in(commerce, source)
    getattr(activity, name)()
    activity.save()
    activity.refresh_from_db()
    assert activity.status == target


@pytest.mark.parametrize(("name", "status"), ILLEGAL)
def test_every_other_move_is_refused_and_changes_nothing(commerce, name, status):
    activity = activity_in(commerce, status)
    with pytest.raises(TransitionNotAllowed):
        getattr(activity, name)()
    assert activity.status == status
    activity.refresh_from_db()
    assert activity.status == status


def test_status_cannot_be_assigned_by_hand(commerce):
    activity = activity_in(commerce, S.READY)
    with pytest.raises(AttributeError):
        activity.status = S.COMPLETED


def test_terminal_statuses_have_no_way_out_but_a_hard_override(commerce):
    for status in (S.COMPLETED, S.CANCELED, S.FAILED):
        activity = activity_in(commerce, status)
        assert [t.name for t in activity.get_available_status_transitions()] == ["hard_override"]


@pytest.mark.parametrize("source", S.values)
def test_a_hard_override_moves_from_any_state_to_the_state_it_names(commerce, source):
    for target in S.values:
        activity = activity_in(commerce, source)
        activity.hard_override(target)
        activity.save()
        activity.refresh_from_db()
        assert activity.status == target


def test_a_hard_override_to_no_known_state_is_refused(commerce):
    from django_fsm import InvalidResultState

    activity = activity_in(commerce, S.COMPLETED)
    with pytest.raises(InvalidResultState):
        activity.hard_override("ARCHIVED")
    activity.refresh_from_db()
    assert activity.status == S.COMPLETED
