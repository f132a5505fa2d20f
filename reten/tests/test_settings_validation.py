"""SPEC 9: every setting is validated at start-up; a nonsensical value stops the process with one line."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "k1:" + "A" * 43 + "="  # 32 bytes
PRODUCTION = {"DEBUG": "false", "SECRET_KEY": "s" * 60, "RETEN_CREDENTIALS_KEYS": GOOD_KEY}


def clean_env(**env):
    base = {name: value for name, value in os.environ.items()
            if not name.startswith(("DISPATCH_", "LOG_", "SECURE_", "JWT_", "CELERY_", "RETEN_", "DB_"))
            and name not in ("SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "ALLOWED_HOSTS",
                             "ATTRIBUTE_HOOK_TIMEOUT_SECONDS", "DATA_UPLOAD_MAX_MEMORY_SIZE")}
    return {**base, "RETEN_ENV_FILE": str(ROOT / "no-such.env"), **PRODUCTION, **env}


def manage(*args, **env):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=clean_env(**env),
                          capture_output=True, text=True, timeout=60)


def settings_in_subprocess(name, **env):
    script = f"import django; django.setup(); from django.conf import settings; print(settings.{name})"
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT,
                            env=clean_env(DJANGO_SETTINGS_MODULE="reten.settings", **env),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize("env,variable", [
    ({"DISPATCH_LEASE_SECONDS": "10", "DISPATCH_HTTP_TIMEOUT": "10"}, "DISPATCH_LEASE_SECONDS"),
    ({"DISPATCH_LEASE_SECONDS": "0"}, "DISPATCH_LEASE_SECONDS"),
    ({"DISPATCH_LEASE_SECONDS": "-30"}, "DISPATCH_LEASE_SECONDS"),
    ({"DISPATCH_BATCH_SIZE": "-1"}, "DISPATCH_BATCH_SIZE"),
    ({"DISPATCH_CONCURRENCY": "0"}, "DISPATCH_CONCURRENCY"),
    ({"DISPATCH_INTERVAL_SECONDS": "ten"}, "DISPATCH_INTERVAL_SECONDS"),
    ({"DISPATCH_HTTP_TIMEOUT": "nan"}, "DISPATCH_HTTP_TIMEOUT"),
    ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
    ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
    ({"JWT_ACCESS_TOKEN_SECONDS": "0"}, "JWT_ACCESS_TOKEN_SECONDS"),
    ({"RETEN_CREDENTIALS_KEYS": "k1:AAAA"}, "RETEN_CREDENTIALS_KEYS"),
    ({"RETEN_CREDENTIALS_KEYS": "no-colon"}, "RETEN_CREDENTIALS_KEYS"),
    ({"DEBUG": "maybe"}, "DEBUG"),
    ({"DATABASE_URL": "mongodb://db/reten"}, "DATABASE_URL"),
    ({"CELERY_BROKER_URL": "localhost:6379"}, "CELERY_BROKER_URL"),
    ({"ALLOWED_HOSTS": "https://reten.example.com"}, "ALLOWED_HOSTS"),
    ({"SECURE_HSTS_SECONDS": "-1"}, "SECURE_HSTS_SECONDS"),
    ({"LOGIN_THROTTLE_RATE": "30 per minute"}, "LOGIN_THROTTLE_RATE"),
    ({"LOGIN_ACCOUNT_THROTTLE_RATE": "0/min"}, "LOGIN_ACCOUNT_THROTTLE_RATE"),
    ({"NUM_PROXIES": "-1"}, "NUM_PROXIES"),
    ({"OUTBOUND_REQUESTS_PER_TENANT": "0"}, "OUTBOUND_REQUESTS_PER_TENANT"),
    ({"OUTBOUND_REQUEST_TIMEOUT_SECONDS": "-1"}, "OUTBOUND_REQUEST_TIMEOUT_SECONDS"),
    ({"RETEN_ALLOW_PRIVATE_URLS": "perhaps"}, "RETEN_ALLOW_PRIVATE_URLS"),
    ({"WEBHOOK_HTTP_TIMEOUT": "0"}, "WEBHOOK_HTTP_TIMEOUT"),
    ({"WEBHOOK_MAX_ATTEMPTS": "0"}, "WEBHOOK_MAX_ATTEMPTS"),
    ({"WEBHOOK_DISABLE_AFTER_FAILURES": "none"}, "WEBHOOK_DISABLE_AFTER_FAILURES"),
    ({"WEBHOOK_LEASE_SECONDS": "10", "WEBHOOK_HTTP_TIMEOUT": "10"}, "WEBHOOK_LEASE_SECONDS"),
    ({"WEBHOOK_DELIVER_ON_COMMIT": "sometimes"}, "WEBHOOK_DELIVER_ON_COMMIT"),
])
def test_a_nonsensical_value_stops_manage_py_with_one_line_naming_it(env, variable):
    result = manage("check", **env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Configuration error: ")
    assert variable in lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_missing_secrets_outside_debug_stop_with_one_line():
    result = manage("check", SECRET_KEY="", RETEN_CREDENTIALS_KEYS="")
    assert result.returncode == 2
    assert result.stderr == ("Configuration error: SECRET_KEY, RETEN_CREDENTIALS_KEYS must be set when DEBUG is "
                             "false (see README, Configuration).\n")


def test_the_credentials_key_message_never_echoes_the_key():
    result = manage("check", RETEN_CREDENTIALS_KEYS="k1:c2VjcmV0LWtleS1tYXRlcmlhbA==")
    assert result.returncode == 2
    assert "c2VjcmV0" not in result.stderr


def test_sensible_values_start():
    result = manage("check", DISPATCH_LEASE_SECONDS="11", DISPATCH_HTTP_TIMEOUT="10", DISPATCH_BATCH_SIZE="1",
                    LOG_FORMAT="json", LOG_LEVEL="warning", CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
                    ALLOWED_HOSTS="reten.example.com,.example.org")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("module", ["reten.wsgi", "reten.celery"])
def test_gunicorn_and_celery_entry_points_stop_with_one_line(module):
    result = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT,
                            env=clean_env(DISPATCH_BATCH_SIZE="0"), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr == "Configuration error: DISPATCH_BATCH_SIZE must be at least 1, got 0\n"


def test_positional_signatures_still_work(monkeypatch):
    from reten.env import env_float, env_int, env_str

    monkeypatch.setenv("RETEN_TEST_NUMBER", "5")
    assert env_int("RETEN_TEST_NUMBER", 1) == 5
    assert env_float("RETEN_TEST_NUMBER", 1.0) == 5.0
    assert env_str("RETEN_TEST_MISSING", "fallback") == "fallback"
    assert env_int("RETEN_TEST_NUMBER", 1, minimum=5, maximum=5) == 5
