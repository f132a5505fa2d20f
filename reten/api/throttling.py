"""Throttles whose counters live in the shared cache (SPEC 10), so a limit holds across workers and machines.

Rates are read from Django settings on every request (DRF caches THROTTLE_RATES on the class at import time,
which would ignore a changed setting). The client address honours X-Forwarded-For only as far as
`NUM_PROXIES` trusted proxies appended to it.
"""
import hashlib

from django.conf import settings
from rest_framework.exceptions import Throttled
from rest_framework.throttling import SimpleRateThrottle


def client_address(request):
    """The caller's address: REMOTE_ADDR, or the entry the outermost trusted proxy appended to X-Forwarded-For."""
    meta = request.META
    proxies = settings.NUM_PROXIES
    if proxies > 0:
        forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if forwarded:
            return forwarded[-min(proxies, len(forwarded))]
    return meta.get("REMOTE_ADDR", "")


def _digest(value):
    # Cache keys stay short and free of characters some backends refuse, whatever the caller sent.
    return hashlib.sha256(str(value).encode()).hexdigest()


class SettingRateThrottle(SimpleRateThrottle):
    """A SimpleRateThrottle whose rate is the Django setting named by `rate_setting`."""

    rate_setting = ""

    def get_rate(self):
        return getattr(settings, self.rate_setting)

    def ident_of(self, request, view):
        raise NotImplementedError

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": _digest(self.ident_of(request, view))}


class KeyedThrottle(SettingRateThrottle):
    """Counts what the caller names (an account, a user) rather than something read off the request."""

    def __init__(self, ident):
        super().__init__()
        self.ident = ident

    def ident_of(self, request, view):
        return self.ident


class LoginAddressThrottle(KeyedThrottle):
    scope = "login"
    rate_setting = "LOGIN_THROTTLE_RATE"


class LoginAccountThrottle(KeyedThrottle):
    scope = "login_account"
    rate_setting = "LOGIN_ACCOUNT_THROTTLE_RATE"


class PasswordChangeThrottle(SettingRateThrottle):
    """reset-my-password, per authenticated user (each attempt tests a guess of the current password)."""

    scope = "password_change"
    rate_setting = "PASSWORD_CHANGE_THROTTLE_RATE"

    def ident_of(self, request, view):
        return request.user.pk


def normalized_account(identifier):
    return (identifier or "").strip().lower()


def login_attempt_wait(request, account):
    """Count one login attempt from this address and for this account.

    Returns None when both limits allow it, else the seconds to wait. Used by the API login and the admin
    login alike; `account` is the account's e-mail when the identifier names one, else the identifier itself.
    """
    throttles = [LoginAddressThrottle(client_address(request)), LoginAccountThrottle(normalized_account(account))]
    waits = [throttle.wait() for throttle in throttles if not throttle.allow_request(request, None)]
    if not waits:
        return None
    return max((wait for wait in waits if wait is not None), default=None) or 1.0


def check_login_attempt(request, account):
    """As `login_attempt_wait`, raising DRF's Throttled (429 with Retry-After) beyond either limit."""
    wait = login_attempt_wait(request, account)
    if wait is not None:
        raise Throttled(wait=wait)
