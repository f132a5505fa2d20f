"""bench/_server.py is the one way the HTTP benchmarks run, and every benchmark's last line is the same
machine-readable `RESULT {json}` (a `make bench` runner reads it). The benchmarks themselves run by hand on
PostgreSQL; this keeps their shared parts true in the suite."""
import ast
import json
from pathlib import Path

import pytest

from bench._server import result_line

BENCH = Path(__file__).resolve().parents[2] / "bench"
HTTP_BENCHES = ["activity_create", "result_ingest", "receipt_ingest"]
RESULT_BENCHES = [*HTTP_BENCHES, "webhook_delivery"]


def test_the_result_line_is_the_runners_format():
    line = result_line(name="result_ingest", figure=10.8, unit="req/s", baseline=27.0, target=0.4)
    assert line.startswith("RESULT ")
    assert json.loads(line.removeprefix("RESULT ")) == {
        "name": "result_ingest", "figure": 10.8, "unit": "req/s", "baseline": 27.0, "ratio": 0.4, "target": 0.4,
        "higher_is_better": True}
    untargeted = json.loads(result_line(name="receipt_ingest", figure=900, unit="receipts/s", baseline=3000,
                                        target=None).removeprefix("RESULT "))
    assert (untargeted["target"], untargeted["ratio"], untargeted["figure"]) == (None, 0.3, 900.0)


def _calls(tree, name):
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", None)) == name]


@pytest.mark.parametrize("bench", RESULT_BENCHES)
def test_each_benchmark_prints_its_result_line_under_its_own_name(bench):
    tree = ast.parse((BENCH / f"{bench}.py").read_text())
    names = [kw.value.value for call in _calls(tree, "print_result") for kw in call.keywords if kw.arg == "name"]
    assert names == [bench]


@pytest.mark.parametrize("bench", HTTP_BENCHES)
def test_the_http_benchmarks_share_one_server_module(bench):
    tree = ast.parse((BENCH / f"{bench}.py").read_text())
    modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "bench._server" in modules
    assert not _calls(tree, "Popen") and not _calls(tree, "recreate_database")  # no server or database of its own
    assert not (BENCH / f"{bench}_settings.py").exists() and not (BENCH / f"{bench}_urls.py").exists()


@pytest.mark.urls("bench._urls")
@pytest.mark.django_db
def test_the_baseline_routes_answer_behind_the_real_auth(api_as, make_api_key, tenant):
    from activities.models import DeliveryReceipt
    from activities.tests.factories import commerce_with_rep, make_activity

    commerce = commerce_with_rep(tenant)
    message = make_activity(commerce)
    key = api_as(api_key=make_api_key(["CREATE_ACTIVITY", "SUBMIT_ACTIVITY_RESULT"]))
    assert key.post("/bench/baseline-activity", {"idempotency_key": "b-1"}).status_code == 201
    assert key.post("/bench/baseline-result", {"commerce_id": str(commerce.pk)}).status_code == 201
    response = key.post("/bench/baseline-receipts", {"items": [{"activity_id": str(message.pk), "status": "SENT"}]})
    assert (response.status_code, response.json()) == (200, {"created": 1})
    assert DeliveryReceipt.objects.filter(activity=message).count() == 1
    assert api_as().post("/bench/baseline-result", {"commerce_id": str(commerce.pk)}).status_code in (401, 403)
