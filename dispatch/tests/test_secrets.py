"""Credentials never leave in clear: not in API responses, admin pages, log lines or the database."""
import logging

import pytest
from django.db import connection

from activities.models import Activity, ActivityStatus
from dispatch.models import DispatchConfig, DispatchProvider
from dispatch.services import dispatch_pass
from dispatch.tests import factories

pytestmark = pytest.mark.django_db

SECRET = "sk_live_NEVER_SHOW_ME_4242"


def every_table_as_text():
    """All rows of all tables, as text: what someone with the database bytes would read."""
    dump = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            dump.append(repr(cursor.fetchall()))
    return "\n".join(dump)


def test_the_secret_never_leaves_in_clear(admin_api, client, superuser, tenant, stub, caplog):
    caplog.set_level(logging.DEBUG)
    yom = DispatchProvider.objects.get(code="YOM")
    responses = [admin_api.post("/api/dispatch-configs", {
        "dispatch_provider_id": str(yom.id), "channel": "SALESMAN", "base_url": stub.url,
        "credentials": {"apiKey": SECRET}})]
    config_id = responses[0].json()["id"]
    responses += [
        admin_api.get("/api/dispatch-configs"),
        admin_api.get(f"/api/dispatch-configs/{config_id}"),
        admin_api.post(f"/api/dispatch-configs/{config_id}/test"),
        admin_api.patch(f"/api/dispatch-configs/{config_id}", {"settings": {"leadTimeSeconds": 5}}),
    ]
    stub.set("error")  # failures are logged: the log lines must not carry the key either
    activity = factories.activity(tenant, channel="SALESMAN", type="TASK")
    dispatch_pass()
    stub.set("accept")
    admin_api.post(f"/api/activities/tasks/{activity.id}/dispatch")
    Activity.objects.filter(pk=activity.pk).update(next_attempt_at=None)
    dispatch_pass()

    client.force_login(superuser)
    pages = [client.get(path) for path in (
        "/admin/dispatch/dispatchconfig/",
        f"/admin/dispatch/dispatchconfig/{config_id}/change/",
        f"/admin/dispatch/dispatchconfig/{config_id}/history/",
        "/admin/dispatch/dispatchconfig/dashboard/",
    )]

    assert all(r.status_code in (200, 201, 204) for r in responses)
    assert all(page.status_code == 200 for page in pages)
    for response in responses + pages:
        assert SECRET not in response.content.decode()
    assert SECRET not in caplog.text
    assert "apiKey" in pages[1].content.decode()  # the name is shown, masked
    assert SECRET not in every_table_as_text()
    # ... while the provider did get it, so it was really stored and used.
    assert {r.headers.get("x-api-key") for r in stub.requests} == {SECRET}
    assert Activity.objects.get(pk=activity.pk).status == ActivityStatus.DISPATCHED


def test_stored_form_is_keyid_nonce_ciphertext(tenant):
    config = factories.config(tenant, channel="SALESMAN", credentials={"apiKey": SECRET})
    stored = DispatchConfig.objects.get(pk=config.pk).credentials_encrypted
    key_id, nonce, ciphertext = stored.split(":")
    assert key_id == "test" and nonce and ciphertext


def test_a_provider_echoing_the_key_back_does_not_leak_it(tenant, admin_api, caplog):
    """The stub answers 500 with a body that repeats the x-api-key it received."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    from activities.models import StatusEvent

    class Echo(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _echo(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = f"bad key {self.headers.get('x-api-key')}".encode()
            self.send_response(500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _echo

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        caplog.set_level(logging.DEBUG)
        config = factories.config(tenant, channel="SALESMAN", base_url=f"http://127.0.0.1:{server.server_port}",
                                  credentials={"apiKey": SECRET})
        activity = factories.activity(tenant, channel="SALESMAN", type="TASK")
        dispatch_pass()
        tested = admin_api.post(f"/api/dispatch-configs/{config.id}/test")
        now = admin_api.post(f"/api/activities/tasks/{activity.id}/dispatch")
    finally:
        server.shutdown()
        server.server_close()

    assert tested.json()["ok"] is False and now.status_code == 502
    # The provider's words reach the server log only, with the key masked (SPEC 10).
    assert "bad key ***" in caplog.text
    assert Activity.objects.get(pk=activity.pk).last_dispatch_error == "PROVIDER_HTTP_500: Provider answered HTTP 500"
    for text in (tested.content.decode(), now.content.decode(), caplog.text, every_table_as_text(),
                 repr(list(StatusEvent.objects.values_list("error_message", flat=True)))):
        assert SECRET not in text
