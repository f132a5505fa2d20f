"""bench/run_all.py (`make bench`): which scripts it runs, how it reads their RESULT lines, what fails the run."""
import textwrap

import pytest

from bench import run_all


def test_discovers_the_benchmarks_and_not_their_settings_urls_or_itself():
    names = [path.stem for path in run_all.discover()]
    assert "scale" in names and "reports" in names and "activity_create" in names
    assert not [name for name in names if name.endswith(("_settings", "_urls")) or name == "run_all"]
    assert [path.stem for path in run_all.discover(["scale", "reports"])] == ["reports", "scale"]
    with pytest.raises(SystemExit, match="no benchmark named nope"):
        run_all.discover(["nope"])


def test_parses_result_lines_and_ignores_other_output():
    line = 'RESULT {"name": "x", "figure": 5.5, "unit": "ms", "baseline": 2, "ratio": 2.75, "target": 2.0, ' \
           '"higher_is_better": false}'
    assert run_all.parse_result(line + "\n")["ratio"] == 2.75
    assert run_all.parse_result("  ordering=score  12 ms") is None
    assert run_all.parse_result("RESULTS are below") is None
    for bad in ('RESULT {"name": "x"', 'RESULT ["x"]', 'RESULT {"name": "x", "figure": "fast", "ratio": 1}',
                'RESULT {"name": "x", "figure": 1, "ratio": 1, "target": "high"}'):
        with pytest.raises(ValueError):
            run_all.parse_result(bad)


@pytest.mark.parametrize(("ratio", "target", "higher", "expected"), [
    (0.9, 0.85, True, "pass"), (0.85, 0.85, True, "pass"), (0.7, 0.85, True, "FAIL"),
    (1.5, 2.0, False, "pass"), (2.5, 2.0, False, "FAIL"), (9.0, None, True, "no target"),
])
def test_verdict(ratio, target, higher, expected):
    assert run_all.verdict({"name": "x", "figure": 1, "ratio": ratio, "target": target,
                            "higher_is_better": higher}) == expected


def test_server_urls_keep_the_server_and_name_the_database():
    assert run_all.server_urls("postgres://u:p@db:5433/", "reten_bench_1") == (
        "postgres://u:p@db:5433/postgres", "postgres://u:p@db:5433/reten_bench_1")
    assert run_all.server_urls("postgresql://u@db/app", "b") == ("postgresql://u@db/app", "postgresql://u@db/b")
    with pytest.raises(SystemExit, match="PostgreSQL server"):
        run_all.server_urls("sqlite:///x.db", "b")


def test_a_script_without_a_result_line_or_with_a_bad_exit_fails(tmp_path):
    good = tmp_path / "good.py"
    good.write_text('print("working")\nprint(\'RESULT {"name": "g", "figure": 1, "ratio": 1, "target": 1}\')\n')
    silent = tmp_path / "silent.py"
    silent.write_text('print("done, but no figure")\n')
    broken = tmp_path / "broken.py"
    broken.write_text(textwrap.dedent('''
        print('RESULT {"name": "b", "figure": 1, "ratio": 1, "target": null}')
        print('RESULT {"name": "b2", "figure": oops}')
        raise SystemExit(3)
    '''))
    logged = []
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": ""}
    code, results, problems = run_all.run_script(good, [], env, logged.append)
    assert (code, [r["name"] for r in results], problems) == (0, ["g"], [])
    assert any("[good " in line and "working" in line for line in logged)
    assert run_all.run_script(silent, [], env, logged.append)[1:] == ([], ["no result line"])
    code, results, problems = run_all.run_script(broken, [], env, logged.append)
    assert code == 3 and [r["name"] for r in results] == ["b"]
    assert problems[1:] == ["exited with status 3"] and problems[0].startswith("malformed RESULT line")


def test_results_table_counts_what_missed(tmp_path):
    from datetime import UTC, datetime

    runs = [{"name": "a", "results": [{"name": "fast", "figure": 3.0, "unit": "ms", "baseline": 2.0, "ratio": 1.5,
                                       "target": 2.0, "higher_is_better": False}], "problems": []},
            {"name": "b", "results": [{"name": "slow", "figure": 1.0, "unit": "req/s", "baseline": 4.0,
                                       "ratio": 0.25, "target": 0.3, "higher_is_better": True}], "problems": []},
            {"name": "c", "results": [], "problems": ["no result line"]}]
    out = tmp_path / "RESULTS.md"
    failed = run_all.write_results(out, runs, started_at=datetime(2026, 1, 2, 3, 4, tzinfo=UTC), commit="abc",
                                   machine_line="2 cores", pg_version="15", only=[], duration=60)
    text = out.read_text()
    assert failed == 2
    assert "| a | fast | 3 | ms | 2 | 1.5 | 2 | lower | pass |" in text
    assert "| b | slow | 1 | req/s | 4 | 0.25 | 0.3 | higher | FAIL |" in text
    assert "| c | — | — | | | | | | FAIL: no result line |" in text
    assert "- Commit: abc" in text and "2 cores" in text and "2026-01-02 03:04 UTC" in text


def test_an_absolute_limit_holds_the_figure_itself_against_the_target():
    line = ('RESULT {"name": "p99", "figure": 1300.0, "unit": "ms", "baseline": null, "ratio": null, '
            '"target": 500.0, "higher_is_better": false}')
    result = run_all.parse_result(line)
    assert run_all.verdict(result) == "FAIL"
    assert run_all.verdict({**result, "figure": 480.0}) == "pass"
    assert run_all.verdict({**result, "name": "errors", "figure": 0, "target": 0}) == "pass"
    with pytest.raises(ValueError, match="ratio must be a number"):
        run_all.parse_result('RESULT {"name": "r", "figure": 1, "baseline": 2.0, "ratio": null, "target": 1}')
