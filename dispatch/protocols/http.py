"""One pooled httpx client per process for every HTTP protocol (recreated after a fork, e.g. Celery prefork).

The client is reten.http's: connects only to addresses reten.urlsafety allows, checked at connect time, and never
follows a redirect (a 3xx is a failure). What a provider answers stays inside: errors carry its status code and
a stable error code, never its body; the body (credentials masked, truncated) goes to the server log only.
"""
import datetime
import errno
import json
import logging
import os
import socket
import ssl
import threading
from email.utils import parsedate_to_datetime

import httpx
from django.conf import settings
from django.utils import timezone

from dispatch.protocols.base import HealthReport, ProviderError, Stopwatch
from reten.http import ConnectNotAllowed, effective_timeout, outbound_client

logger = logging.getLogger("reten.dispatch")

POOL_SIZE = 64
LOGGED_BODY_CHARS = 500
_lock = threading.Lock()
_client = None
_client_pid = None


def client():
    global _client, _client_pid
    if _client is None or _client_pid != os.getpid():
        with _lock:
            if _client is None or _client_pid != os.getpid():
                _client = outbound_client(timeout=settings.DISPATCH_HTTP_TIMEOUT, max_connections=POOL_SIZE,
                                          headers={"User-Agent": "Reten-Dispatcher/1.0"})
                _client_pid = os.getpid()
    return _client


def encode_json(payload):
    return json.dumps(payload, separators=(",", ":"), default=str).encode()


def _causes(exc):
    while exc is not None:
        yield exc
        exc = exc.__cause__ or exc.__context__


def connect_error_code(exc):
    """CONNECTION_REFUSED, DNS_ERROR, TLS_ERROR or CONNECTION_ERROR, from what the connect failed on."""
    for cause in _causes(exc):
        if isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) == errno.ECONNREFUSED:
            return "CONNECTION_REFUSED"
        if isinstance(cause, socket.gaierror):
            return "DNS_ERROR"
        if isinstance(cause, ssl.SSLError):
            return "TLS_ERROR"
    return "CONNECTION_ERROR"


CONNECT_MESSAGES = {
    "CONNECTION_REFUSED": "The provider refused the connection",
    "DNS_ERROR": "The provider's host name did not resolve",
    "TLS_ERROR": "The TLS handshake with the provider failed",
    "CONNECTION_ERROR": "Could not connect to the provider",
}


def request(method, url, *, content=None, headers=None):
    """An HTTP call with the dispatcher's timeout (capped inside an API request); failures are ProviderErrors."""
    all_headers = {"Content-Type": "application/json", "Accept": "application/json", **(headers or {})}
    timeout = effective_timeout(settings.DISPATCH_HTTP_TIMEOUT)
    try:
        response = client().request(method, url, content=content, headers=all_headers, timeout=timeout)
    except ConnectNotAllowed as exc:
        raise ProviderError(f"The provider's URL is not allowed: {exc.reason}", code="URL_NOT_ALLOWED") from None
    except httpx.TimeoutException:
        raise ProviderError(f"Timed out after {timeout:g}s calling the provider", code="TIMEOUT") from None
    except httpx.ConnectError as exc:
        code = connect_error_code(exc)
        raise ProviderError(CONNECT_MESSAGES[code], code=code) from None
    except (httpx.RemoteProtocolError, httpx.DecodingError):
        raise ProviderError("The provider sent an invalid HTTP response", code="INVALID_RESPONSE") from None
    except httpx.HTTPError as exc:
        raise ProviderError(f"HTTP error calling the provider ({exc.__class__.__name__})",
                            code="CONNECTION_ERROR") from None
    return response


def log_failure(response, config, what="answered"):
    """The provider's own words, for the operator only: credentials masked, truncated, in the server log."""
    body = config.scrub(response.text[:LOGGED_BODY_CHARS].strip()) if response.content else ""
    logger.warning("Provider of dispatch config %s %s HTTP %s: %s", config.id, what, response.status_code,
                   body or "(empty body)")


def failure_code(status_code):
    return f"PROVIDER_HTTP_{status_code}"


def failure_message(status_code):
    note = " (redirects are not followed)" if 300 <= status_code < 400 else ""
    return f"Provider answered HTTP {status_code}{note}"


def retry_after_seconds(value, *, now=None):
    """Retry-After as seconds from now: delta-seconds or an HTTP date (RFC 9110 10.2.3); None if unreadable."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return max(0.0, (moment - (now or timezone.now())).total_seconds())


def require_success(response, config):
    """2xx or a ProviderError with the status and PROVIDER_HTTP_<status>; the body only in the log."""
    if not response.is_success:
        log_failure(response, config)
        raise ProviderError(failure_message(response.status_code), code=failure_code(response.status_code),
                            status_code=response.status_code,
                            retry_after=retry_after_seconds(response.headers.get("Retry-After")))
    return response


def provider_id_from(response, config, *names):
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for name in names:
            value = body.get(name)
            if value not in (None, ""):
                return str(value)
    log_failure(response, config, what=f"answered without {' or '.join(names)},")
    raise ProviderError(
        f"Provider answered {response.status_code} without {' or '.join(names)} in its JSON body",
        code="INVALID_RESPONSE", status_code=response.status_code,
    )


def http_check(method, url, *, config, content=None, headers=None):
    """A health probe: ok on 2xx; otherwise the status code and an error code (never the provider's body)."""
    watch = Stopwatch()
    try:
        response = request(method, url, content=content, headers=headers)
    except ProviderError as exc:
        return HealthReport(ok=False, latency_ms=watch.ms, error=exc.message, error_code=exc.code)
    if response.is_success:
        return HealthReport(ok=True, latency_ms=watch.ms, status_code=response.status_code)
    log_failure(response, config)
    return HealthReport(ok=False, latency_ms=watch.ms, status_code=response.status_code,
                        error=failure_message(response.status_code), error_code=failure_code(response.status_code))


def join(base_url, path):
    return base_url.rstrip("/") + "/" + path.lstrip("/") if path else base_url
