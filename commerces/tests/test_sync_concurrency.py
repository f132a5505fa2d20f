"""Two syncs racing on the same external_id, on PostgreSQL (SQLite has no concurrent writers)."""
import threading
import time

import pytest
from django.db import connection, transaction

from commerces.models import Commerce
from commerces.services import commerce_sync
from reten.errors import Conflict


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_losing_sync_of_a_race_gets_a_conflict_and_writes_nothing(tenant):
    first_written, release_first = threading.Event(), threading.Event()
    outcome = {}

    def first():
        try:
            with transaction.atomic():
                commerce_sync(tenant=tenant, items=[{"external_id": "EXT-1", "name": "First"}])
                first_written.set()
                release_first.wait(10)
        finally:
            connection.close()

    def second():
        try:
            outcome["result"] = commerce_sync(tenant=tenant, items=[{"external_id": "EXT-2", "name": "Second"},
                                                                    {"external_id": "EXT-1", "name": "Second"}])
        except Conflict as exc:
            outcome["result"] = exc
        finally:
            connection.close()

    first_thread = threading.Thread(target=first)
    first_thread.start()
    assert first_written.wait(10)
    second_thread = threading.Thread(target=second)
    second_thread.start()
    time.sleep(0.5)
    assert second_thread.is_alive()  # waiting on the unique index the first sync holds
    release_first.set()
    first_thread.join(10)
    second_thread.join(10)

    assert isinstance(outcome["result"], Conflict)
    assert outcome["result"].status_code == 409
    assert list(Commerce.objects.values_list("external_id", "name")) == [("EXT-1", "First")]
