import pytest

from activities.tests.factories import commerce_with_rep
from dispatch.tests.stub_provider import StubProvider


@pytest.fixture
def commerce(tenant):
    return commerce_with_rep(tenant)


@pytest.fixture
def receiver():
    """A real HTTP receiver on 127.0.0.1 (the dispatch stub: 'accept' answers 201, 'error' 500, 'slow' sleeps)."""
    server = StubProvider().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def no_on_commit_delivery(settings):
    # Tests drive delivery passes themselves; the on-commit path has its own test.
    settings.WEBHOOK_DELIVER_ON_COMMIT = False
