"""Foundation benchmark, rows 1-4: the socket path, the streamz peer, pandas read_csv, replay.

Each function is one row; see ``bench_foundation.py`` and ``benchmarks/README.md``.
"""

from __future__ import annotations

import io
import socket
import subprocess
import time
from pathlib import Path

from _harness import Children, Timed


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
        **Timed(times).summary(rows),
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
    return {
        "lines": lines,
        **Timed(times).summary(lines, per="lines_per_s"),
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
    # context, not a target: the same filter the socket pipeline applies, on one big frame
    with_filter = min(a + b for a, b in zip(times, filtered, strict=True))
    return {
        "rows": rows,
        **Timed(times).summary(rows),
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
    return {"rows": rows, **Timed(times).summary(rows)}
