"""Parquet: streamlab's ``to_parquet`` sink against plain pyarrow, and seeking by time.

    python benchmarks/bench_parquet.py [--batches 100] [--batch-rows 100000] [--quick] [--busy]

Rows (one table, JSON written to benchmarks/results/parquet.json):
1. write: the same frames (``--batches`` batches of ``--batch-rows`` rows of ``time, sensor,
   value, flag``) written by streamlab ``stream.to_parquet(dir, rows_per_file=1M)`` driven with
   ``Stream.emit`` and ``end_of_input()`` at the end, and by plain pyarrow
   (``Table.from_pandas`` per batch, ``concat_tables``, ``pq.write_table``) into the same number
   of files, with the same compression (zstd), row groups (128k rows) and statistics. streamlab
   also fsyncs and renames each file (crash safety); pyarrow does not. Target: streamlab >= 0.8x.
   Context: the same with ``partition_by="sensor"`` against ``pq.write_to_dataset``.
2. seek: a one-file, 10M-row Parquet file (rows 1 ms apart, row groups of 128k) read from a
   time: ``read_parquet_frames(start=..., end=...)`` against ``pandas.read_parquet`` of the
   whole file then filtering, and (context) ``pandas.read_parquet(filters=...)``, which prunes
   row groups with the same statistics.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from _harness import Run, check, defaults, parse, parser, repeat
from streamz import Stream

from streamlab.store.parquet_read import read_parquet_frames

T0 = pd.Timestamp("2026-01-01", tz="UTC")
GROUP = 131_072


def frames(batches: int, rows: int, seed: int = 0) -> list[pd.DataFrame]:
    rng = np.random.default_rng(seed)
    sensors = np.array([f"sensor-{i}" for i in range(10)], dtype=object)
    out = []
    for b in range(batches):
        df = pd.DataFrame(
            {
                "time": (T0 + pd.to_timedelta(b * rows + np.arange(rows), unit="ms")).as_unit("ns"),
                "sensor": pd.array(sensors[rng.integers(0, 10, rows)], dtype="str"),
                "value": rng.normal(size=rows),
                "flag": rng.random(rows) < 0.1,
            }
        )
        df.attrs["time_column"] = "time"
        out.append(df)
    return out


def fresh(root: Path, name: str) -> Path:
    path = root / name
    shutil.rmtree(path, ignore_errors=True)
    return path


def best(fn, repeats: int) -> tuple[float, list[float]]:
    t = repeat(fn, repeats)
    return t.best, t.seconds


def streamlab_write(data, out: Path, rows_per_file: int, partition_by=None) -> None:
    src = Stream()
    sink = src.to_parquet(out, rows_per_file=rows_per_file, partition_by=partition_by)
    for df in data:
        src.emit(df)
    sink.end_of_input()
    assert sink.stats.rows == sum(map(len, data))


def pyarrow_write(data, out: Path, rows_per_file: int, partition_by=None) -> None:
    out.mkdir()
    per_file = max(1, rows_per_file // len(data[0]))
    for n, i in enumerate(range(0, len(data), per_file)):
        tables = [pa.Table.from_pandas(df, preserve_index=False) for df in data[i : i + per_file]]
        table = pa.concat_tables(tables)
        if partition_by is None:
            pq.write_table(
                table, out / f"part-{n:06d}.parquet", row_group_size=GROUP, compression="zstd"
            )
        else:
            pq.write_to_dataset(
                table,
                out,
                partition_cols=[partition_by],
                basename_template=f"part-{n:06d}-{{i}}.parquet",
                row_group_size=GROUP,
                compression="zstd",
            )


def files_of(path: Path) -> int:
    return sum(1 for _ in path.rglob("*.parquet"))


def bench_write(data, root: Path, repeats: int) -> dict:
    rows = sum(map(len, data))
    res = {"rows": rows, "batches": len(data), "rows_per_file": 1_000_000}
    for label, fn, part in [
        ("streamlab", streamlab_write, None),
        ("pyarrow", pyarrow_write, None),
        ("streamlab_partitioned", streamlab_write, "sensor"),
        ("pyarrow_partitioned", pyarrow_write, "sensor"),
    ]:
        target = root / label
        seconds, all_s = best(
            lambda fn=fn, part=part, label=label: fn(
                data, fresh(root, label), 1_000_000, partition_by=part
            ),
            repeats,
        )
        res[label] = {
            "seconds": all_s,
            "best_seconds": seconds,
            "rows_per_s": rows / seconds,
            "files": files_of(target),
            "mib": sum(p.stat().st_size for p in target.rglob("*.parquet")) / 2**20,
        }
    check = pd.read_parquet(root / "streamlab")
    assert len(check) == rows and check["time"].is_monotonic_increasing
    res["ratio"] = res["streamlab"]["rows_per_s"] / res["pyarrow"]["rows_per_s"]
    res["ratio_partitioned"] = (
        res["streamlab_partitioned"]["rows_per_s"] / res["pyarrow_partitioned"]["rows_per_s"]
    )
    return res


def bench_seek(data, root: Path, repeats: int) -> dict:
    out = fresh(root, "seek")
    streamlab_write(data, out, rows_per_file=sum(map(len, data)))
    (path,) = out.glob("*.parquet")
    rows = pq.read_metadata(path).num_rows
    res = {"rows": rows, "row_groups": pq.read_metadata(path).num_row_groups, "windows": {}}
    for name, first, span in [("1 min at 70%", 0.7, 60_000), ("last 10%", 0.9, None)]:
        lo = int(rows * first)
        start = T0 + pd.Timedelta(lo, unit="ms")
        end = None if span is None else start + pd.Timedelta(span, unit="ms")
        want = (rows if span is None else lo + span) - lo
        counts: dict = {}

        def ours(counts=counts, start=start, end=end, want=want):
            counts.clear()
            got = sum(map(len, read_parquet_frames(path, start=start, end=end, stats=counts)))
            assert got == want

        def whole(start=start, end=end, want=want):
            df = pd.read_parquet(path)
            keep = df["time"] >= start
            if end is not None:
                keep &= df["time"] < end
            assert len(df[keep]) == want

        def pruned(start=start, end=end, want=want):
            filters = [("time", ">=", start)] + ([("time", "<", end)] if end is not None else [])
            assert len(pd.read_parquet(path, filters=filters)) == want

        row = {"rows_wanted": want}
        for label, fn in [
            ("streamlab_seek", ours),
            ("read_all_filter", whole),
            ("pandas_filters", pruned),
        ]:
            seconds, all_s = best(fn, repeats)
            row[label] = {"seconds": all_s, "best_seconds": seconds}
        row["row_groups_read"] = counts["row_groups_read"]
        row["row_groups_skipped"] = counts["row_groups_skipped"]
        row["speedup"] = (
            row["read_all_filter"]["best_seconds"] / row["streamlab_seek"]["best_seconds"]
        )
        res["windows"][name] = row
    return res


def main(argv=None) -> int:
    p = parser("parquet", __doc__)
    p.add_argument("--batches", type=int, help="100; quick 20 (2M rows)")
    p.add_argument("--batch-rows", type=int, default=100_000)
    p.add_argument("--dir", default=None, help="where to write (default: a temporary folder)")
    a = parse(p, argv)
    defaults(a, batches=(20, 100), repeats=(3, 3))
    data = frames(a.batches, a.batch_rows)
    root = Path(tempfile.mkdtemp(prefix="bench_parquet_", dir=a.dir))
    notes = [f"files written under {root} (removed at the end)"]
    try:
        with Run("parquet", a) as run:
            for name, fn in [("write", bench_write), ("seek", bench_seek)]:
                run.section(name, fn, data, root, a.repeats)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    checks = [
        check("streamlab to_parquet / pyarrow write_table", run.results["write"].get("ratio"), 0.8)
    ]
    config = {"batches": a.batches, "batch_rows": a.batch_rows, "repeats": a.repeats,
              "compression": "zstd", "row_group_rows": GROUP}  # fmt: skip
    return run.finish(config=config, targets=checks, report=table_lines(run.results),
                      packages=("pyarrow",), notes=notes)  # fmt: skip


def table_lines(results: dict) -> list[str]:
    w, s = results["write"], results["seek"]
    lines = [f"{'measurement':<52}{'value':>16}  note", "-" * 90]
    if "error" in w:
        lines.append(f"write: {w['error']}")
    else:
        lines.append(f"write {w['rows']:,} rows ({w['batches']} batches) into 1M-row files")
        for label in ("streamlab", "pyarrow", "streamlab_partitioned", "pyarrow_partitioned"):
            r = w[label]
            lines.append(
                f"  {label:<50}{r['rows_per_s'] / 1e6:>10.2f} M/s  {r['best_seconds']:.2f} s, "
                f"{r['files']} files, {r['mib']:.0f} MiB"
            )
        lines.append(f"  {'streamlab / pyarrow':<50}{w['ratio']:>12.2f} x    target >= 0.8")
        lines.append(
            f"  {'streamlab / pyarrow, partitioned':<50}{w['ratio_partitioned']:>12.2f} x    context"
        )
    if "error" in s:
        return [*lines, f"seek: {s['error']}"]
    lines.append(f"seek in one file of {s['rows']:,} rows, {s['row_groups']} row groups")
    for name, r in s["windows"].items():
        ms = {
            k: r[k]["best_seconds"] * 1e3
            for k in ("streamlab_seek", "read_all_filter", "pandas_filters")
        }
        lines += [
            f"  {name} ({r['rows_wanted']:,} rows)",
            f"    {'streamlab read_parquet_frames(start, end)':<46}{ms['streamlab_seek']:>12.1f} ms  "
            f"{r['row_groups_read']} row groups read, {r['row_groups_skipped']} skipped",
            f"    {'pandas.read_parquet whole file, then filter':<46}{ms['read_all_filter']:>12.1f} ms  "
            f"{r['speedup']:.1f}x slower than the seek",
            f"    {'pandas.read_parquet(filters=...)':<46}{ms['pandas_filters']:>12.1f} ms  "
            "context: pyarrow prunes too",
        ]
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
