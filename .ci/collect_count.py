"""pytest plugin for .ci/run: records how many tests were selected, and how many of them carry `postgres`.

Counted from the items pytest will run (after conftest deselects `postgres` tests off PostgreSQL), so the figure
does not depend on how pytest prints its summary. Writes "<selected> <postgres-marked>" to $RETEN_COLLECT_COUNT_FILE.
"""
import os


def pytest_collection_finish(session):
    path = os.environ.get("RETEN_COLLECT_COUNT_FILE")
    if not path:
        return
    postgres = sum(1 for item in session.items if item.get_closest_marker("postgres") is not None)
    with open(path, "w") as out:
        out.write(f"{len(session.items)} {postgres}\n")
