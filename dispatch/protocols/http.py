"""One pooled httpx client per process for every HTTP protocol (recreated after a fork, e.g. Celery prefork)."""
import json
import os
import threading

import httpx
from django.conf import settings

from dispatch.protocols.base import HealthReport, ProviderError, Stopwatch

POOL_SIZE = 64
_lock = threading.Lock()
_client = None
_client_pid = None


def client():
    global _client, _client_pid
    if _client is None or _client_pid != os.getpid():
        with _lock:
            if _client is None or _client_pid != os.getpid():
                _client = httpx.Client(
                    limits=httpx.Limits(max_connections=POOL_SIZE, max_keepalive_connections=POOL_SIZE),
                    timeout=settings.DISPATCH_HTTP_TIMEOUT,
                    headers={"User-Agent": "Reten-Dispatcher/1.0"},
                )
                _client_pid = os.getpid()
    return _client


def encode_json(payload):
    return json.dumps(payload, separators=(",", ":"), default=str).encode()


def request(method, url, *, content=None, headers=None):
    """An HTTP call with the dispatcher's timeout; every failure becomes a ProviderError."""
    all_headers = {"Content-Type": "application/json", "Accept": "application/json", **(headers or {})}
    try:
        response = client().request(method, url, content=content, headers=all_headers,
                                    timeout=settings.DISPATCH_HTTP_TIMEOUT)
    except httpx.TimeoutException:
        raise ProviderError(f"Timed out after {settings.DISPATCH_HTTP_TIMEOUT:g}s calling {method} {url}",
                            code="TIMEOUT") from None
    except httpx.ConnectError as exc:
        raise ProviderError(f"Could not connect to {url}: {exc}", code="CONNECTION_ERROR") from None
    except httpx.HTTPError as exc:
        raise ProviderError(f"HTTP error calling {method} {url}: {exc}", code="HTTP_ERROR") from None
    return response


def require_success(response):
    if not response.is_success:
        body = response.text[:300].strip()
        raise ProviderError(
            f"Provider answered {response.status_code}" + (f": {body}" if body else ""),
            code=f"HTTP_{response.status_code}", status_code=response.status_code,
        )
    return response


def provider_id_from(response, *names):
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for name in names:
            value = body.get(name)
            if value not in (None, ""):
                return str(value)
    raise ProviderError(
        f"Provider answered {response.status_code} without {' or '.join(names)} in its JSON body",
        code="INVALID_RESPONSE", status_code=response.status_code,
    )


def http_check(method, url, *, content=None, headers=None):
    """A health probe: ok on 2xx; the status code and error when not."""
    watch = Stopwatch()
    try:
        response = request(method, url, content=content, headers=headers)
    except ProviderError as exc:
        return HealthReport(ok=False, latency_ms=watch.ms, error=exc.message)
    if response.is_success:
        return HealthReport(ok=True, latency_ms=watch.ms, status_code=response.status_code)
    return HealthReport(ok=False, latency_ms=watch.ms, status_code=response.status_code,
                        error=f"Provider answered {response.status_code}")


def join(base_url, path):
    return base_url.rstrip("/") + "/" + path.lstrip("/") if path else base_url
