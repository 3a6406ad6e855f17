"""What every benchmark here shares: the options, repeats, where it ran and how busy the machine
was, helper processes, the JSON under ``benchmarks/results/`` and the table of targets.

A benchmark script builds its options with :func:`parser`, reads them with :func:`parse` (which
also serves the script's helper roles, ``--_role NAME``), measures inside a :class:`Run` and
ends with :meth:`Run.finish`::

    p = parser("windows", __doc__)
    p.add_argument("--rows", type=int)
    args = parse(p, argv)
    defaults(args, rows=(1_000_000, 10_000_000), repeats=(2, 3))  # (quick, normal)
    with Run("windows", args) as run:
        run.section("resample", bench_resample, args.rows, args.repeats)
    checks = [check("streamlab / pandas", ratio(a, b), 0.5)]
    return run.finish(config={"rows": args.rows}, targets=checks, report=lines)

The JSON has the same top level for every benchmark: ``benchmark, date, duration_s, config,
machine, load_average {start, end}, other_processes_cpu_s, busy, results, targets [{name,
value, target, op, unit, status, note}], all_pass, notes``. ``other_processes_cpu_s`` is the
CPU time the rest of the machine used while this one ran (its helpers and their waited
children are ours; the ``--busy`` spinner counts as other, which is its point).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
BUSY_WARN = 0.2  # warn when others used more than this share of one core
# the --busy spinner's program: spins until its parent is gone (no orphan left spinning)
SPIN = "import os, sys; parent = int(sys.argv[1])\nwhile os.getppid() == parent: pass"

__all__ = ["Children", "Run", "Timed", "check", "cpu_marks", "defaults", "exit_when_parent_goes",
           "machine_info", "parse", "parser", "ratio", "repeat", "table"]  # fmt: skip


# -- options ---------------------------------------------------------------------------------
def parser(name: str, doc: str | None, *, repeats: bool = True) -> argparse.ArgumentParser:
    """The options every benchmark takes: ``--quick``, ``--repeats`` (unless ``repeats`` is
    False), ``--out`` (``benchmarks/results/NAME.json``), ``--busy``, and the hidden
    ``--_role`` that makes the script one of its own helper processes."""
    first = (doc or name).strip().split("\n\n")[0]
    p = argparse.ArgumentParser(description=first)
    p.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    if repeats:
        p.add_argument("--repeats", type=int, help="best of this many runs")
    p.add_argument("--out", type=Path, default=RESULTS / f"{name}.json", help="JSON path")
    p.add_argument(
        "--busy",
        action="store_true",
        help="keep one more core busy with a spinning process during the run",
    )
    p.add_argument("--_role", help=argparse.SUPPRESS)
    return p


def parse(p: argparse.ArgumentParser, argv=None, roles: dict[str, Callable] | None = None):
    """Parse ``argv``; with ``--_role NAME`` run ``roles[NAME](args)`` and exit instead."""
    args = p.parse_args(argv)
    if args._role is not None:
        if not roles or args._role not in roles:
            p.error(f"--_role {args._role!r} is not one of {sorted(roles or {})}, e.g. 'serve'")
        roles[args._role](args)
        raise SystemExit(0)
    return args


def defaults(args, **pairs: tuple[Any, Any]) -> None:
    """For each ``option=(quick, normal)``: an option not given takes the value of the mode."""
    for key, (quick, normal) in pairs.items():
        if getattr(args, key, None) is None:
            setattr(args, key, quick if args.quick else normal)


# -- repeats ---------------------------------------------------------------------------------
@dataclass
class Timed:
    """Every run's wall seconds and the last run's result."""

    seconds: list[float]
    result: Any = None

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def summary(self, count: float | None = None, per: str = "rows_per_s") -> dict:
        """``seconds``, ``best_seconds``, ``median_seconds`` and, given ``count``, its rate."""
        out = {"seconds": self.seconds, "best_seconds": self.best, "median_seconds": self.median}
        if count is not None:
            out[per] = count / self.best
        return out


def repeat(fn: Callable[[], Any], repeats: int, *, enough_s: float | None = None) -> Timed:
    """Run ``fn`` ``repeats`` times (at least once); stop early once a run took ``enough_s``."""
    seconds, result = [], None
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - t0)
        if enough_s is not None and seconds[-1] > enough_s:
            break
    return Timed(seconds, result)


# -- where it ran, and how busy the machine was ------------------------------------------------
def machine_info(*packages: str) -> dict:
    """Cores, memory, CPU model, platform, Python, the git commit and edited files, and the
    installed version of numpy, pandas, streamz, streamlab and each of ``packages``."""
    info: dict = {
        "cores_logical": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }
    with contextlib.suppress(ImportError):
        import psutil

        info["cores_physical"] = psutil.cpu_count(logical=False)
        info["memory_gib"] = round(psutil.virtual_memory().total / (1 << 30), 1)
    with contextlib.suppress(OSError, StopIteration), open("/proc/cpuinfo") as f:
        info["cpu"] = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    for dist in ("numpy", "pandas", "streamz", "streamlab", *packages):
        try:
            info[dist] = version(dist)
        except PackageNotFoundError:
            info[dist] = None
    return {**info, **_git()}


def _git() -> dict:
    def git(*cmd: str) -> str:
        run = subprocess.run(["git", "--no-optional-locks", "-C", str(REPO), *cmd],
                             capture_output=True, text=True, timeout=10)  # fmt: skip
        return run.stdout

    try:
        dirty = git("status", "--porcelain", "--untracked-files=no").splitlines()
        return {"git_commit": git("rev-parse", "HEAD").strip() or None,
                "git_dirty_files": [ln[3:] for ln in dirty]}  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return {}


def cpu_marks(*, descendants: bool = False) -> tuple[float, float]:
    """(busy CPU seconds of the whole machine, CPU seconds that are ours): this process and
    its waited children, or with ``descendants`` every live process below this one (dask
    workers, say). Over a run, the difference of the two is what other processes used."""
    import psutil

    t = psutil.cpu_times()
    busy = sum(t) - t.idle - getattr(t, "iowait", 0.0)
    if not descendants:
        o = os.times()
        return busy, o.user + o.system + o.children_user + o.children_system
    me, ours = psutil.Process(), 0.0
    for proc in [me, *me.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            if SPIN in proc.cmdline():  # the --busy spinner is someone else's load
                continue
            c = proc.cpu_times()
            ours += c.user + c.system
    return busy, ours


def _load() -> list[float] | None:
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


# -- helper processes --------------------------------------------------------------------------
def exit_when_parent_goes(commands: list | None = None) -> None:
    """In a helper: read stdin lines in a thread (into ``commands``); EOF ends the process."""

    def watch():
        for line in sys.stdin:
            if commands is not None:
                commands.append(line.strip())
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


class Children:
    """Helper processes: the script run again with ``--_role ROLE``; all ended in ``end_all``.
    A helper exits when its stdin closes (see :func:`exit_when_parent_goes`)."""

    def __init__(self, script: str | Path) -> None:
        self.script = str(Path(script).resolve())
        self.procs: list[subprocess.Popen] = []

    def spawn(self, role: str, *extra: str, env: dict | None = None) -> subprocess.Popen:
        cmd = [sys.executable, self.script, "--_role", role, *extra]
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             bufsize=1, env=None if env is None else {**os.environ, **env})  # fmt: skip
        self.procs.append(p)
        return p

    @staticmethod
    def readline(p: subprocess.Popen, timeout: float = 60.0) -> str:
        """One stdout line, or an error if the helper says nothing for ``timeout`` seconds."""
        out: list[str] = []
        th = threading.Thread(target=lambda: out.append(p.stdout.readline()), daemon=True)
        th.start()
        th.join(timeout)
        if not out or not out[0]:
            raise RuntimeError(f"helper {p.args[2:]} gave no answer (exit code {p.poll()})")
        return out[0].strip()

    def end(self, p: subprocess.Popen) -> None:
        if p.poll() is None:
            with contextlib.suppress(OSError):
                p.stdin.close()  # helpers exit on stdin EOF
            try:
                p.wait(2)
            except subprocess.TimeoutExpired:
                p.terminate()
                try:
                    p.wait(3)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for f in (p.stdin, p.stdout):
            with contextlib.suppress(OSError):
                if f is not None:
                    f.close()
        if p in self.procs:
            self.procs.remove(p)

    def end_all(self) -> None:
        for p in list(self.procs):
            self.end(p)


# -- targets and the table ---------------------------------------------------------------------
def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b``, or None when either is missing (a section that raised) or ``b`` is 0."""
    return a / b if a is not None and b else None


def check(name: str, value, target: float, op: str = ">=", note: str = "", *,
          unit: str = "x", info: bool = False) -> dict:  # fmt: skip
    """One target. ``status`` is PASS or FAIL (``info``: shown, never FAIL, not counted)."""
    if op not in (">=", "<="):
        raise ValueError(f"op={op!r} is not a comparison this table knows; use '>=' or '<='")
    ok = value is not None and (value >= target if op == ">=" else value <= target)
    status = "info" if info else "PASS" if ok else "FAIL"
    return {"name": name, "value": value, "target": target, "op": op, "unit": unit,
            "status": status, "note": note}  # fmt: skip


def table(checks: list[dict], width: int = 54) -> list[str]:
    """The targets as aligned lines: name, value, rule, status, note."""
    lines = ["targets"]
    for c in checks:
        unit = c.get("unit", "")
        v = "-" if c["value"] is None else f"{c['value']:,.2f}{unit}"
        rule = f"{c['op']} {c['target']:,.4g}{unit}"
        note = f"   ({c['note']})" if c.get("note") else ""
        lines.append(f"  {c['name']:<{width}} {v:>12} {rule:>12}   {c['status']}{note}")
    return lines


def _jsonable(x):
    if hasattr(x, "item"):  # numpy scalars
        return x.item()
    if isinstance(x, (set, tuple)):
        return list(x)
    return str(x)


def _errors(results: dict) -> list[str]:
    out = []
    for key, v in results.items():
        if isinstance(v, dict) and "error" in v:
            out.append(key)
        elif isinstance(v, dict):
            out += [f"{key}.{k}" for k, w in v.items() if isinstance(w, dict) and "error" in w]
    return out


# -- one run -----------------------------------------------------------------------------------
class Run:
    """One benchmark run: the load and CPU marks around it, the ``--busy`` spinner, the helper
    processes (``children``, all ended on exit), sections that record an error and go on, and
    :meth:`finish`, which prints the targets and writes the JSON."""

    def __init__(self, name: str, args, *, script: str | Path | None = None) -> None:
        self.name, self.args = name, args
        self.results: dict = {}
        self.children = Children(script or sys.argv[0])
        self.busy = bool(getattr(args, "busy", False))
        self._spinner: subprocess.Popen | None = None
        self.date = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        self.started = time.perf_counter()
        self.load_start, self.marks_start = _load(), cpu_marks()
        self.duration, self.load_end, self.others = None, None, None

    def __enter__(self) -> Run:
        if self.busy:  # a plain spinning loop on the other core: the "shared machine" mode
            self._spinner = subprocess.Popen([sys.executable, "-c", SPIN, str(os.getpid())])
        return self

    def __exit__(self, *exc) -> None:
        self.children.end_all()
        self.stop()

    def stop(self) -> None:
        """End marks (before the spinner is waited for, so its CPU stays someone else's)."""
        if self.duration is None:
            self.duration = time.perf_counter() - self.started
            self.load_end, end = _load(), cpu_marks()
            others = (end[0] - self.marks_start[0]) - (end[1] - self.marks_start[1])
            self.others = max(0.0, others)
        if self._spinner is not None:
            self._spinner.kill()
            self._spinner.wait()
            self._spinner = None

    def section(self, key: str, fn: Callable, *args, into: dict | None = None,
                catch: tuple = (Exception,)) -> Any:  # fmt: skip
        """``into[key] = fn(*args)`` (``into`` is ``results``), or ``{"error": ...}`` if it
        raised: one broken section must not hide the others."""
        into = self.results if into is None else into
        print(f"... {key.replace('_', ' ')}", end="", flush=True)
        t = time.perf_counter()
        try:
            into[key] = fn(*args)
        except catch as exc:
            into[key] = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
            print(f"  ERROR {into[key]['error'][:500]}", flush=True)
            return into[key]
        print(f"  ({time.perf_counter() - t:.1f} s)", flush=True)
        return into[key]

    def finish(self, *, config: dict, targets: list[dict] = (), report: list[str] = (),
               packages: tuple = (), notes: list[str] = (),
               machine: dict | None = None) -> int:  # fmt: skip
        """Print ``report``, the targets table and the load; write the JSON to ``--out``.
        The exit status is 1 if a section raised (a missed target is FAIL, still 0)."""
        self.stop()
        if report:
            print("\n" + "\n".join(report))
        if targets:
            print("\n" + "\n".join(table(list(targets))))
        share = self.others / self.duration if self.duration else 0.0
        load = "/".join(f"{x:.2f}" for x in self.load_end or [])
        print(f"\ntotal {self.duration:.1f} s; other processes used {self.others:.1f} CPU-seconds "
              f"meanwhile ({share:.0%} of one core){' (--busy)' if self.busy else ''}; "
              f"load average {load}")  # fmt: skip
        if share > BUSY_WARN:
            print("note: something else kept the machine busy during the run; rates and timing "
                  "jitter suffer (the JSON keeps every repeat's seconds)")  # fmt: skip
        doc = {
            "benchmark": self.name,
            "date": self.date,
            "duration_s": self.duration,
            "config": {"mode": "quick" if self.args.quick else "normal", **config},
            "machine": {**machine_info(*packages), **(machine or {})},
            "load_average": {"start": self.load_start, "end": self.load_end},
            "other_processes_cpu_s": self.others,
            "busy": self.busy,
            "results": self.results,
            "targets": list(targets),
            "all_pass": all(c["status"] != "FAIL" for c in targets),
            "notes": list(notes),
        }
        out = Path(self.args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(doc, indent=2, default=_jsonable) + "\n")
        print(f"wrote {out}")
        return 1 if _errors(self.results) else 0
