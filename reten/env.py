"""Typed readers for configuration taken from the environment (and a git-ignored `.env`).

Every reader validates at start-up (SPEC 9): a value that is not of the type, outside `minimum`/`maximum` or not
one of `choices` raises ImproperlyConfigured with a one-line message naming the variable, and the entry points
(manage.py, reten/wsgi.py, reten/celery.py) turn it into `Configuration error: ...` and exit status 2.
"""
import math
import os
import re
import sys

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}
CONFIGURATION_ERROR_EXIT_STATUS = 2


def env_str(name, default=None, *, choices=None):
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw if choices is None else check_choice(name, raw, choices)


def check_choice(name, value, choices):
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def env_bool(name, default=False):
    raw = os.environ.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def check_range(name, value, *, minimum=None, maximum=None):
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}, got {value}")
    return value


def env_int(name, default, *, minimum=None, maximum=None):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    return check_range(name, value, minimum=minimum, maximum=maximum)


def env_float(name, default, *, minimum=None, maximum=None):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise ImproperlyConfigured(f"{name} must be a finite number, got {raw!r}")
    return check_range(name, value, minimum=minimum, maximum=maximum)


RATE_PATTERN = re.compile(r"^[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)$")


def env_rate(name, default):
    """A throttle rate as DRF reads it: "<count>/<s|min|hour|day>" (e.g. 30/min)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip()
    if not RATE_PATTERN.match(value):
        raise ImproperlyConfigured(f"{name} must look like 30/min (a count per s, min, hour or day), got {raw!r}")
    return value


def env_list(name, default=()):
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def exit_on_configuration_error():
    """Load the settings now; a configuration error stops the process with one line on stderr, no traceback."""
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018  (importing the settings module validates the environment)
    except ImproperlyConfigured as exc:
        message = " ".join(str(exc).split())
        sys.stderr.write(f"Configuration error: {message}\n")
        sys.exit(CONFIGURATION_ERROR_EXIT_STATUS)
