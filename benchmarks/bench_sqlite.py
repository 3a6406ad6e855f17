"""SQLite sink and indexed seek against the peers, same frames, same run.

    python benchmarks/bench_sqlite.py [--quick] [--out FILE]

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

import argparse
import datetime as dt
import json
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from streamz import Stream

import streamlab
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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="10 frames; seeks up to 3M rows")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "sqlite.json"))
    a = p.parse_args(argv)
    n_frames, sizes = (
        (10, [1_000_000, 3_000_000]) if a.quick else (30, [1_000_000, 3_000_000, 10_000_000])
    )
    started = time.perf_counter()
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
    ratio = res["streamlab_no_index"] / res["pandas_to_sql"]
    print(f"\nSQLite sink, {rows:,} rows in frames of 100k (time, sensor, value, flag)")
    print(
        f"  streamlab to_sqlite, no index          {res['streamlab_no_index'] / 1e6:6.2f}M rows/s"
    )
    print(
        f"  streamlab to_sqlite, time index        {res['streamlab_time_index'] / 1e6:6.2f}M rows/s"
    )
    print(f"  pandas DataFrame.to_sql (index=False)  {res['pandas_to_sql'] / 1e6:6.2f}M rows/s")
    print(f"  streamlab / pandas: {ratio:.2f}x  (target >= 1x: {'PASS' if ratio >= 1 else 'FAIL'})")
    print("\nseek to the middle of a recording, first 1,000 rows")
    for s in res["seek"]:
        print(
            f"  {s['rows']:>11,} rows: with index {s['index_ms']:6.2f} ms, without "
            f"{s['no_index_ms']:8.1f} ms: {s['speedup']:6.0f}x  (raw SQL scan, no frame: "
            f"{s['raw_sql_scan_ms']:.1f} ms)"
        )
    last = res["seek"][-1]["speedup"]
    print(
        f"  at {sizes[-1]:,} rows: {last:.0f}x (target >= 100x: "
        f"{'PASS' if last >= 100 else 'FAIL'})"
    )
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    res.update(
        date=dt.datetime.now(dt.timezone.utc).isoformat(),
        ratio_to_sql=ratio,
        streamlab=streamlab.__version__,
        sqlite=sqlite3.sqlite_version,
        seconds=time.perf_counter() - started,
    )
    out.write_text(json.dumps(res, indent=2))
    print(f"\nwrote {out} ({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
