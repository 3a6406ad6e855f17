"""SQLite sink and indexed seek against the peers, same frames, same run.

    python benchmarks/bench_sqlite.py [--quick] [--busy] [--out FILE]

1. streamlab ``to_sqlite`` (no index, and with its default time index) against pandas
   ``DataFrame.to_sql`` (``index=False``) on the same 30 frames of 100k rows, rows/s;
2. seek into recordings of 1M, 3M and 10M rows: the first 1,000 rows at or after the middle
   time, as a DataFrame, through the same call ``read_sqlite_frames(start=...)`` on the same
   recording with its time index (a B-tree lookup) and without it (SQLite must scan and sort);
   milliseconds. Target: >= 100x at 10M, and the indexed seek growing like log n (nearly
   flat). For context, the raw SQL scan that stops at the first match (``time + 0 >= ?`` in
   rowid order, no DataFrame) is reported too.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _harness import Run, check, parse, parser
from streamz import Stream

import streamlab  # noqa: F401  (registers stream.to_sqlite)
from streamlab.store import ns, read_sqlite_frames


def frames(count: int, rows: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    for b in range(count):
        t = t0 + pd.to_timedelta((b * rows + np.arange(rows)) * 10, unit="ms")
        yield pd.DataFrame(
            {
                "time": t,
                "sensor": rng.integers(0, 100, rows).astype(str),
                "value": rng.normal(size=rows),
                "flag": rng.random(rows) < 0.1,
            }
        )


def write_streamlab(path: Path, data, indexes) -> float:
    src = Stream()
    sink = src.to_sqlite(path, "t", indexes=indexes)
    t0 = time.perf_counter()
    for df in data:
        src.emit(df)
    sink.close()
    return time.perf_counter() - t0


def write_pandas(path: Path, data) -> float:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    t0 = time.perf_counter()
    for df in data:
        df.to_sql("t", conn, if_exists="append", index=False)
    conn.commit()
    conn.close()
    return time.perf_counter() - t0


def first_batch_ms(path: Path, start) -> float:
    t0 = time.perf_counter()
    first = next(read_sqlite_frames(path, "t", time_column="time", start=start, batch_rows=1000))
    assert len(first) == 1000
    return (time.perf_counter() - t0) * 1000


def raw_scan_ms(path: Path, start) -> float:
    conn = sqlite3.connect(path)
    t0 = time.perf_counter()
    rows = conn.execute(
        'SELECT * FROM t WHERE "time" + 0 >= ? ORDER BY rowid LIMIT 1000', (ns(start),)
    ).fetchall()
    took = (time.perf_counter() - t0) * 1000
    conn.close()
    assert len(rows) == 1000
    return took


def measure(n_frames: int, sizes: list[int]) -> dict:
    data = list(frames(n_frames, 100_000))
    rows = n_frames * 100_000
    res: dict = {"rows": rows}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        res["streamlab_no_index"] = rows / write_streamlab(tmp / "a.db", data, [])
        res["streamlab_time_index"] = rows / write_streamlab(tmp / "b.db", data, ["time"])
        res["pandas_to_sql"] = rows / write_pandas(tmp / "c.db", data)
        res["seek"] = []
        for size in sizes:
            plain, indexed = tmp / f"plain{size}.db", tmp / f"indexed{size}.db"
            write_streamlab(plain, frames(size // 100_000, 100_000, seed=1), [])
            shutil.copy(plain, indexed)
            with sqlite3.connect(indexed) as conn:
                conn.execute('CREATE INDEX ix_t_time ON t ("time")')
            middle = pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(milliseconds=size * 5)
            seek = min(first_batch_ms(indexed, middle) for _ in range(5))
            scan = min(first_batch_ms(plain, middle) for _ in range(2))
            raw = min(raw_scan_ms(plain, middle) for _ in range(3))
            res["seek"].append(
                {
                    "rows": size,
                    "index_ms": seek,
                    "no_index_ms": scan,
                    "raw_sql_scan_ms": raw,
                    "speedup": scan / seek,
                }
            )
    res["ratio_to_sql"] = res["streamlab_no_index"] / res["pandas_to_sql"]
    return res


def report(res: dict) -> list[str]:
    rows = res["rows"]
    lines = [
        f"SQLite sink, {rows:,} rows in frames of 100k (time, sensor, value, flag)",
        f"  streamlab to_sqlite, no index          {res['streamlab_no_index'] / 1e6:6.2f}M rows/s",
        f"  streamlab to_sqlite, time index        {res['streamlab_time_index'] / 1e6:6.2f}M rows/s",
        f"  pandas DataFrame.to_sql (index=False)  {res['pandas_to_sql'] / 1e6:6.2f}M rows/s",
        "",
        "seek to the middle of a recording, first 1,000 rows",
    ]
    for s in res["seek"]:
        lines.append(
            f"  {s['rows']:>11,} rows: with index {s['index_ms']:6.2f} ms, without "
            f"{s['no_index_ms']:8.1f} ms: {s['speedup']:6.0f}x  (raw SQL scan, no frame: "
            f"{s['raw_sql_scan_ms']:.1f} ms)"
        )
    return lines


def main(argv=None) -> int:
    p = parser("sqlite", __doc__, repeats=False)
    a = parse(p, argv)
    n_frames, sizes = (
        (10, [1_000_000, 3_000_000]) if a.quick else (30, [1_000_000, 3_000_000, 10_000_000])
    )
    with Run("sqlite", a) as run:
        res = run.section("sqlite", measure, n_frames, sizes)
    ok = "error" not in res
    checks = [
        check("streamlab to_sqlite / pandas to_sql", res.get("ratio_to_sql"), 1.0),
        check(f"seek with / without index at {sizes[-1]:,} rows",
              res["seek"][-1]["speedup"] if ok else None, 100.0),
    ]  # fmt: skip
    return run.finish(
        config={"frames": n_frames, "frame_rows": 100_000, "seek_sizes": sizes},
        targets=checks,
        report=report(res) if ok else [],
        machine={"sqlite": sqlite3.sqlite_version},
    )


if __name__ == "__main__":
    raise SystemExit(main())
