"""The benchmark harness (benchmarks/_harness.py): a tiny fake benchmark run as a script, and the
pieces it is made of, so the harness every benchmark uses cannot break silently."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import _harness as h  # noqa: E402

FAKE = textwrap.dedent(
    '''
    """Fake benchmark: adds numbers, with a helper process and one broken section."""
    import sys

    sys.path.insert(0, {bench!r})
    import psutil
    from _harness import (
        SPIN, Run, check, defaults, exit_when_parent_goes, parse, parser, ratio, repeat
    )


    def role_double(args):
        exit_when_parent_goes()
        print(2 * args.n, flush=True)


    def spinning():  # the --busy spinner is a live child of this process during the run
        return any(SPIN in p.cmdline() for p in psutil.Process().children())


    def main(argv=None):
        p = parser("fake", __doc__)
        p.add_argument("--n", type=int)
        args = parse(p, argv, {{"double": role_double}})
        defaults(args, n=(10, 1000), repeats=(2, 5))
        with Run("fake", args) as run:
            t = repeat(lambda: sum(range(args.n)), args.repeats)
            run.results["sum"] = {{"value": t.result, **t.summary(args.n)}}
            helper = run.children.spawn("double", "--n", str(args.n))
            run.results["helper"] = int(run.children.readline(helper))
            run.results["spinning"] = spinning()
            run.section("broken", lambda: 1 / 0)
        checks = [
            check("fast / slow", ratio(4.0, 2.0), 1.5),
            check("p99 ms", 5.0, 2.0, "<=", "too slow", unit=""),
            check("context", None, 1.0, info=True),
        ]
        status = run.finish(config={{"n": args.n}}, targets=checks, report=["fake rows"])
        print("processes left", len(psutil.Process().children()))
        return status


    if __name__ == "__main__":
        sys.exit(main())
    '''
)


@pytest.fixture(scope="module")
def fake_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("fake")
    script = root / "bench_fake.py"
    script.write_text(FAKE.format(bench=str(BENCH)))
    out = root / "results" / "fake.json"
    cmd = [sys.executable, str(script), "--quick", "--busy", "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return done, json.loads(out.read_text())


def test_fake_benchmark_json(fake_run):
    done, doc = fake_run
    assert done.returncode == 1, done.stderr  # a section raised: status 1, the rest is written
    assert doc["benchmark"] == "fake"
    assert doc["config"] == {"mode": "quick", "n": 10}
    res = doc["results"]
    assert res["sum"]["value"] == 45 and len(res["sum"]["seconds"]) == 2
    assert res["sum"]["best_seconds"] == min(res["sum"]["seconds"])
    assert res["sum"]["rows_per_s"] == 10 / res["sum"]["best_seconds"]
    assert res["helper"] == 20
    assert res["broken"] == {"error": "ZeroDivisionError: division by zero"}
    assert res["spinning"] is True and doc["busy"] is True
    assert doc["other_processes_cpu_s"] >= 0 and doc["duration_s"] > 0
    assert len(doc["load_average"]["start"]) == 3 and len(doc["load_average"]["end"]) == 3
    assert doc["machine"]["python"] and "streamlab" in doc["machine"]
    assert [t["status"] for t in doc["targets"]] == ["PASS", "FAIL", "info"]
    assert doc["targets"][0]["value"] == 2.0
    assert doc["all_pass"] is False


def test_fake_benchmark_table(fake_run):
    done, _ = fake_run
    out = done.stdout
    assert "fake rows" in out
    lines = out.splitlines()
    start = lines.index("targets")
    table = lines[start + 1 : start + 4]
    assert table[0].split()[-4:] == ["2.00x", ">=", "1.5x", "PASS"]
    assert table[1].split()[-6:] == ["5.00", "<=", "2", "FAIL", "(too", "slow)"]
    assert table[2].split()[-4:] == ["-", ">=", "1x", "info"]
    assert "other processes used" in out and "(--busy)" in out
    assert "ERROR ZeroDivisionError" in out


def test_no_spinner_or_helper_left(fake_run):
    done, _ = fake_run
    assert "processes left 0" in done.stdout.splitlines()


@pytest.mark.parametrize(
    ("value", "target", "op", "status"),
    [(3.0, 3.0, ">=", "PASS"), (2.9, 3.0, ">=", "FAIL"), (2.0, 2.0, "<=", "PASS"),
     (2.1, 2.0, "<=", "FAIL"), (None, 1.0, ">=", "FAIL")],
)  # fmt: skip
def test_check_status(value, target, op, status):
    assert h.check("x", value, target, op)["status"] == status


def test_check_refuses_unknown_op():
    with pytest.raises(ValueError, match=r"op='>' is not a comparison .* use '>=' or '<='"):
        h.check("x", 1.0, 1.0, ">")


def test_repeat_stops_once_a_run_is_long_enough():
    calls = []
    t = h.repeat(lambda: calls.append(1) or len(calls), 5, enough_s=0.0)
    assert calls == [1] and t.result == 1 and len(t.seconds) == 1
    t = h.repeat(lambda: calls.append(1) or len(calls), 3)
    assert t.result == 4 and len(t.seconds) == 3 and t.best <= t.median


def test_defaults_keep_what_was_given():
    args = h.parse(h.parser("x", "X."), ["--quick", "--repeats", "7"])
    h.defaults(args, repeats=(1, 3))
    assert args.repeats == 7 and args.out == h.RESULTS / "x.json"
    args = h.parse(h.parser("x", "X."), [])
    h.defaults(args, repeats=(1, 3))
    assert args.repeats == 3


def test_ratio_of_a_missing_figure_is_none():
    assert h.ratio(6.0, 2.0) == 3.0
    assert h.ratio(None, 2.0) is None and h.ratio(1.0, 0.0) is None


@pytest.mark.slow  # each script imports its peers (pandas, River, dask, ...) first
@pytest.mark.parametrize("script", sorted(p.name for p in BENCH.glob("bench_*.py")))
def test_every_benchmark_takes_the_shared_options(script):
    done = subprocess.run(
        [sys.executable, str(BENCH / script), "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert all(opt in done.stdout for opt in ("--quick", "--out", "--busy")), done.stdout
