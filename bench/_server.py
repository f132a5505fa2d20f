"""What the HTTP benchmarks share (activity_create, result_ingest, receipt_ingest): one way to run one.

A benchmark creates and migrates its own throwaway PostgreSQL database (`bench_database`), serves the real app
with gunicorn under bench/_settings.py (the product's URLs plus the bare-INSERT baseline routes of
bench/_urls.py), loads it with concurrent HTTP clients (`load`), and ends with one machine-readable line
(`print_result`):

    RESULT {"name": "...", "figure": 12.3, "unit": "req/s", "baseline": 30.1, "ratio": 0.41, "target": 0.4,
            "higher_is_better": true}

Not a benchmark itself (its name starts with "_"): runners over bench/*.py skip bench/_*.py.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
SETTINGS = "bench._settings"

BENCH_ENV = {
    "DJANGO_SETTINGS_MODULE": SETTINGS,
    # A benchmark needs no real secrets; these apply only when the environment has none.
    "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz-01234"),
    "RETEN_CREDENTIALS_KEYS": os.environ.get("RETEN_CREDENTIALS_KEYS",
                                             "bench:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="),
    "DEBUG": "false",
    "SECURE_SSL_REDIRECT": "false",
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "LOG_LEVEL": "WARNING",
    "DB_CONN_MAX_AGE": "60",
}


def database_urls(name):
    """(the server's maintenance database URL, the URL of database `name` on the same server)."""
    raw = os.environ.get("DATABASE_URL", "")
    if not raw.startswith(("postgres://", "postgresql://")):
        sys.exit("DATABASE_URL must point at a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/postgres")
    parts = urlsplit(raw)
    return urlunsplit(parts._replace(path="/postgres")), urlunsplit(parts._replace(path=f"/{name}"))


def recreate_database(admin_url, name, *, drop_only=False):
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


class BenchDatabase:
    """`with BenchDatabase(name, keep=False) as env:` a fresh, migrated database `name` on DATABASE_URL's
    server; this process (Django) and `env` (for gunicorn) point at it; dropped afterwards unless `keep`."""

    def __init__(self, name, *, keep=False):
        self.name, self.keep = name, keep
        self.admin_url, self.url = database_urls(name)
        self.env = {**os.environ, **BENCH_ENV, "DATABASE_URL": self.url}

    def __enter__(self):
        os.environ.update({k: v for k, v in self.env.items() if k in (*BENCH_ENV, "DATABASE_URL")})
        recreate_database(self.admin_url, self.name)
        subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=self.env, check=True)
        return self.env

    def __exit__(self, *exc):
        from django.db import connections

        connections.close_all()
        if not self.keep:
            recreate_database(self.admin_url, self.name, drop_only=True)
        return False


def start_server(env, port, workers):
    """gunicorn serving the app on 127.0.0.1:`port`, in its own process group; returns once /healthz answers."""
    process = subprocess.Popen(
        [str(Path(PYTHON).parent / "gunicorn"), "reten.wsgi:application", "--workers", str(workers),
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "120"],
        cwd=ROOT, env=env, start_new_session=True)
    import httpx

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    stop_server(process)
    sys.exit("gunicorn did not start")


def stop_server(process):
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


class Server:
    """`with Server(env, port, workers) as base:` gunicorn up, `base` its http://127.0.0.1:port; stopped after."""

    def __init__(self, env, port, workers):
        self.env, self.port, self.workers = env, port, workers
        self.process = None

    def __enter__(self):
        self.process = start_server(self.env, self.port, self.workers)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc):
        stop_server(self.process)
        return False


def load(url, api_key, payloads, clients, expected_status):
    """POST every payload with `clients` concurrent connections; return seconds taken."""
    import httpx

    chunks = [payloads[i::clients] for i in range(clients)]
    failures = []

    def run(chunk):
        with httpx.Client(headers={"x-api-key": api_key}, timeout=120) as client:
            for payload in chunk:
                response = client.post(url, json=payload)
                if response.status_code != expected_status:
                    failures.append((response.status_code, response.text[:300]))

    threads = [threading.Thread(target=run, args=(chunk,)) for chunk in chunks]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        sys.exit(f"{len(failures)} requests to {url} failed, first: {failures[0]}")
    return elapsed


def result_line(*, name, figure, unit, baseline, target, higher_is_better=True):
    """The final machine-readable line every benchmark prints (the `make bench` runner reads it)."""
    ratio = figure / baseline if baseline else 0.0
    return "RESULT " + json.dumps({
        "name": name, "figure": round(float(figure), 3), "unit": unit, "baseline": round(float(baseline), 3),
        "ratio": round(ratio, 4), "target": None if target is None else float(target),
        "higher_is_better": bool(higher_is_better)})


def print_result(**fields):
    print(result_line(**fields), flush=True)
