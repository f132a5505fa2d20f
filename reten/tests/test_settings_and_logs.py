import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from reten.logging import log_context

ROOT = Path(__file__).resolve().parents[2]


def run_check(**env):
    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "RETEN_CREDENTIALS_KEYS", "DEBUG",
                                                              "DJANGO_SETTINGS_MODULE")}
    clean.update(env, RETEN_ENV_FILE=str(ROOT / "no-such.env"))  # a developer's .env must not interfere
    return subprocess.run([sys.executable, "-c", "import django, os; os.environ['DJANGO_SETTINGS_MODULE']="
                           "'reten.settings'; django.setup()"], cwd=ROOT, env=clean, capture_output=True, text=True)


def test_refuses_to_start_without_secrets_outside_debug():
    result = run_check(DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY, RETEN_CREDENTIALS_KEYS must be set when DEBUG is false" in result.stderr


def test_starts_with_secrets_outside_debug():
    result = run_check(DEBUG="false", SECRET_KEY="x" * 60, RETEN_CREDENTIALS_KEYS="k:" + "A" * 43 + "=")  # 32 bytes
    assert result.returncode == 0, result.stderr


def test_json_logs_carry_tenant_and_activity_ids(capsys):
    config = settings.LOGGING["formatters"]["json"]
    from pythonjsonlogger.json import JsonFormatter

    from reten.logging import RequestContextFilter

    formatter = JsonFormatter(config["fmt"], rename_fields=config["rename_fields"])
    record = logging.LogRecord("reten.test", logging.INFO, __file__, 1, "dispatched", None, None)
    with log_context(tenant_id="t-1", activity_id="a-1"):
        RequestContextFilter().filter(record)
    line = json.loads(formatter.format(record))
    assert line["message"] == "dispatched"
    assert line["tenant_id"] == "t-1" and line["activity_id"] == "a-1"
    assert line["level"] == "INFO" and line["logger"] == "reten.test"
