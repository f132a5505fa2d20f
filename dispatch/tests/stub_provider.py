"""A real provider on 127.0.0.1 for tests and the benchmark: a threaded HTTP server and a tiny SMTP server.

Modes: "accept" (201 {"id": ...}), "accept_provider_activity_id" (200 {"providerActivityId": ...}),
"error" (500), "slow" (sleeps `delay` seconds, then accepts: longer than the client timeout = a timeout),
"no_id" (200 {}). `latency` delays every answer (after the request is recorded). Every request is recorded.
"""
import base64
import json
import socket
import socketserver
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict
    body: bytes

    @property
    def json(self):
        return json.loads(self.body) if self.body else None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once, not 40 ms apart (delayed ACK)

    def log_message(self, format, *args):  # quiet
        pass

    def _answer(self, status, body, headers=None):
        payload = json.dumps(body).encode()
        try:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    def _handle(self):
        stub = self.server.stub
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = RecordedRequest(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        stub.record(request)
        mode, delay, latency = stub.mode, stub.delay, stub.latency
        if latency:
            time.sleep(latency)
        if mode == "error":
            return self._answer(500, {"error": "stub provider is failing"})
        if mode == "status":  # any status, with any headers (Retry-After...), body echoing a secret-looking text
            return self._answer(stub.status, {"error": "provider says no"}, stub.headers)
        if mode == "slow":
            time.sleep(delay)
        if self.path.endswith("/health"):
            return self._answer(200, {"ok": True})
        if mode == "no_id":
            return self._answer(200, {})
        try:
            activity_id = (request.json or {}).get("activityId")
        except (ValueError, AttributeError):
            activity_id = None
        provider_id = f"prov-{activity_id or uuid.uuid4()}"
        if mode == "accept_provider_activity_id":
            return self._answer(200, {"providerActivityId": provider_id})
        return self._answer(201, {"id": provider_id})

    do_GET = _handle
    do_POST = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # listen() runs in the constructor, so the backlog must be a class attribute: with the default of 5, 64
    # connections opened at once (the dispatch benchmark's concurrency) were reset (ReadError).
    request_queue_size = 128


class StubProvider:
    def __init__(self):
        self.mode = "accept"
        self.status = 200
        self.headers = {}
        self.delay = 0.0
        self.latency = 0.0
        self._lock = threading.Lock()
        self.requests = []
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.stub = self
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self):
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def record(self, request):
        with self._lock:
            self.requests.append(request)

    def set(self, mode="accept", *, delay=0.0, latency=0.0):
        self.mode, self.delay, self.latency = mode, delay, latency

    def answer(self, status, headers=None):
        """Answer every activity with this HTTP status (and headers)."""
        self.status, self.headers = status, dict(headers or {})
        self.set("status")

    def reset(self):
        with self._lock:
            self.requests.clear()
        self.set("accept")

    def activity_requests(self):
        with self._lock:
            return [r for r in self.requests if r.method == "POST" and not r.path.endswith("/health")]

    def idempotency_keys(self):
        return Counter(r.headers.get("idempotency-key") for r in self.activity_requests())


def closed_port_url():
    """A URL nothing listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- SMTP -----------------------------------------------------------------------------------------------------

@dataclass
class ReceivedMail:
    mail_from: str
    recipients: list
    data: str
    auth: tuple | None


class _SmtpHandler(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self):
        smtp = self.server.smtp
        self.reply("220 stub.smtp ESMTP ready")
        mail_from, recipients, auth = None, [], None
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode().rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250-stub.smtp\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n")
            elif verb == "AUTH":
                parts = line.split(" ")
                decoded = base64.b64decode(parts[2]).split(b"\0") if len(parts) > 2 else []
                username, password = (decoded[1].decode(), decoded[2].decode()) if len(decoded) == 3 else ("", "")
                if smtp.credentials and (username, password) != smtp.credentials:
                    self.reply("535 authentication failed")
                    continue
                auth = (username, password)
                self.reply("235 ok")
            elif verb == "MAIL":
                mail_from = line.split(":", 1)[1].strip().strip("<>").split(">")[0]
                self.reply("250 ok")
            elif verb == "RCPT":
                recipients.append(line.split(":", 1)[1].strip().strip("<>").split(">")[0])
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                lines = []
                while True:
                    data_line = self.rfile.readline().decode()
                    if data_line in (".\r\n", ".\n", ""):
                        break
                    lines.append(data_line)
                smtp.received.append(ReceivedMail(mail_from, list(recipients), "".join(lines), auth))
                recipients = []
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


class StubSmtp:
    def __init__(self, credentials=None):
        self.credentials = credentials
        self.received = []
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpHandler)
        self.server.daemon_threads = True
        self.server.smtp = self
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def port(self):
        return self.server.server_address[1]

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def main():
    """`python -m dispatch.tests.stub_provider [--port N] [--latency S]`: serve until killed (benchmarks)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    stub = StubProvider()
    if args.port:
        stub.server.server_close()
        stub.server = _Server(("127.0.0.1", args.port), _Handler)
        stub.server.stub = stub
        stub._thread = threading.Thread(target=stub.server.serve_forever, daemon=True)
    stub.set("accept", latency=args.latency)
    stub.start()
    print(stub.url, flush=True)
    try:
        for line in sys.stdin:  # "count" prints how many activity requests arrived; EOF stops
            if line.strip() == "count":
                print(len(stub.activity_requests()), flush=True)
            elif line.strip() == "reset":
                stub.reset()
                stub.set("accept", latency=args.latency)
                print("ok", flush=True)
    finally:
        stub.stop()


if __name__ == "__main__":
    main()
