"""Faults under load (issue 15): the broker stopped mid-run, and PostgreSQL restarted mid-run.

redis      Its own redis-server (127.0.0.1, --redis-port), gunicorn (4 workers) and a Celery worker on it, due
           activities created through the API at --rate/s: --phase / 2 seconds of warm-up (not measured), --phase
           seconds with the broker up, then the broker is
           stopped and --phase seconds more. Checks: the create latency (p50) with the broker down is within 20% of
           the one with it up; every activity created while it was down still leaves (the in-process fallback of
           dispatch/services/enqueue.py) and none is sent twice (one DISPATCH_SUCCESS each).
postgres   Its own PostgreSQL cluster (initdb under /tmp, --pg-port; never the shared server), gunicorn and the
           dispatcher loop (manage.py dispatch_activities --loop) on it; creates at --rate/s, then the cluster is
           stopped (pg_ctl stop -m fast) mid-run for --down seconds, then started again. Checks: while it is down
           the API answers 503 with the error envelope (never a 500 or a hang), it recovers by itself, the
           dispatcher resumes, and every activity created is sent exactly once.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ .venv/bin/python bench/faults.py --faults redis,postgres

Prints RESULT lines for make bench.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._server import (  # noqa: E402 - the path above makes the project importable
    BENCH_ENV,
    PYTHON,
    database_urls,
    recreate_database,
    start_server,
    stop_server,
)
from bench.dispatch_latency import LATENCY_ENV, seed, start_workers, stop_process  # noqa: E402
from bench.provider_stub import Stub  # noqa: E402

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faults", default="redis,postgres")
    parser.add_argument("--rate", type=float, default=4.0, help="creates per second (4)")
    parser.add_argument("--phase", type=float, default=15.0, help="seconds before and after the fault (15)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8770")))
    parser.add_argument("--redis-port", type=int, default=int(os.environ.get("BENCH_REDIS_PORT", "8771")))
    parser.add_argument("--pg-port", type=int, default=int(os.environ.get("BENCH_PG_PORT", "8772")))
    parser.add_argument("--down", type=float, default=5.0, help="seconds PostgreSQL stays stopped (5)")
    parser.add_argument("--database", default="reten_bench_faults")
    return parser.parse_args()


def result(name, figure, unit, target, *, baseline=None, higher_is_better=False):
    ratio = figure / baseline if baseline else None
    print("RESULT " + json.dumps({"name": name, "figure": round(figure, 3), "unit": unit, "baseline": baseline,
                                  "ratio": None if ratio is None else round(ratio, 3), "target": target,
                                  "higher_is_better": higher_is_better}), flush=True)
    return target is None or (figure >= target if higher_is_better else figure <= target)


class Traffic:
    """Due activities POSTed at `rate`/s (open loop) from a background thread; records (sent at, seconds, status,
    body, key)."""

    def __init__(self, base_url, data, rate, tag):
        self.base_url, self.data, self.rate, self.tag = base_url, data, rate, tag
        self.samples = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stopping.set()
        self.thread.join()

    def _one(self, client, n):
        scheduled = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
        body = {"type": "MESSAGE", "reason": "faults", "channel": "SMS",
                "commerce_id": self.data["commerce_ids"][n % len(self.data["commerce_ids"])],
                "idempotency_key": f"{self.tag}-{n}", "scheduled_at": scheduled}
        started = time.monotonic()
        try:
            response = client.post("/api/activities", json=body)
            status, text = response.status_code, response.text
        except Exception as exc:  # a refused or dropped connection is a sample too
            status, text = 0, f"{exc.__class__.__name__}: {exc}"
        self.samples.append((started, time.monotonic() - started, status, text[:300], f"{self.tag}-{n}"))

    def _run(self):
        import httpx

        started = time.monotonic()
        with httpx.Client(base_url=self.base_url, headers={"x-api-key": self.data["api_key"]}, timeout=30) as client:
            threads = []
            n = 0
            while not self.stopping.is_set():
                delay = started + n / self.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                thread = threading.Thread(target=self._one, args=(client, n))
                thread.start()
                threads.append(thread)
                n += 1
            for thread in threads:
                thread.join()

    def between(self, start, end):
        return [s for s in self.samples if start <= s[0] < end]


def p50(values):
    values = sorted(values)
    return values[len(values) // 2] if values else float("nan")


def outcome(keys):
    """(still READY, DISPATCH_SUCCESS events, created) for the activities with these idempotency keys."""
    from activities.models import Activity, EventType, StatusEvent

    rows = Activity.objects.filter(idempotency_key__in=keys)
    return (rows.filter(status="READY").count(),
            StatusEvent.objects.filter(activity__in=rows, event_type=EventType.DISPATCH_SUCCESS).count(),
            rows.count())


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return predicate()


def redis_fault(args, env, data, stub):
    redis_dir = tempfile.mkdtemp(prefix="reten-faults-redis-")
    server = subprocess.Popen(["redis-server", "--port", str(args.redis_port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", redis_dir], stdout=subprocess.DEVNULL,
                              start_new_session=True)
    broker = f"redis://127.0.0.1:{args.redis_port}/0"
    env = {**env, "CELERY_BROKER_URL": broker}
    workers = web = None
    try:
        time.sleep(0.5)
        workers = start_workers(env, 2, quiet=True)  # it will log the lost broker
        web = start_server(env, args.port, 4)
        traffic = Traffic(f"http://127.0.0.1:{args.port}", data, args.rate, f"redis-{uuid.uuid4().hex[:6]}").start()
        time.sleep(args.phase / 2)  # warm-up (workers' first requests, connections), not measured
        t0 = time.monotonic()
        time.sleep(args.phase)
        print("  redis: stopping the broker", flush=True)
        t1 = time.monotonic()
        server.terminate()
        server.wait(timeout=10)
        time.sleep(args.phase)
        traffic.stop()
        t2 = time.monotonic()
    finally:
        for process in (web, workers):
            if process is not None:
                (stop_server if process is web else stop_process)(process)
        if server.poll() is None:
            server.kill()
        shutil.rmtree(redis_dir, ignore_errors=True)
    up, down = traffic.between(t0, t1), traffic.between(t1 + 0.5, t2)
    bad = [s for s in traffic.samples if s[2] != 201]
    down_keys = [s[4] for s in down if s[2] == 201]
    # Workers are gone: what was queued before the stop has been sent (or stays queued in a dead broker).
    wait_for(lambda: outcome(down_keys)[0] == 0, 30)
    ready, successes, created = outcome(down_keys)
    up_p50, down_p50 = p50([s[1] for s in up]) * 1000, p50([s[1] for s in down]) * 1000
    print(f"  redis: {len(up)} creates with the broker up (p50 {up_p50:.0f} ms), {len(down)} with it down "
          f"(p50 {down_p50:.0f} ms); {len(bad)} not 201; of the {created} created while down {ready} still READY, "
          f"{successes} DISPATCH_SUCCESS events")
    for label, samples in (("up", up), ("down", down)):
        seconds = sorted(s[1] for s in samples)
        if seconds:
            print(f"    broker {label}: p90 {seconds[int(len(seconds) * 0.9)] * 1000:.0f} ms, "
                  f"max {seconds[-1] * 1000:.0f} ms; in order (ms): " + " ".join(f"{s[1] * 1000:.0f}" for s in samples))
    for sample in bad[:3]:
        print(f"    {sample[2]} {sample[3][:200]}")
    ok = result("faults.redis_down.create_p50_vs_up", down_p50 / up_p50, "x", 1.2)
    ok &= result("faults.redis_down.create_errors", len(bad), "requests", 0)
    ok &= result("faults.redis_down.left_behind", ready, "activities", 0)
    ok &= result("faults.redis_down.sent_twice", max(0, successes - created), "activities", 0)
    return ok


class OwnCluster:
    """A throwaway PostgreSQL cluster under /tmp on `port` (initdb as the postgres user when run as root)."""

    def __init__(self, port):
        self.port = port
        self.root = Path(tempfile.mkdtemp(prefix="reten-faults-pg-"))
        self.data = self.root / "data"
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(PG_BIN / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        self.start()

    def _run(self, *command):
        command = [str(part) for part in command]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self):
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.root / "log", "-w", "-o",
                  f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def stop(self):
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def remove(self):
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, name):
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"


def postgres_fault(args, env):
    """In its own process (see main): the cluster, gunicorn, the dispatcher loop, and a stop/start mid-run."""
    import psycopg

    cluster = OwnCluster(args.pg_port)
    stub = web = loop = None
    try:
        with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{args.database}"')
        env = {**env, "DATABASE_URL": cluster.url(args.database)}
        os.environ["DATABASE_URL"] = env["DATABASE_URL"]
        subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        stub = Stub(0)
        data = seed(stub.url)
        from django.db import connections

        connections.close_all()
        web = start_server(env, args.port, 4)
        loop = subprocess.Popen([PYTHON, "manage.py", "dispatch_activities", "--loop", "--interval", "1"], cwd=ROOT,
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        traffic = Traffic(f"http://127.0.0.1:{args.port}", data, args.rate, f"pg-{uuid.uuid4().hex[:6]}").start()
        time.sleep(args.phase)
        print("  postgres: stopping the cluster", flush=True)
        t_stop = time.monotonic()
        cluster.stop()
        time.sleep(args.down)
        print("  postgres: starting it again", flush=True)
        cluster.start()
        t_start = time.monotonic()
        time.sleep(args.phase)
        traffic.stop()
        loop_alive = loop.poll() is None
        created = [s[4] for s in traffic.samples if s[2] == 201]
        wait_for(lambda: outcome(created)[0] == 0, 40)
        ready, successes, rows = outcome(created)
        received = stub.count()
        connections.close_all()
    finally:
        if web is not None:
            stop_server(web)
        if loop is not None:
            stop_process(loop)
        if stub is not None:
            stub.stop()
        cluster.remove()
    down = traffic.between(t_stop + 0.5, t_start)
    statuses = {}
    for sample in down:
        statuses[sample[2]] = statuses.get(sample[2], 0) + 1
    enveloped = sum(1 for s in down if s[2] == 503 and '"statusCode":503' in s[3].replace(" ", ""))
    after = [s for s in traffic.samples if s[0] >= t_start]
    first_ok = next((s[0] for s in after if s[2] == 201), None)
    recovery = (first_ok - t_start) if first_ok is not None else float("inf")
    late_errors = sum(1 for s in after if s[0] >= t_start + 5 and s[2] != 201)
    wrong = sum(1 for s in traffic.samples if s[2] not in (201, 503))
    print(f"  postgres: {len(traffic.samples)} creates; while down ({args.down:g} s) statuses {statuses}, "
          f"{enveloped} of them 503 with the envelope; first 201 {recovery:.1f} s after the restart, "
          f"{late_errors} non-201 from 5 s after it; {wrong} neither 201 nor 503; dispatcher loop "
          f"{'alive' if loop_alive else 'DEAD'}; of {rows} created {ready} still READY, {successes} DISPATCH_SUCCESS "
          f"events, the stub got {received} requests")
    for sample in [s for s in traffic.samples if s[2] not in (201, 503)][:3]:
        print(f"    {sample[2]} {sample[3][:200]}")
    ok = result("faults.postgres_restart.non_503_while_down", len(down) - enveloped, "requests", 0)
    ok &= result("faults.postgres_restart.recovery", recovery, "s", 5.0)
    ok &= result("faults.postgres_restart.errors_after_recovery", late_errors + wrong, "requests", 0)
    ok &= result("faults.postgres_restart.dispatcher_dead", 0 if loop_alive else 1, "processes", 0)
    ok &= result("faults.postgres_restart.lost", ready + max(0, rows - successes), "activities", 0)
    ok &= result("faults.postgres_restart.sent_twice", max(0, received - rows) + max(0, successes - rows),
                 "activities", 0)
    return ok


def main():
    args = parse_args()
    admin_url, bench_url = database_urls(args.database)
    env = {**os.environ, **BENCH_ENV, **LATENCY_ENV, "DATABASE_URL": bench_url}
    env.pop("CELERY_BROKER_URL", None)
    os.environ.update({k: v for k, v in env.items() if k in (*BENCH_ENV, *LATENCY_ENV, "DATABASE_URL")})
    os.environ.pop("CELERY_BROKER_URL", None)
    ok = True
    if "redis" in args.faults.split(","):
        recreate_database(admin_url, args.database)
        stub = Stub(0)
        try:
            subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
            data = seed(stub.url)
            from django.db import connections

            connections.close_all()
            ok &= redis_fault(args, env, data, stub)
        finally:
            stub.stop()
            from django.db import connections

            connections.close_all()
            recreate_database(admin_url, args.database, drop_only=True)
    if "postgres" in args.faults.split(","):
        if "redis" in args.faults.split(","):  # Django is set up for the shared server here: a fresh process
            command = [PYTHON, __file__, "--faults", "postgres", "--rate", str(args.rate), "--phase", str(args.phase),
                       "--down", str(args.down), "--port", str(args.port), "--pg-port", str(args.pg_port),
                       "--database", args.database]
            ok &= subprocess.run(command, cwd=ROOT, env={**os.environ}).returncode == 0
        else:
            ok &= postgres_fault(args, env)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
