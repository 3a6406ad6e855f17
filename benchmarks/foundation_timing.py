"""Foundation benchmark, rows 5-6: replay pacing (and its bare-asyncio control) and the
client's memory while rows stream through the socket path.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
from _harness import Children
from foundation_data import T0_MS


def abs_err(err: np.ndarray) -> dict:
    """p50, p99 and max of the absolute gap errors (ms)."""
    absolute = np.abs(err)
    return {
        "p50": float(np.percentile(absolute, 50)),
        "p99": float(np.percentile(absolute, 99)),
        "max": float(absolute.max()),
    }


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
    return {
        "speed": speed,
        "rows": rows,
        "gap_ms": list(gaps_ms),
        "batches": len(arrivals),
        "rows_emitted": int(sum(a[2] for a in arrivals)),
        "seconds": took,
        "gaps": len(err),
        "abs_err_ms": abs_err(err),
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
    return {
        "speed": speed,
        "gaps": len(err),
        "abs_err_ms": abs_err(err),
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
