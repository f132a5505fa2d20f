"""A lost or refused database connection under a request (a restart, a failover): 503 with the envelope, never a
500, and the next request works again by itself (issue 15, faults under load)."""
import pytest
from django.db import InterfaceError, OperationalError

from activities import selectors


@pytest.mark.django_db
@pytest.mark.parametrize("error", [OperationalError("server closed the connection unexpectedly"),
                                   InterfaceError("connection already closed")])
def test_a_lost_database_answers_503_with_the_envelope_and_the_api_recovers(admin_api, monkeypatch, caplog, error):
    real = selectors.activity_list

    def broken(**kwargs):
        raise error

    monkeypatch.setattr(selectors, "activity_list", broken)
    response = admin_api.get("/api/activities")

    assert response.status_code == 503
    assert response.json() == {"statusCode": 503, "message": "The database is unavailable; try again shortly",
                               "error": "Service Unavailable"}
    assert response["Retry-After"] == "5"
    assert f"Database unavailable during an API request: {error.__class__.__name__}" in caplog.text
    assert "Unhandled error" not in caplog.text  # not logged as a bug

    monkeypatch.setattr(selectors, "activity_list", real)
    response = admin_api.get("/api/activities")
    assert response.status_code == 200
    assert response.json()["meta"]["total"] == 0


@pytest.mark.django_db
def test_a_bug_is_still_a_500(admin_api, monkeypatch, caplog):
    def broken(**kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(selectors, "activity_list", broken)
    response = admin_api.get("/api/activities")

    assert response.status_code == 500
    assert response.json()["statusCode"] == 500
    assert "Unhandled error in API view" in caplog.text
