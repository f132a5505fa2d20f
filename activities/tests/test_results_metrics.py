"""SPEC 14: reten_results_total{status} counts each stored result once, after its commit (a resend counts nothing)."""
import pytest
from prometheus_client import REGISTRY

from activities.tests.factories import TaskResultTypeFactory, dispatched_task, result_body

pytestmark = pytest.mark.django_db

URL = "/api/activity-results/tasks"


def counted(status):
    return REGISTRY.get_sample_value("reten_results_total", {"status": status}) or 0


def test_a_stored_result_is_counted_once_and_a_resend_is_not(admin_api, tenant, commerce, route, operator,
                                                             django_capture_on_commit_callbacks):
    TaskResultTypeFactory(tenant=tenant, code="VISITED", label="Visited")
    task = dispatched_task(commerce, route=route, operator=operator)
    before = counted("COMPLETED"), counted("NOT_EXECUTED")
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_api.post(URL, result_body(task)).status_code == 201
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_api.post(URL, result_body(task)).status_code == 200  # the resend
    assert (counted("COMPLETED"), counted("NOT_EXECUTED")) == (before[0] + 1, before[1])


def test_a_refused_result_is_not_counted(admin_api, tenant, commerce, route, operator,
                                         django_capture_on_commit_callbacks):
    task = dispatched_task(commerce, route=route, operator=operator)
    before = counted("COMPLETED")
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_api.post(URL, result_body(task, code="UNKNOWN")).status_code == 400
    assert counted("COMPLETED") == before
