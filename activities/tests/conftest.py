import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from activities.tests.factories import commerce_with_rep
from commerces.tests.factories import OperatorFactory, RouteFactory


class HookServer:
    """A real client hook on 127.0.0.1: /value answers {"value": ...}, /error 500, /slow sleeps, /text is not
    JSON, /empty has no value. Every request body is kept in `received`."""

    def __init__(self):
        self.received = []
        self.value = {"tier": "GOLD"}
        self.slow_seconds = 2.0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                hook.received.append((self.path, json.loads(self.rfile.read(length) or b"null")))
                if self.path == "/slow":
                    time.sleep(hook.slow_seconds)
                status, body = {
                    "/value": (200, json.dumps({"value": hook.value})),
                    "/error": (500, json.dumps({"message": "boom"})),
                    "/slow": (200, json.dumps({"value": "late"})),
                    "/text": (200, "not json"),
                    "/empty": (200, json.dumps({"other": 1})),
                }.get(self.path, (404, "{}"))
                encoded = body.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(encoded)))
                    self.end_headers()
                    self.wfile.write(encoded)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook_server():
    server = HookServer()
    yield server
    server.close()


@pytest.fixture
def fast_hook_timeout(settings):
    settings.ATTRIBUTE_HOOK_TIMEOUT_SECONDS = 0.5
    return 0.5


@pytest.fixture
def commerce(tenant):
    """An active commerce of `tenant` with a COMMERCE_REP reachable by phone."""
    return commerce_with_rep(tenant)


@pytest.fixture
def route(tenant):
    return RouteFactory(tenant=tenant)


@pytest.fixture
def operator(tenant):
    return OperatorFactory(tenant=tenant)
