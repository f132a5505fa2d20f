"""SPEC 14: reten_receipts_total{status} counts each stored receipt once, after its commit (a resend or a refusal
counts nothing), on the single route and in a batch."""
import pytest
from prometheus_client import REGISTRY

from activities.tests.factories import dispatched_task
from activities.tests.test_receipts_api import BATCH_URL, URL, body, dispatched_message

pytestmark = pytest.mark.django_db


def counted(status):
    return REGISTRY.get_sample_value("reten_receipts_total", {"status": status}) or 0


@pytest.fixture
def key_api(api_as, make_api_key):
    return api_as(api_key=make_api_key(["SUBMIT_ACTIVITY_RESULT", "VIEW_ACTIVITIES"]))


def test_a_stored_receipt_is_counted_once_and_a_resend_is_not(key_api, commerce, django_capture_on_commit_callbacks):
    message = dispatched_message(commerce)
    before = counted("DELIVERED"), counted("SENT")
    with django_capture_on_commit_callbacks(execute=True):
        assert key_api.post(URL, body(message, "DELIVERED")).status_code == 201
    with django_capture_on_commit_callbacks(execute=True):
        assert key_api.post(URL, body(message, "DELIVERED")).status_code == 200  # the resend
    assert (counted("DELIVERED"), counted("SENT")) == (before[0] + 1, before[1])


def test_a_batch_counts_what_it_stored_by_status(key_api, commerce, route, operator,
                                                 django_capture_on_commit_callbacks):
    first, second = dispatched_message(commerce), dispatched_message(commerce)
    task = dispatched_task(commerce, route=route, operator=operator)
    before = counted("SENT"), counted("READ")
    items = [body(first, "SENT"), body(second, "SENT"), body(second, "READ"), body(task, "READ")]
    with django_capture_on_commit_callbacks(execute=True):
        response = key_api.post(BATCH_URL, {"items": items})
    assert [item["status"] for item in response.json()["results"]] == [201, 201, 201, 400]
    assert (counted("SENT"), counted("READ")) == (before[0] + 2, before[1] + 1)


def test_nothing_is_counted_before_the_commit(key_api, commerce, django_capture_on_commit_callbacks):
    message = dispatched_message(commerce)
    before = counted("READ")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert key_api.post(URL, body(message, "READ")).status_code == 201
    assert counted("READ") == before and callbacks  # waiting for a commit that the test transaction never makes
