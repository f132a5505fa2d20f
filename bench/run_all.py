"""Run every benchmark in bench/ on a throwaway PostgreSQL database and write bench/RESULTS.md (issue 15).

    make bench                                   # everything
    make bench BENCH_ARGS="--only scale --script-args 'scale=--rows 100000'"
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ .venv/bin/python bench/run_all.py --only reports

DATABASE_URL names the server (default postgres://postgres@127.0.0.1:5432/; a database in its path is only used
to connect for CREATE/DROP DATABASE, `postgres` when there is none). The runner creates reten_bench_<random>,
migrates it, runs each script with DATABASE_URL pointing at it (a script that makes its own database gets
`--database reten_bench_<random>_<script>` and a port from --port-base), streams its output with the elapsed time
(and a line every 30 s of silence), collects its `RESULT {json}` lines, drops every database it made, writes the
table and exits 1 when a figure misses its target, a script fails, or a script printed no RESULT line.

A RESULT line: RESULT {"name": str, "figure": float, "unit": str, "baseline": float, "ratio": float,
"target": float | null, "higher_is_better": bool}. A ratio passes when it is >= target (higher_is_better) or
<= target (otherwise); a null target is reported, never failed. An absolute limit (a latency in ms, an error
count) has no baseline: "baseline" and "ratio" are null and the figure itself is held against the target.
"""
import argparse
import json
import os
import platform
import queue
import re
import shlex
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = sys.executable
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/"
# Modules of bench/ that are not benchmarks: settings and URLconfs of the scripts, shared helpers, this runner.
NOT_SCRIPTS = re.compile(r"(_settings|_urls|_locustfile|_helpers?|_common)\.py$"
                         r"|^(helpers?|common|conftest|run_all|provider_stub)\.py$|^_")
SILENCE_SECONDS = 30
RESULT_PREFIX = "RESULT "


def discover(only=()):
    scripts = sorted(path for path in BENCH.glob("*.py") if not NOT_SCRIPTS.search(path.name))
    if only:
        unknown = sorted(set(only) - {path.stem for path in scripts})
        if unknown:
            raise SystemExit(f"--only: no benchmark named {', '.join(unknown)} "
                             f"(there are: {', '.join(path.stem for path in scripts)})")
        scripts = [path for path in scripts if path.stem in only]
    return scripts


def parse_result(line):
    """The dict of a `RESULT {json}` line, or None when the line is not one; ValueError when it is malformed."""
    line = line.strip()
    if not line.startswith(RESULT_PREFIX):
        return None
    data = json.loads(line[len(RESULT_PREFIX):])
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise ValueError("a RESULT line is a JSON object with a name")
    absolute = data.get("baseline") is None and data.get("ratio") is None  # the figure against the target
    for key in ("figure",) if absolute else ("figure", "ratio"):
        if not isinstance(data.get(key), (int, float)) or isinstance(data.get(key), bool):
            raise ValueError(f"RESULT {data['name']!r}: {key} must be a number")
    if data.get("target") is not None and not isinstance(data["target"], (int, float)):
        raise ValueError(f"RESULT {data['name']!r}: target must be a number or null")
    return data


def verdict(result):
    """'pass', 'FAIL' or 'no target'."""
    target = result.get("target")
    if target is None:
        return "no target"
    higher = result.get("higher_is_better", True)
    value = result["figure"] if result.get("ratio") is None else result["ratio"]
    return "pass" if (value >= target if higher else value <= target) else "FAIL"


def server_urls(raw, name):
    """(the URL to connect to for CREATE/DROP DATABASE, the URL of database `name`)."""
    if not raw.startswith(("postgres://", "postgresql://")):
        raise SystemExit(f"DATABASE_URL must name a PostgreSQL server (postgres://...), got {raw!r}")
    parts = urlsplit(raw)
    admin = parts._replace(path=parts.path if parts.path.strip("/") else "/postgres")
    return urlunsplit(admin), urlunsplit(parts._replace(path=f"/{name}"))


def admin_sql(admin_url, statement):
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(statement)


def run_script(path, args, env, log):
    """Run one script, streaming its output; (exit code, [results], [problems])."""
    command = [PYTHON, "-u", str(path), *args]
    shown = [path.relative_to(ROOT) if path.is_relative_to(ROOT) else path, *args]
    log(f"$ python {' '.join(shlex.quote(str(part)) for part in shown)}")
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, bufsize=1)
    lines = queue.Queue()
    reader = threading.Thread(target=lambda: ([lines.put(line) for line in process.stdout], lines.put(None)),
                              daemon=True)
    reader.start()
    results, problems = [], []
    last_output = time.monotonic()
    while True:
        try:
            line = lines.get(timeout=5)
        except queue.Empty:
            if time.monotonic() - last_output >= SILENCE_SECONDS:
                log(f"  ... {path.stem} still running ({elapsed(started)})")
                last_output = time.monotonic()
            continue
        if line is None:
            break
        last_output = time.monotonic()
        log(f"  [{path.stem} {elapsed(started)}] {line.rstrip()}")
        try:
            result = parse_result(line)
        except ValueError as exc:
            problems.append(f"malformed RESULT line: {exc}")
            continue
        if result is not None:
            results.append(result)
    code = process.wait()
    if code != 0:
        problems.append(f"exited with status {code}")
    if not results:
        problems.append("no result line")
    return code, results, problems


def elapsed(started):
    seconds = int(time.monotonic() - started)
    return f"{seconds // 60}m{seconds % 60:02d}s"


def machine():
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {memory} memory, {platform.system()} {platform.machine()}, " \
           f"Python {platform.python_version()}"


def git_commit():
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    commit = git("rev-parse", "--short=12", "HEAD") or "unknown"
    return commit + (" (with uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else "")


def postgres_version(admin_url):
    import psycopg

    try:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]
    except psycopg.Error:
        return "?"


def cell(value):
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def write_results(path, runs, *, started_at, commit, machine_line, pg_version, only, duration):
    failed = sum(1 for run in runs for r in run["results"] if verdict(r) == "FAIL") + sum(
        1 for run in runs if run["problems"])
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (bench/run_all.py); see docs/development.md. Each script ran on a throwaway",
        "PostgreSQL database. `ratio` is figure ÷ baseline as each script defines it; it passes when it is at",
        "least the target (higher is better) or at most the target (lower is better).",
        "",
        f"- Date: {started_at:%Y-%m-%d %H:%M} UTC (took {duration / 60:.1f} min)",
        f"- Commit: {commit}",
        f"- Machine: {machine_line}; PostgreSQL {pg_version}",
        f"- Scripts: {'only ' + ', '.join(only) if only else 'all'} — "
        f"{'**' + str(failed) + ' missed**' if failed else 'all within target'}",
        "",
        "| script | measurement | figure | unit | baseline | ratio | target | better | result |",
        "|---|---|---:|---|---:|---:|---:|---|---|",
    ]
    for run in runs:
        for r in run["results"]:
            better = "higher" if r.get("higher_is_better", True) else "lower"
            lines.append(f"| {run['name']} | {r['name']} | {cell(r['figure'])} | {r.get('unit', '')} | "
                         f"{cell(r.get('baseline'))} | {cell(r['ratio'])} | {cell(r.get('target'))} | {better} | "
                         f"{verdict(r)} |")
        for problem in run["problems"]:
            lines.append(f"| {run['name']} | — | — | | | | | | FAIL: {problem} |")
    path.write_text("\n".join(lines) + "\n")
    return failed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only this script (its file name without .py); repeatable")
    parser.add_argument("--script-args", action="append", default=[], metavar="NAME=ARGS",
                        help="extra arguments for one script, e.g. 'scale=--rows 100000'; repeatable")
    parser.add_argument("--port-base", type=int, default=int(os.environ.get("BENCH_PORT_BASE", 8360)),
                        help="ports for scripts that start servers: base, base+2, ... (default 8360)")
    parser.add_argument("--output", type=Path, default=BENCH / "RESULTS.md")
    parser.add_argument("--list", action="store_true", help="list the scripts and exit")
    args = parser.parse_args(argv)
    scripts = discover(args.only)
    if args.list:
        print("\n".join(path.stem for path in scripts))
        return 0
    extra = {}
    for item in args.script_args:
        name, _, rest = item.partition("=")
        extra[name] = shlex.split(rest)

    def log(line):
        print(line, flush=True)

    started_at, started, commit = datetime.now(UTC), time.monotonic(), git_commit()
    name = f"reten_bench_{uuid.uuid4().hex[:8]}"
    admin_url, bench_url = server_urls(os.environ.get("DATABASE_URL") or DEFAULT_SERVER, name)
    log(f"bench: {len(scripts)} scripts on a throwaway database {name}: {', '.join(p.stem for p in scripts)}")
    admin_sql(admin_url, f'CREATE DATABASE "{name}"')
    made = [name]
    runs = []
    try:
        env = {**os.environ, "DATABASE_URL": bench_url, "PYTHONUNBUFFERED": "1"}
        env.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz-0123456789")
        env.setdefault("RETEN_CREDENTIALS_KEYS", "bench:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
        env.setdefault("LOG_LEVEL", "WARNING")
        log("migrating it")
        subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        for number, path in enumerate(scripts, 1):
            source = path.read_text()
            script_args = []
            if '"--database"' in source:  # the script makes (and drops) a database of its own on the server
                own = f"{name}_{path.stem}"[:63]
                made.append(own)
                script_args += ["--database", own]
            if '"--port"' in source:
                script_args += ["--port", str(args.port_base + 2 * (number - 1))]
            script_args += extra.get(path.stem, [])
            log(f"[{number}/{len(scripts)}] {path.stem} ({elapsed(started)} so far)")
            code, results, problems = run_script(path, script_args, env, log)
            runs.append({"name": path.stem, "code": code, "results": results, "problems": problems})
            for result in results:
                log(f"  => {result['name']}: {cell(result['figure'])} {result.get('unit', '')} "
                    f"ratio {cell(result['ratio'])} target {cell(result.get('target'))}: {verdict(result)}")
            for problem in problems:
                log(f"  => {path.stem}: FAIL: {problem}")
    finally:
        for database in reversed(made):
            try:
                admin_sql(admin_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            except Exception as exc:  # noqa: BLE001 - report and go on dropping the others
                log(f"could not drop {database}: {exc}")
        log(f"dropped {', '.join(made)}")
    failed = write_results(args.output, runs, started_at=started_at, commit=commit, machine_line=machine(),
                           pg_version=postgres_version(admin_url), only=args.only,
                           duration=time.monotonic() - started)
    log(f"wrote {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}: "
        f"{'all within target' if not failed else f'{failed} missed'} ({elapsed(started)})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
