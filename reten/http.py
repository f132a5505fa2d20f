"""The one way Reten makes outbound HTTP calls: an httpx client whose connections are vetted where they are made.

`outbound_client()` builds an httpx.Client that never reads proxies from the environment, never follows a
redirect, and dials only addresses reten.urlsafety allows: its network backend resolves the host itself,
checks every address, then connects to the checked IP (TLS still verifies and sends SNI for the host name),
so what was validated is what is dialled. A refused connect raises ConnectNotAllowed before any packet leaves.

`request_timeout_cap()` is the timeout an outbound call made inside an API request must not exceed (set by
dispatch/services/outbound.py around the call, read by every caller of this client).
"""
import contextlib
import contextvars

import httpcore
import httpx

from reten import urlsafety

DEFAULT_LIMITS = httpx.Limits(max_connections=64, max_keepalive_connections=64)
_request_timeout_cap = contextvars.ContextVar("reten_outbound_timeout_cap", default=None)


class ConnectNotAllowed(httpx.ConnectError):
    """The connection was refused by Reten itself (URL_NOT_ALLOWED); nothing was sent."""

    code = urlsafety.UrlNotAllowed.code

    def __init__(self, reason):
        self.reason = reason
        super().__init__(f"Outbound URL not allowed: {reason}")


class GuardedBackend(httpcore.SyncBackend):
    """Resolves, vets every address, and connects only to a vetted IP (no DNS rebinding between check and use)."""

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            addresses = urlsafety.vetted_addresses(host, port)
        except urlsafety.UrlNotAllowed as exc:
            raise ConnectNotAllowed(exc.reason) from None
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"Could not resolve the host: {exc.__class__.__name__}") from exc
        last_error = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                           socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        raise last_error


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over a pool that dials through GuardedBackend; plain http only where it is allowed."""

    def __init__(self, *, limits=DEFAULT_LIMITS):
        super().__init__(trust_env=False, limits=limits)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(),
        )

    def handle_request(self, request):
        if request.url.scheme != "https" and not urlsafety.insecure_urls_allowed():
            raise ConnectNotAllowed("https is required")
        return super().handle_request(request)


def outbound_client(*, timeout, headers=None, max_connections=64):
    """A client for calls to tenant-configured URLs: vetted connects, no redirects, no proxies from the env."""
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    return httpx.Client(transport=GuardedTransport(limits=limits), timeout=timeout, headers=headers,
                        follow_redirects=False, trust_env=False)


def request_timeout_cap():
    """The in-request timeout cap in seconds, or None outside `capped_timeout`."""
    return _request_timeout_cap.get()


def effective_timeout(default):
    cap = request_timeout_cap()
    return default if cap is None else min(default, cap)


@contextlib.contextmanager
def capped_timeout(seconds):
    """Outbound calls made in this block time out after at most `seconds`."""
    token = _request_timeout_cap.set(seconds)
    try:
        yield
    finally:
        _request_timeout_cap.reset(token)
