"""Foundation benchmark: streamlab's socket and replay paths against streamz and pandas.

One run measures, on the same bytes (``epoch_ms,value,sensor`` CSV with a header line):

1. streamlab socket: ``from_tcp`` client <- plain-socket producer in another process;
   ``src.map(filter).sink(count)``; rows/s, best of ``--repeats`` fresh connections.
2. streamz peer: ``Stream.from_tcp`` (a server) ``.sink(count)`` <- producer process that
   connects and sends the first ``--streamz-lines`` lines of the same payload; lines/s.
3. ``pandas.read_csv(io.BytesIO(payload))``: the parse limit, rows/s, best of repeats.
4. ``streamlab.replay(file, time_column="epoch_ms", speed=0)``: rows/s through ``sink``.
5. Replay pacing error at ``speed=1`` (gaps 2-30 ms) and ``speed=10`` (gaps 20-300 ms).
6. Client RSS while ``--rows-memory`` rows go through the socket path (producer generates
   rows on the fly; client in its own process so its RSS is only the stream's).

Usage::

    python benchmarks/bench_foundation.py [--quick] [--out benchmarks/results/foundation.json]

Prints a table with PASS/FAIL for the targets and writes JSON (see benchmarks/README.md).
The same file is also the helper processes (``--_role ...``), so it needs no other files.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from benchinfo import machine_info

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
HEADER = b"epoch_ms,value,sensor\n"
T0_MS = 1_700_000_000_000
CHUNK_ROWS = 250_000  # generation unit: the file and the on-the-fly producer use the same one
SEED = 20240611
_POW10 = 10 ** np.arange(12, -1, -1, dtype=np.int64)

TARGETS = {
    "socket_vs_streamz": 25.0,  # streamlab socket rows/s / streamz lines/s >= 25
    "socket_vs_read_csv": 0.6,  # streamlab socket rows/s / read_csv rows/s >= 0.6
    "replay_p99_ms": 2.0,  # p99 |gap error| <= 2 ms
    "memory_flat_mib": 64.0,  # max-min RSS after warm-up <= 64 MiB
    "memory_growth_mib": 32.0,  # RSS(100%) - RSS(20%) <= 32 MiB
}


# ------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------
def make_rows(start: int, n: int, seed: int = SEED) -> tuple[bytes, int]:
    """Rows ``start .. start+n-1`` as CSV bytes (no header) and how many have value > 0.

    ``1700000000123,-4.071,sensor-3``: epoch ms one apart, value in [-9.999, 9.999] with three
    decimals, ten sensors. Built as a fixed-width byte matrix with NUL padding that is then
    dropped, so 4M rows take about a second. Deterministic for a given (start, n, seed).
    """
    rng = np.random.default_rng([seed, start])
    t = T0_MS + np.arange(start, start + n, dtype=np.int64)
    v = rng.integers(-9999, 10000, n)
    k = rng.integers(0, 10, n)
    a = np.abs(v)
    m = np.zeros((n, 30), np.uint8)
    m[:, 0:13] = (t[:, None] // _POW10) % 10 + 48
    m[:, 13] = ord(",")
    m[:, 14] = np.where(v < 0, ord("-"), 0)
    m[:, 15] = a // 1000 + 48
    m[:, 16] = ord(".")
    m[:, 17] = (a // 100) % 10 + 48
    m[:, 18] = (a // 10) % 10 + 48
    m[:, 19] = a % 10 + 48
    m[:, 20] = ord(",")
    m[:, 21:28] = np.frombuffer(b"sensor-", np.uint8)
    m[:, 28] = k + 48
    m[:, 29] = ord("\n")
    flat = m.ravel()
    return flat[flat != 0].tobytes(), int((v > 0).sum())


def iter_chunks(rows: int):
    for start in range(0, rows, CHUNK_ROWS):
        yield make_rows(start, min(CHUNK_ROWS, rows - start))


def build_payload(rows: int) -> tuple[bytes, int]:
    parts, positive = [HEADER], 0
    for data, pos in iter_chunks(rows):
        parts.append(data)
        positive += pos
    return b"".join(parts), positive


def write_timing_file(path: Path, rows: int, lo_ms: int, hi_ms: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    gaps = rng.integers(lo_ms, hi_ms + 1, rows - 1)
    t = T0_MS + np.concatenate(([0], np.cumsum(gaps)))
    with open(path, "w") as f:
        f.write(HEADER.decode())
        for i, x in enumerate(t.tolist()):
            f.write(f"{x},{(i % 2000) / 1000:.3f},sensor-{i % 10}\n")


# ------------------------------------------------------------------------------------------
# helper processes (this file run with --_role)
# ------------------------------------------------------------------------------------------
def _exit_when_parent_goes(commands=None) -> None:
    """Read stdin lines in a thread; EOF (the parent closed the pipe or died) ends us."""

    def watch():
        for line in sys.stdin:
            if commands is not None:
                commands.append(line.strip())
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def _listen() -> socket.socket:
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    return srv


def role_serve(args) -> None:
    """Plain-socket server: each client that connects gets the whole file, then EOF."""
    payload = Path(args.file).read_bytes()
    srv = _listen()
    _exit_when_parent_goes()
    print(srv.getsockname()[1], flush=True)
    while True:
        conn, _ = srv.accept()
        try:
            conn.sendall(payload)
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            conn.close()


def role_serve_gen(args) -> None:
    """Plain-socket server generating ``--rows`` rows per client in chunks (never all held)."""
    srv = _listen()
    _exit_when_parent_goes()
    print(srv.getsockname()[1], flush=True)
    while True:
        conn, _ = srv.accept()
        try:
            conn.sendall(HEADER)
            for data, _ in iter_chunks(args.rows):
                conn.sendall(data)
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            conn.close()


def role_push(args) -> None:
    """Client producer for the streamz server: on each ``go PORT`` line from stdin, connect,
    send the first ``--lines`` lines of the file, close, answer ``sent SECONDS``."""
    data = Path(args.file).read_bytes()
    end = -1
    for _ in range(args.lines):
        end = data.index(b"\n", end + 1)
    data = data[: end + 1]
    print("ready", flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] != "go":
            continue
        t = time.perf_counter()
        with socket.create_connection(("127.0.0.1", int(parts[1]))) as c:
            c.sendall(data)
        print(f"sent {time.perf_counter() - t:.6f}", flush=True)


def _rss_now() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def _peak_rss() -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    except Exception:
        return None


def role_mem_client(args) -> None:
    """The socket path in its own process: prints ``start`` / ``done`` markers as JSON."""
    import streamlab

    counted = [0]

    def count(df):
        counted[0] += len(df)

    src = streamlab.from_tcp("127.0.0.1", args.port, reconnect=False)
    src.map(lambda df: df[df["value"] > 0]).sink(count)
    print(json.dumps({"event": "start", "rss": _rss_now(), "peak": _peak_rss()}), flush=True)
    t = time.perf_counter()
    [stats] = streamlab.run(src)
    dt = time.perf_counter() - t
    print(
        json.dumps(
            {
                "event": "done",
                "rss": _rss_now(),
                "peak": _peak_rss(),
                "seconds": dt,
                "rows": stats.rows,
                "bad": stats.bad,
                "batches": stats.batches,
                "positive": counted[0],
            }
        ),
        flush=True,
    )


# ------------------------------------------------------------------------------------------
# child process bookkeeping: everything started is ended in finally
# ------------------------------------------------------------------------------------------
class Children:
    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def spawn(self, role: str, *extra: str) -> subprocess.Popen:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--_role", role, *extra]
        p = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        self.procs.append(p)
        return p

    @staticmethod
    def readline(p: subprocess.Popen, timeout: float = 60.0) -> str:
        """One stdout line, or an error if the child says nothing for ``timeout`` seconds."""
        out: list[str] = []
        th = threading.Thread(target=lambda: out.append(p.stdout.readline()), daemon=True)
        th.start()
        th.join(timeout)
        if not out or not out[0]:
            raise RuntimeError(f"helper {p.args[3:]} gave no answer (exit code {p.poll()})")
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
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass
        if p in self.procs:
            self.procs.remove(p)

    def end_all(self) -> None:
        for p in list(self.procs):
            self.end(p)


# ------------------------------------------------------------------------------------------
# measurements
# ------------------------------------------------------------------------------------------
def bench_socket(port: int, rows: int, positive: int, repeats: int) -> dict:
    import streamlab

    times, last = [], None
    for _ in range(repeats):
        counted = [0]

        def count(df, counted=counted):
            counted[0] += len(df)

        src = streamlab.from_tcp("127.0.0.1", port, reconnect=False)
        src.map(lambda df: df[df["value"] > 0]).sink(count)
        t = time.perf_counter()
        [stats] = streamlab.run(src)
        times.append(time.perf_counter() - t)
        last = stats
        if stats.rows != rows or counted[0] != positive or stats.bad:
            raise RuntimeError(
                f"socket run saw rows={stats.rows} (want {rows}), positive="
                f"{counted[0]} (want {positive}), bad={stats.bad}"
            )
    best = min(times)
    return {
        "rows": rows,
        "seconds": times,
        "best_seconds": best,
        "rows_per_s": rows / best,
        "mb_per_s": last.bytes / best / 1e6,
        "batches": last.batches,
        "rows_per_batch": rows / last.batches,
    }


def profile_socket(port: int) -> list[dict]:
    """One more socket run under cProfile (main thread = the client's event loop)."""
    import cProfile
    import pstats

    import streamlab

    src = streamlab.from_tcp("127.0.0.1", port, reconnect=False)
    src.map(lambda df: df[df["value"] > 0]).sink(lambda df: None)
    prof = cProfile.Profile()
    prof.enable()
    streamlab.run(src)
    prof.disable()
    st = pstats.Stats(prof)
    total = st.total_tt
    rows = []
    for (file, line, name), (_cc, nc, tt, ct, _callers) in st.stats.items():
        rows.append(
            {
                "function": f"{Path(file).name}:{line}({name})",
                "calls": nc,
                "tottime": tt,
                "cumtime": ct,
            }
        )
    rows.sort(key=lambda r: -r["tottime"])
    top = rows[:20]
    print(f"\nprofile of one socket run ({total:.3f} s total, by own time):")
    for r in top:
        print(
            f"  {r['tottime']:8.3f} s own {r['cumtime']:8.3f} s cum {r['calls']:>8}  "
            f"{r['function']}"
        )
    return top


def bench_streamz(push: subprocess.Popen, lines: int, repeats: int) -> dict:
    """streamz 0.6.6 ``from_tcp`` is a tornado TCPServer. We run it on *our* asyncio loop:
    inside ``asyncio.run`` with ``asynchronous=True`` streamz takes ``IOLoop.current()``,
    tornado's wrapper of that same asyncio loop, so no background thread shares the GIL with
    the measurement. The sink notes the time the last expected line arrives; the main
    coroutine only waits (bounded) for that."""
    import asyncio

    from streamz import Stream

    async def main() -> list[float]:
        with socket.socket() as s:  # a free port for streamz to listen on
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        src = Stream.from_tcp(port, asynchronous=True)
        state = {"n": 0, "done": None}

        def count(_line):
            state["n"] += 1
            if state["n"] == lines:
                state["done"] = time.perf_counter()

        src.sink(count)
        src.start()
        try:
            for _ in range(200):  # the server listens once the loop has run src.run
                await asyncio.sleep(0.01)
                if src.server is not None:
                    break
            times = []
            for _ in range(repeats):
                state["n"], state["done"] = 0, None
                t = time.perf_counter()
                push.stdin.write(f"go {port}\n")
                push.stdin.flush()
                limit = t + max(30.0, lines / 20_000)
                while state["done"] is None and time.perf_counter() < limit:
                    await asyncio.sleep(0.02)
                if state["done"] is None:
                    raise RuntimeError(
                        f"streamz counted {state['n']} of {lines} lines in {limit - t:.0f} s"
                    )
                times.append(state["done"] - t)
                await asyncio.to_thread(Children.readline, push)  # "sent ...": socket closed
                await asyncio.sleep(0.05)
            return times
        finally:
            src.stop()

    times = asyncio.run(main())
    best = min(times)
    return {
        "lines": lines,
        "seconds": times,
        "best_seconds": best,
        "lines_per_s": lines / best,
        "loop": "asyncio.run + asynchronous=True (tornado IOLoop.current() on that loop)",
    }


def bench_read_csv(payload: bytes, rows: int, repeats: int) -> dict:
    import pandas as pd

    times, filtered = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        df = pd.read_csv(io.BytesIO(payload))
        times.append(time.perf_counter() - t)
        if len(df) != rows:
            raise RuntimeError(f"read_csv gave {len(df)} rows, want {rows}")
        t = time.perf_counter()
        kept = df[df["value"] > 0]
        filtered.append(time.perf_counter() - t)
        dtypes = {c: str(d) for c, d in df.dtypes.items()}
        del df, kept
    best = min(times)
    # context, not a target: the same filter the socket pipeline applies, on one big frame
    with_filter = min(a + b for a, b in zip(times, filtered, strict=True))
    return {
        "rows": rows,
        "seconds": times,
        "best_seconds": best,
        "rows_per_s": rows / best,
        "filter_seconds": filtered,
        "with_filter_rows_per_s": rows / with_filter,
        "dtypes": dtypes,
    }


def bench_replay_fast(path: Path, rows: int, repeats: int) -> dict:
    import streamlab

    times = []
    for _ in range(repeats):
        counted = [0]

        def count(df, counted=counted):
            counted[0] += len(df)

        src = streamlab.replay(path, time_column="epoch_ms", speed=0)
        src.sink(count)
        t = time.perf_counter()
        streamlab.run(src)
        times.append(time.perf_counter() - t)
        if counted[0] != rows:
            raise RuntimeError(f"replay emitted {counted[0]} rows, want {rows}")
    best = min(times)
    return {"rows": rows, "seconds": times, "best_seconds": best, "rows_per_s": rows / best}


def bench_replay_timing(path: Path, speed: float, gaps_ms: tuple[int, int], rows: int) -> dict:
    import streamlab

    arrivals: list[tuple[float, int, int]] = []

    def note(df):
        arrivals.append((time.perf_counter(), df["epoch_ms"].iloc[0].value, len(df)))

    src = streamlab.replay(path, time_column="epoch_ms", speed=speed)
    src.sink(note)
    t = time.perf_counter()
    streamlab.run(src)
    took = time.perf_counter() - t
    wall = np.array([a[0] for a in arrivals])
    event = np.array([a[1] for a in arrivals], dtype=np.int64)
    # error of each gap between consecutive batches: wall gap - recorded gap / speed
    err = np.diff(wall) * 1e3 - np.diff(event) / 1e6 / speed
    absolute = np.abs(err)
    return {
        "speed": speed,
        "rows": rows,
        "gap_ms": list(gaps_ms),
        "batches": len(arrivals),
        "rows_emitted": int(sum(a[2] for a in arrivals)),
        "seconds": took,
        "gaps": len(err),
        "abs_err_ms": {
            "p50": float(np.percentile(absolute, 50)),
            "p99": float(np.percentile(absolute, 99)),
            "max": float(absolute.max()),
        },
        "signed_err_ms": {
            "mean": float(err.mean()),
            "min": float(err.min()),
            "max": float(err.max()),
        },
    }


def bench_timer_jitter(path: Path, speed: float) -> dict:
    """Control for row 5, no streamlab: a bare asyncio loop waking at the same schedule with
    the same strategy (timer sleeps until 1.5 ms before the due time, then yields with
    ``sleep(0)``). Its error is what this machine's scheduler allows right now."""
    import asyncio

    import pandas as pd

    due = (pd.read_csv(path)["epoch_ms"].to_numpy(np.int64) - T0_MS) / 1e3 / speed

    async def main() -> np.ndarray:
        loop = asyncio.get_running_loop()
        start = loop.time()
        woke = np.empty(len(due))
        for i, d in enumerate(due.tolist()):
            while True:
                left = start + d - loop.time()
                if left <= 0:
                    break
                await asyncio.sleep(min(left - 0.0015, 0.05) if left > 0.0015 else 0)
            woke[i] = time.perf_counter()
        return woke

    woke = asyncio.run(main())
    err = np.diff(woke) * 1e3 - np.diff(due) * 1e3
    absolute = np.abs(err)
    return {
        "speed": speed,
        "gaps": len(err),
        "abs_err_ms": {
            "p50": float(np.percentile(absolute, 50)),
            "p99": float(np.percentile(absolute, 99)),
            "max": float(absolute.max()),
        },
    }


def bench_memory(children: Children, rows: int, interval: float) -> dict:
    import psutil

    server = children.spawn("serve-gen", "--rows", str(rows))
    try:
        port = int(children.readline(server))
        client = children.spawn("mem-client", "--port", str(port))
        proc = psutil.Process(client.pid)
        samples: list[tuple[float, int]] = []
        events: dict[str, dict] = {}
        out: list[str] = []

        def read():
            for line in client.stdout:
                try:
                    msg = json.loads(line)
                except ValueError:
                    out.append(line)
                    continue
                msg["t"] = time.perf_counter()
                events[msg["event"]] = msg

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        limit = time.perf_counter() + max(120.0, rows / 100_000)
        while client.poll() is None and time.perf_counter() < limit:
            try:
                samples.append((time.perf_counter(), proc.memory_info().rss))
            except psutil.Error:
                break
            time.sleep(interval)
        if client.poll() is None:
            raise RuntimeError(f"memory client still running after {limit:.0f} s")
        reader.join(5)
        if "done" not in events:
            raise RuntimeError(
                f"memory client ended without a result (exit {client.returncode}"
                f"): {''.join(out)[-500:]}"
            )
    finally:
        children.end(server)
    start, done = events["start"], events["done"]
    t0, t1 = start["t"], done["t"]
    span = t1 - t0
    run = [(t - t0, r) for t, r in samples if t0 <= t <= t1]
    run.append((span, done["rss"]))  # the client's own reading at 100%

    def at(frac: float) -> int:
        return min(run, key=lambda s: abs(s[0] - frac * span))[1]

    warm = [r for t, r in run if t >= 0.2 * span]
    mib = 1 << 20
    if done["rows"] != rows or done["bad"]:
        raise RuntimeError(f"memory run saw rows={done['rows']} (want {rows}), bad={done['bad']}")
    return {
        "rows": rows,
        "seconds": done["seconds"],
        "rows_per_s": rows / done["seconds"],
        "sample_interval_s": interval,
        "samples_in_run": len(run),
        "rss_mib": {
            "before_stream": start["rss"] / mib,
            "at_20pct": at(0.2) / mib,
            "at_50pct": at(0.5) / mib,
            "at_100pct": at(1.0) / mib,
            "peak_hwm": (done["peak"] or 0) / mib,
        },
        "after_warmup_max_minus_min_mib": (max(warm) - min(warm)) / mib,
        "growth_20_to_100_mib": (at(1.0) - at(0.2)) / mib,
        "peak_minus_before_mib": ((done["peak"] or 0) - start["rss"]) / mib,
        "series": [[round(t, 3), round(r / mib, 1)] for t, r in run],
    }


# ------------------------------------------------------------------------------------------
# reporting
# ------------------------------------------------------------------------------------------
def git_info() -> dict:
    """Which code was measured, and was it edited (read-only git queries)."""
    info: dict = {}
    try:
        info["git_commit"] = (
            subprocess.run(
                ["git", "-C", str(REPO), "rev-parse", "HEAD"],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.strip()
            or None
        )
        dirty = subprocess.run(
            [
                "git",
                "--no-optional-locks",
                "-C",
                str(REPO),
                "status",
                "--porcelain",
                "--untracked-files=no",
            ],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
        info["git_dirty_files"] = [ln[3:] for ln in dirty.splitlines()]
    except Exception:
        pass
    return info


def _cpu_marks() -> tuple[float, float]:
    """(busy CPU seconds of the whole machine, CPU seconds of this process and its waited
    children): their difference over the run is what other processes used meanwhile."""
    import psutil

    t = psutil.cpu_times()
    busy = sum(t) - t.idle - getattr(t, "iowait", 0.0)
    o = os.times()
    return busy, o.user + o.system + o.children_user + o.children_system


def _fmt_load(load) -> str:
    return "/".join(f"{x:.2f}" for x in load) if load else "?"


def fmt_rate(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x / 1e6:.2f}M/s" if x >= 1e6 else f"{x / 1e3:.0f}k/s"


def check(name: str, value, target: float, op: str, note: str = "") -> dict:
    ok = value is not None and (value >= target if op == ">=" else value <= target)
    return {
        "name": name,
        "value": value,
        "target": target,
        "op": op,
        "status": "PASS" if ok else "FAIL",
        "note": note,
    }


def report(res: dict, cfg: dict) -> tuple[list[str], list[dict]]:
    lines: list[str] = []
    g = res.get
    w = 64

    def row(label, value, extra=""):
        lines.append(f"  {label:<{w}} {value:>14}  {extra}")

    lines.append("measurements")
    s = g("socket", {})
    row(
        f"1. streamlab from_tcp -> map(filter) -> sink  ({cfg['rows']:,} rows)",
        fmt_rate(s.get("rows_per_s")),
        f"best of {cfg['repeats']}, {s.get('mb_per_s', 0):.0f} MB/s, "
        f"{s.get('rows_per_batch', 0):,.0f} rows/batch"
        if "rows_per_s" in s
        else s.get("error", ""),
    )
    z = g("streamz", {})
    row(
        f"2. streamz from_tcp(server) -> sink  ({cfg['streamz_lines']:,} lines, subset)",
        fmt_rate(z.get("lines_per_s")),
        f"lines/s, best of {cfg['repeats']}" if "lines_per_s" in z else z.get("error", ""),
    )
    r = g("read_csv", {})
    row(
        f"3. pandas.read_csv(BytesIO(payload))  ({cfg['rows']:,} rows)",
        fmt_rate(r.get("rows_per_s")),
        f"best of {cfg['repeats']}" if "rows_per_s" in r else r.get("error", ""),
    )
    if "with_filter_rows_per_s" in r:
        row(
            "   (context) read_csv + the same filter on the whole frame",
            fmt_rate(r["with_filter_rows_per_s"]),
            "not a target",
        )
    f = g("replay_fast", {})
    row(
        f"4. streamlab.replay(speed=0) -> sink  ({cfg['rows']:,} rows)",
        fmt_rate(f.get("rows_per_s")),
        f"best of {cfg['repeats']}" if "rows_per_s" in f else f.get("error", ""),
    )
    for key in ("speed_1", "speed_10"):
        t = g("replay_timing", {}).get(key, {})
        e = t.get("abs_err_ms")
        label = (
            f"5. replay {key.replace('_', '=')} |gap error| p50/p99/max "
            f"(gaps {t.get('gap_ms', ['?', '?'])[0]}-{t.get('gap_ms', ['?', '?'])[1]} ms)"
        )
        row(
            label,
            f"{e['p50']:.2f}/{e['p99']:.2f}/{e['max']:.2f} ms" if e else "-",
            f"{t['gaps']} gaps, {t['batches']} batches" if e else t.get("error", ""),
        )
        c = g("replay_timing", {}).get(f"control_{key}", {}).get("abs_err_ms")
        if c:
            row(
                "   (control) bare asyncio timer, same schedule, no streamlab",
                f"{c['p50']:.2f}/{c['p99']:.2f}/{c['max']:.2f} ms",
                "machine jitter floor",
            )
    m = g("memory", {})
    if "rss_mib" in m:
        rm = m["rss_mib"]
        row(
            f"6. client RSS at 20%/50%/100%  ({cfg['rows_memory']:,} rows)",
            f"{rm['at_20pct']:.0f}/{rm['at_50pct']:.0f}/{rm['at_100pct']:.0f} MiB",
            f"before stream {rm['before_stream']:.0f} MiB, peak {rm['peak_hwm']:.0f} MiB, "
            f"{m['samples_in_run']} samples, {fmt_rate(m['rows_per_s'])}",
        )
        row(
            "   RSS max-min after warm-up (first 20% of run)",
            f"{m['after_warmup_max_minus_min_mib']:.1f} MiB",
            f"growth 20%->100% {m['growth_20_to_100_mib']:+.1f} MiB",
        )
    else:
        row(f"6. client RSS  ({cfg['rows_memory']:,} rows)", "-", m.get("error", ""))

    checks = []
    sl, zl, rl = s.get("rows_per_s"), z.get("lines_per_s"), r.get("rows_per_s")
    checks.append(
        check(
            "streamlab socket / streamz",
            sl / zl if sl and zl else None,
            TARGETS["socket_vs_streamz"],
            ">=",
            f"streamz on a {cfg['streamz_lines']:,}-line subset",
        )
    )
    checks.append(
        check(
            "streamlab socket / pandas read_csv",
            sl / rl if sl and rl else None,
            TARGETS["socket_vs_read_csv"],
            ">=",
        )
    )
    for key in ("speed_1", "speed_10"):
        e = g("replay_timing", {}).get(key, {}).get("abs_err_ms")
        checks.append(
            check(
                f"replay {key.replace('_', '=')} p99 |gap error| ms",
                e["p99"] if e else None,
                TARGETS["replay_p99_ms"],
                "<=",
            )
        )
    flat = m.get("after_warmup_max_minus_min_mib")
    growth = m.get("growth_20_to_100_mib")
    checks.append(
        check("memory flat: RSS max-min after warm-up MiB", flat, TARGETS["memory_flat_mib"], "<=")
    )
    checks.append(
        check("memory flat: RSS growth 20%->100% MiB", growth, TARGETS["memory_growth_mib"], "<=")
    )
    lines.append("")
    lines.append("targets")
    for c in checks:
        v = c["value"]
        vs = "-" if v is None else (f"{v:.2f}x" if c["op"] == ">=" else f"{v:.2f}")
        tgt = f"{c['op']} {c['target']:g}" + ("x" if c["op"] == ">=" else "")
        lines.append(
            f"  {c['name']:<{w - 10}} {vs:>12} {tgt:>10}   {c['status']}"
            + (f"   ({c['note']})" if c["note"] else "")
        )
    return lines, checks


# ------------------------------------------------------------------------------------------
# main
# ------------------------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smaller sizes (about a minute)")
    p.add_argument(
        "--out",
        default=str(HERE / "results" / "foundation.json"),
        help="JSON output path (default: benchmarks/results/foundation.json)",
    )
    p.add_argument("--rows", type=int, help="socket/read_csv/replay rows (4M; quick 1M)")
    p.add_argument(
        "--rows-memory", type=int, help="rows through the socket for the memory row (10M; quick 2M)"
    )
    p.add_argument("--streamz-lines", type=int, help="lines sent to streamz (500k; quick 200k)")
    p.add_argument("--timing-rows", type=int, help="rows per pacing file (400; quick 200)")
    p.add_argument("--repeats", type=int, default=3, help="best of this many (default 3)")
    p.add_argument(
        "--mem-interval",
        type=float,
        default=0.02,
        help="RSS sampling interval in seconds (default 0.02: 10M rows take about 2 s)",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="also run the socket path once under cProfile and print the top",
    )
    p.add_argument(
        "--_role", choices=["serve", "serve-gen", "push", "mem-client"], help=argparse.SUPPRESS
    )
    p.add_argument("--file", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    p.add_argument("--lines", type=int, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a._role is None:
        a.rows = a.rows or (1_000_000 if a.quick else 4_000_000)
        a.rows_memory = a.rows_memory or (2_000_000 if a.quick else 10_000_000)
        a.streamz_lines = min(a.streamz_lines or (200_000 if a.quick else 500_000), a.rows + 1)
        a.timing_rows = a.timing_rows or (200 if a.quick else 400)
    return a


def _section(results: dict, key: str, fn, *args):
    label = key.replace("_", " ")
    print(f"... {label}", end="", flush=True)
    t = time.perf_counter()
    try:
        results[key] = fn(*args)
    except Exception as exc:  # record and go on: one broken row must not hide the others
        results[key] = {"error": f"{type(exc).__name__}: {exc}"}
        print(f"  ERROR {type(exc).__name__}: {exc}", flush=True)
        return
    print(f"  ({time.perf_counter() - t:.1f} s)", flush=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    roles = {
        "serve": role_serve,
        "serve-gen": role_serve_gen,
        "push": role_push,
        "mem-client": role_mem_client,
    }
    if args._role:
        if args._role == "mem-client":  # it runs to completion; still exit if orphaned
            _exit_when_parent_goes()
        roles[args._role](args)
        return 0

    def on_term(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    started = time.perf_counter()
    load_start = os.getloadavg() if hasattr(os, "getloadavg") else None
    marks_start = _cpu_marks()
    date = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    cfg = {
        "mode": "quick" if args.quick else "normal",
        "rows": args.rows,
        "rows_memory": args.rows_memory,
        "streamz_lines": args.streamz_lines,
        "timing_rows": args.timing_rows,
        "repeats": args.repeats,
        "mem_interval_s": args.mem_interval,
        "seed": SEED,
    }
    print(
        f"streamlab foundation benchmark ({cfg['mode']}): {args.rows:,} rows, "
        f"memory {args.rows_memory:,} rows, streamz {args.streamz_lines:,} lines"
    )
    results: dict = {}
    children = Children()
    tmp = tempfile.TemporaryDirectory(prefix="streamlab-bench-")
    try:
        tmpdir = Path(tmp.name)
        t = time.perf_counter()
        payload, positive = build_payload(args.rows)
        data_path = tmpdir / "sensors.csv"
        data_path.write_bytes(payload)
        print(
            f"... payload {len(payload) / 1e6:.1f} MB, {positive:,} rows with value > 0 "
            f"({time.perf_counter() - t:.1f} s)",
            flush=True,
        )

        server = children.spawn("serve", "--file", str(data_path))
        port = int(children.readline(server))
        _section(results, "socket", bench_socket, port, args.rows, positive, args.repeats)
        if args.profile:
            try:
                results.setdefault("socket", {})["profile_top"] = profile_socket(port)
            except Exception as exc:
                print(f"profile failed: {exc}")
        children.end(server)

        push = children.spawn("push", "--file", str(data_path), "--lines", str(args.streamz_lines))
        if children.readline(push) != "ready":
            raise RuntimeError("push helper did not start")
        _section(results, "streamz", bench_streamz, push, args.streamz_lines, args.repeats)
        children.end(push)

        _section(results, "read_csv", bench_read_csv, payload, args.rows, args.repeats)
        del payload
        _section(results, "replay_fast", bench_replay_fast, data_path, args.rows, args.repeats)

        timing = {}
        for key, speed, gaps in (("speed_1", 1.0, (2, 30)), ("speed_10", 10.0, (20, 300))):
            path = tmpdir / f"timing_{key}.csv"
            write_timing_file(path, args.timing_rows, *gaps, seed=SEED + int(speed))
            _section(timing, key, bench_replay_timing, path, speed, gaps, args.timing_rows)
            _section(timing, f"control_{key}", bench_timer_jitter, path, speed)
        results["replay_timing"] = timing

        _section(results, "memory", bench_memory, children, args.rows_memory, args.mem_interval)
    finally:
        children.end_all()
        tmp.cleanup()

    total = time.perf_counter() - started
    lines, checks = report(results, cfg)
    print()
    print("\n".join(lines))
    load_end = os.getloadavg() if hasattr(os, "getloadavg") else None
    marks_end = _cpu_marks()
    others = max(0.0, (marks_end[0] - marks_start[0]) - (marks_end[1] - marks_start[1]))
    print(
        f"\ntotal run time {total:.1f} s; other processes used {others:.1f} CPU-seconds "
        f"meanwhile ({others / total:.0%} of one core); load average {_fmt_load(load_end)}"
    )
    if others / total > 0.2:
        print(
            "note: something else kept the machine busy during the run; rates and timing "
            "jitter suffer (see results.*.seconds for the spread)"
        )
    doc = {
        "benchmark": "foundation",
        "date": date,
        "duration_s": total,
        "config": cfg,
        "machine": {**machine_info("tornado", "pyarrow", "psutil"), **git_info()},
        "load_average": {"start": load_start, "end": load_end},
        "other_processes_cpu_s": others,
        "results": results,
        "targets": checks,
        "all_pass": all(c["status"] == "PASS" for c in checks),
        "notes": [
            f"streamz is measured on the first {args.streamz_lines:,} lines of the same "
            "payload (header included); streamlab and read_csv on all "
            f"{args.rows:,} rows.",
            "gap error = wall-clock gap between consecutive batches - recorded event-time "
            "gap / speed.",
        ],
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    print(f"wrote {out}")
    errors = [k for k, v in results.items() if isinstance(v, dict) and "error" in v]
    errors += [
        f"replay_timing.{k}" for k, v in results.get("replay_timing", {}).items() if "error" in v
    ]
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
