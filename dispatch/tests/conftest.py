import pytest

from dispatch.tests.stub_provider import StubProvider, StubSmtp, closed_port_url


@pytest.fixture
def stub():
    """A real HTTP provider on 127.0.0.1 (see stub_provider.py for its modes)."""
    server = StubProvider().start()
    yield server
    server.stop()


@pytest.fixture
def refused_url():
    return closed_port_url()


@pytest.fixture
def smtp():
    server = StubSmtp(credentials=("mailer", "smtp-secret-pass")).start()
    yield server
    server.stop()


@pytest.fixture
def fast_retries(settings):
    """Retries due at once and a short timeout, so three attempts fit in one test."""
    settings.DISPATCH_BACKOFF_SECONDS = 0
    settings.DISPATCH_HTTP_TIMEOUT = 0.5
    return settings


@pytest.fixture
def celery_broker(settings):
    """Point this process's Celery app at a broker for one test: celery_broker("redis://...")."""
    from reten.celery import app

    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}

    def configure(url):
        settings.CELERY_BROKER_URL = url
        settings.CELERY_TASK_ALWAYS_EAGER = False
        app.conf.update(broker_url=url, task_always_eager=False)
        forget_connections()

    def forget_connections():
        # The app caches its connection and producer pools for the broker it first used.
        app._pool = None
        app.amqp._producer_pool = None

    yield configure
    app.conf.update(**saved)
    forget_connections()
