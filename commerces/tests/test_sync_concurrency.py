"""Two syncs racing on the same external_id, on PostgreSQL (SQLite has no concurrent writers)."""
import threading

import pytest
from django.db import connection, transaction

from commerces.models import Commerce
from commerces.services import SyncResult, commerce_sync
from reten.errors import Conflict
from reten.tests.locks import backend_pid, wait_until_blocked

CONCURRENT_CHANGE = ("A concurrent change to the same records conflicted with this sync; nothing was written. "
                     "Retry the request.")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_losing_sync_of_a_race_gets_a_conflict_and_writes_nothing(tenant):
    first_written, release_first, second_started = threading.Event(), threading.Event(), threading.Event()
    pids, outcome = {}, {}

    def first():
        try:
            with transaction.atomic():
                pids["first"] = backend_pid()
                outcome["first"] = commerce_sync(tenant=tenant, items=[{"external_id": "EXT-1", "name": "First"}])
                first_written.set()
                release_first.wait(10)
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test looks at
            outcome["first"] = exc
        finally:
            connection.close()

    def second():
        try:
            pids["second"] = backend_pid()
            second_started.set()
            outcome["second"] = commerce_sync(tenant=tenant, items=[{"external_id": "EXT-2", "name": "Second"},
                                                                    {"external_id": "EXT-1", "name": "Second"}])
        except Exception as exc:  # noqa: BLE001
            outcome["second"] = exc
        finally:
            connection.close()

    first_thread = threading.Thread(target=first)
    first_thread.start()
    assert first_written.wait(10)
    second_thread = threading.Thread(target=second)
    second_thread.start()
    assert second_started.wait(10)
    # The second sync is waiting on the unique index entry the first one's open transaction holds.
    blocked = wait_until_blocked(pids["second"], by_pid=pids["first"])
    release_first.set()
    first_thread.join(10)
    second_thread.join(10)
    assert not first_thread.is_alive() and not second_thread.is_alive()
    assert blocked, "the second sync never waited on the first one's lock: this test raced nothing"

    assert outcome["first"] == SyncResult(created=1, updated=0)
    assert isinstance(outcome["second"], Conflict), outcome["second"]
    assert (outcome["second"].status_code, outcome["second"].message) == (409, CONCURRENT_CHANGE)
    assert list(Commerce.objects.values_list("external_id", "name")) == [("EXT-1", "First")]
