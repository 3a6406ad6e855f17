"""Parquet sink and reader: exact round trips, real SIGKILL crashes, seeks that skip row groups."""

from __future__ import annotations

import os
import random
import select
import signal
import struct
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from streamz import Stream

import streamlab
from streamlab.errors import ConfigError
from streamlab.store.parquet import to_parquet
from streamlab.store.parquet_read import read_parquet_frames

T0 = pd.Timestamp("2026-01-01", tz="UTC")


def _f64(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


SPECIAL = [0.0, -0.0, np.nan, _f64(0x7FF8000000000123), _f64(0xFFF8000000000000), np.inf]
SPECIAL += [-np.inf, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308]


def frame(n: int, seed: int) -> pd.DataFrame:
    """Every dtype the sink promises to keep, with missing values and awkward floats."""
    rng = np.random.default_rng(seed)
    floats = rng.normal(size=n)
    floats[: len(SPECIAL)] = SPECIAL[:n]
    df = pd.DataFrame(
        {
            "t": (T0 + pd.to_timedelta(seed * n + np.arange(n), unit="ms")).as_unit("ns"),
            "sensor": rng.choice(["a", "b", "c d/e"], n),
            "i": pd.array(
                np.where(rng.random(n) < 0.2, None, rng.integers(-9, 9, n)), dtype="Int64"
            ),
            "s": pd.Series(
                np.where(rng.random(n) < 0.2, None, rng.choice(["x", "é"], n)), dtype="str"
            ),
            "f": floats,
            "b": rng.random(n) < 0.5,
            "c": pd.Categorical(rng.choice(["p", "q"], n), categories=["p", "q"]),
        }
    )
    df.attrs["time_column"] = "t"
    return df


def write(out, frames, **options):
    src = Stream()
    sink = src.to_parquet(out, **options)
    for df in frames:
        src.emit(df)
    assert sink.end_of_input() == []
    return sink


def same_bits(a: pd.Series, b: pd.Series) -> bool:
    return np.array_equal(a.to_numpy().view("u8"), b.to_numpy().view("u8"))


# -- round trip ---------------------------------------------------------------------------------
@pytest.mark.parametrize("partition_by", [None, "sensor", ["sensor", "b"]])
@pytest.mark.parametrize("rows_per_file", [1, 650, 10_000])
def test_round_trip_is_exact(tmp_path, partition_by, rows_per_file):
    frames = [frame(300, seed) for seed in range(7)]
    sink = write(tmp_path / "out", frames, rows_per_file=rows_per_file, partition_by=partition_by)
    want = pd.concat(frames, ignore_index=True)
    assert (sink.stats.rows, sink.stats.batches, sink.stats.buffered) == (2100, 7, 0)
    files = sorted((tmp_path / "out").rglob("*.parquet"))
    assert sink.stats.files == len(files) and sink.stats.bytes == sum(
        p.stat().st_size for p in files
    )
    got = pd.concat(read_parquet_frames(tmp_path / "out", batch_rows=128), ignore_index=True)
    if partition_by is not None:  # files go partition by partition; put rows back in time order
        got = got.sort_values("t", ignore_index=True)
    pd.testing.assert_frame_equal(got, want)
    assert same_bits(got["f"], want["f"])  # -0.0 and NaN payloads, which assert_frame_equal skips
    # pandas reads the same folder; hive partition columns come back as categories
    back = pd.read_parquet(tmp_path / "out")
    if partition_by is None:
        pd.testing.assert_frame_equal(back, want)
        assert back.attrs == {"time_column": "t"} and same_bits(back["f"], want["f"])
    else:
        back = back.sort_values("t", ignore_index=True)[list(want.columns)]
        for col in ("sensor", "b"):
            assert back[col].astype(str).tolist() == want[col].astype(str).tolist()
        rest = [c for c in want.columns if c not in ("sensor", "b")]
        pd.testing.assert_frame_equal(back[rest], want[rest])


def test_files_are_numbered_in_order_and_hold_whole_batches(tmp_path):
    frames = [frame(300, seed) for seed in range(7)]
    write(tmp_path, frames, rows_per_file=650)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["part-000000.parquet", "part-000001.parquet", "part-000002.parquet"]
    assert [pq.read_metadata(tmp_path / n).num_rows for n in names] == [900, 900, 300]


def test_row_groups_have_min_max_statistics(tmp_path):
    write(tmp_path, [frame(1000, 0)], row_group_rows=256)
    md = pq.read_metadata(tmp_path / "part-000000.parquet")
    assert [md.row_group(i).num_rows for i in range(md.num_row_groups)] == [256, 256, 256, 232]
    stats = md.row_group(1).column(0).statistics
    assert stats.min == (T0 + pd.Timedelta("256ms")).to_pydatetime()
    assert stats.max == (T0 + pd.Timedelta("511ms")).to_pydatetime()
    columns = range(md.num_columns)
    groups = range(md.num_row_groups)
    assert all(md.row_group(i).column(j).statistics.has_min_max for i in groups for j in columns)


def test_hidden_temporary_files_are_ignored(tmp_path):
    write(tmp_path, [frame(100, 0)], partition_by="sensor")
    for folder in [tmp_path, *(p for p in tmp_path.iterdir() if p.is_dir())]:
        (folder / ".part-000099.parquet.tmp").write_bytes(b"PAR1 half a file")
        (folder / "_started").write_bytes(b"")
    assert len(pd.read_parquet(tmp_path)) == 100
    assert sum(map(len, read_parquet_frames(tmp_path))) == 100


def test_a_new_writer_numbers_after_the_files_already_there(tmp_path):
    write(tmp_path, [frame(10, 0)], partition_by="sensor")
    first = {p.name for p in tmp_path.rglob("*.parquet")}
    write(tmp_path, [frame(10, 1)], partition_by="sensor")
    later = {p.name for p in tmp_path.rglob("*.parquet")} - first
    assert min(later) == f"part-{len(first):06d}.parquet"
    assert len(pd.read_parquet(tmp_path)) == 20


def test_flush_by_hand_writes_what_is_buffered(tmp_path):
    src = Stream()
    sink = src.to_parquet(tmp_path, rows_per_file=1000, partition_by="sensor")
    src.emit(frame(30, 0))
    assert sink.stats.buffered == 30 and not list(tmp_path.iterdir())
    written = sink.flush()
    assert len(written) == 3 and all(os.path.exists(p) for p in written)
    assert sink.stats.buffered == 0 and sink.flush() == []


# -- crash safety, for real -------------------------------------------------------------------
WRITER = r"""
import sys
import numpy as np, pandas as pd
from streamz import Stream
import streamlab.store.parquet  # registers stream.to_parquet
src = Stream()
src.to_parquet(sys.argv[1], rows_per_file=1000)
i = 0
while True:
    rng = np.random.default_rng(i)
    src.emit(pd.DataFrame({"batch": np.full(1000, i), "row": np.arange(1000),
                           "v": rng.normal(size=1000), "s": rng.choice(["a", "b"], 1000)}))
    print(i, flush=True)
    i += 1
"""


def progress(proc, lines: int, timeout: float) -> int:
    """Read the writer's progress until it has printed ``lines`` lines; the last id printed."""
    deadline, buf, done = time.monotonic() + timeout, b"", []
    fd = proc.stdout.fileno()
    while len(done) < lines:
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            pytest.fail(f"writer gave {len(done)} of {lines} lines: {proc.stderr.read()!r}")
        if select.select([fd], [], [], min(left, 1.0))[0]:
            buf += os.read(fd, 65536)
            *done_now, buf = buf.split(b"\n")
            done += done_now
    return int(done[-1])


# Control, measured once: a writer that writes in place (no temporary name) leaves an unreadable
# visible file in about 1 kill of 4, so 8 kills catch it with ~90% odds on every run.
@pytest.mark.parametrize("seed", range(8))
def test_sigkill_mid_stream_leaves_only_whole_files(tmp_path, seed):
    rng = random.Random(seed)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        acked = progress(proc, rng.randint(3, 40), timeout=60)
        time.sleep(rng.uniform(0, 0.01))  # land anywhere in the next batch's write
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    files = sorted(out.glob("*.parquet"))
    assert [p.name for p in files] == [f"part-{n:06d}.parquet" for n in range(len(files))]
    ids = []
    for path in files:
        df = pq.read_table(path).to_pandas()  # opens: footer and every page are there
        counts = df.groupby("batch")["row"].agg(["count", "min", "max", "nunique"])
        assert (counts.to_numpy() == [1000, 0, 999, 1000]).all(), path.name
        ids += counts.index.tolist()
    k = max(ids)
    assert sorted(ids) == list(range(k + 1)) and k >= acked  # a prefix; nothing acked is lost
    everything = pd.read_parquet(out)
    assert len(everything) == 1000 * (k + 1)
    if seed == 0:  # a writer started after the crash goes on from the next number
        write(out, [everything.iloc[:1000]], rows_per_file=1000)
        assert (out / f"part-{len(files):06d}.parquet").exists()


# -- seek ---------------------------------------------------------------------------------------
ROWS, GROUP = 2_000_000, 65_536


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """One file, 2M rows one millisecond apart, row groups of 64k rows."""
    out = tmp_path_factory.mktemp("big")
    rng = np.random.default_rng(7)
    df = pd.DataFrame(
        {
            "t": (T0 + pd.to_timedelta(np.arange(ROWS), unit="ms")).as_unit("ns"),
            "k": rng.integers(0, 100, ROWS),
            "v": rng.normal(size=ROWS),
        }
    )
    df.attrs["time_column"] = "t"
    write(
        out,
        [df.iloc[i : i + 500_000] for i in range(0, ROWS, 500_000)],
        rows_per_file=ROWS,
        row_group_rows=GROUP,
    )
    return out / "part-000000.parquet", df


MS = pd.Timedelta("1ms")


@pytest.mark.parametrize(
    ("first", "stop"),  # rows [first, stop) in the file's order
    [
        (700_123, 1_234_567),
        (0, 1),
        (GROUP - 1, GROUP + 1),  # straddles two row groups
        (GROUP, 2 * GROUP),  # exactly one row group
        (1_999_999, None),
        (None, 10),
        (5, 5),  # empty
    ],
)
def test_seek_reads_only_the_row_groups_it_needs(big, first, stop):
    path, df = big
    start = None if first is None else T0 + first * MS
    end = None if stop is None else T0 + stop * MS
    counts = {}
    frames = list(read_parquet_frames(path, start=start, end=end, batch_rows=50_000, stats=counts))
    lo, hi = first or 0, ROWS if stop is None else stop
    want = df[(df["t"] >= (start or T0)) & (df["t"] < (end or T0 + ROWS * MS))]
    got = pd.concat(frames, ignore_index=True) if frames else want.iloc[:0]
    pd.testing.assert_frame_equal(got, want.reset_index(drop=True))
    assert all(len(f) <= 50_000 and f.attrs["time_column"] == "t" for f in frames)
    groups = -(-ROWS // GROUP)
    needed = 0 if hi <= lo else (hi - 1) // GROUP - lo // GROUP + 1
    assert (counts["row_groups_read"], counts["row_groups_skipped"]) == (needed, groups - needed)
    assert counts["rows"] == hi - lo and counts["rows_read"] <= needed * GROUP


def test_seek_skips_whole_files_and_takes_strings(tmp_path):
    frames = [frame(1000, seed) for seed in range(5)]  # seed s holds seconds s..s+1
    write(tmp_path, frames, rows_per_file=1000, row_group_rows=300)
    counts = {}
    got = list(
        read_parquet_frames(
            tmp_path, start="2026-01-01 00:00:02.5", end="2026-01-01T00:00:03.1Z", stats=counts
        )
    )
    want = pd.concat(frames, ignore_index=True).iloc[2500:3100].reset_index(drop=True)
    pd.testing.assert_frame_equal(pd.concat(got, ignore_index=True), want)
    assert (counts["files"], counts["files_skipped"]) == (2, 3)
    assert (counts["row_groups_read"], counts["row_groups_skipped"]) == (4, 16)


def test_reader_columns_and_partition_types(tmp_path):
    write(tmp_path, [frame(200, 0)], partition_by="i")  # Int64 with NA as folder names
    got = pd.concat(read_parquet_frames(tmp_path, columns=["i", "f"]), ignore_index=True)
    assert list(got.columns) == ["i", "f"] and str(got["i"].dtype) == "Int64"
    assert got["i"].isna().sum() == frame(200, 0)["i"].isna().sum()


def test_reader_makes_times_ns_utc(tmp_path):
    naive = pd.DataFrame({"when": pd.date_range("2026-01-01", periods=4, freq="s", unit="us")})
    naive.to_parquet(tmp_path / "x.parquet")
    (df,) = read_parquet_frames(tmp_path / "x.parquet", time_column="when", start="2026-01-01")
    assert str(df["when"].dtype) == "datetime64[ns, UTC]" and df.attrs["time_column"] == "when"


# -- schema drift -------------------------------------------------------------------------------
BASE = pd.DataFrame(
    {
        "t": pd.DatetimeIndex([T0, T0]).as_unit("ns"),
        "v": [1.0, 2.0],
        "o": pd.Series([1, 2], dtype=object),
    }
)


@pytest.mark.parametrize(
    ("batch", "reason"),
    [
        (
            BASE.assign(extra=1),
            "new column 'extra'; the schema fixed by the first batch has columns ['t', 'v', 'o']",
        ),
        (
            BASE.drop(columns="v"),
            "missing column 'v'; the schema fixed by the first batch has columns ['t', 'v', 'o']",
        ),
        (BASE.assign(v=[1, 2]), "column 'v' changed type from float64 to int64"),
        (BASE.assign(t=["x", "y"]), "column 't' changed type from datetime64[ns, UTC] to str"),
        (BASE.assign(o=pd.Series(["a", "b"], dtype=object)), None),  # pyarrow's own words
        ([1, 2, 3], "not a DataFrame but list"),
    ],
)
def test_schema_drift_goes_to_errors(tmp_path, batch, reason):
    src = Stream()
    sink = src.to_parquet(tmp_path, rows_per_file=1)
    letters = sink.errors.sink_to_list()
    src.emit(BASE)
    src.emit(batch)
    src.emit(BASE[["o", "t", "v"]])  # same columns in another order: accepted
    sink.flush()
    assert (sink.stats.rejected, sink.stats.rejected_rows, sink.stats.files) == (1, len(batch), 2)
    (letter,) = letters
    assert list(letter.columns) == ["time", "reason", "rows"]
    assert letter["rows"].tolist() == [len(batch)] and letter.attrs["time_column"] == "time"
    text = letter["reason"].iloc[0]
    if reason is None:
        assert text.startswith("values do not fit the schema fixed by the first batch: ")
    else:
        assert text == reason
    schemas = {pq.read_schema(p).remove_metadata() for p in tmp_path.glob("*.parquet")}
    assert len(schemas) == 1
    want = pd.concat([BASE, BASE], ignore_index=True).astype({"o": "int64"})  # object of ints
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path), want)


# -- bad arguments ------------------------------------------------------------------------------
def test_bad_arguments(tmp_path):
    (tmp_path / "file").write_text("")
    cases = [
        (
            {"directory": tmp_path / "no" / "out"},
            f"directory={str(tmp_path / 'no' / 'out')!r}: its parent folder "
            f"{str(tmp_path / 'no')!r} does not exist; create it first (os.makedirs) or "
            "write somewhere else",
        ),
        (
            {"directory": tmp_path / "file"},
            f"directory={str(tmp_path / 'file')!r} is a file; give a folder (made if missing)",
        ),
        ({"rows_per_file": 0}, "rows_per_file must be >= 1, not 0; for example rows_per_file=1"),
        (
            {"rows_per_file": 2.5},
            "rows_per_file must be an integer, not 2.5; for example rows_per_file=1",
        ),
        (
            {"row_group_rows": 0},
            "row_group_rows must be >= 1, not 0; for example row_group_rows=1",
        ),
        (
            {"partition_by": []},
            "partition_by must be a column name or a non-empty list of names, not []",
        ),
        (
            {"compression": "zstdd"},
            "compression='zstdd' is not one of 'zstd', 'snappy', 'gzip', 'brotli', 'lz4', "
            "'none'. Did you mean 'zstd'?",
        ),
    ]
    for options, message in cases:
        options = {"directory": tmp_path / "out", **options}
        with pytest.raises(ConfigError) as err:
            Stream().to_parquet(options.pop("directory"), **options)
        assert str(err.value) == message
    assert to_parquet(Stream(), tmp_path / "out", compression="ZSTD").compression == "zstd"


@pytest.mark.parametrize(
    ("partition_by", "message"),
    [
        (
            "sensr",
            "partition_by column 'sensr' is not in the first batch; its columns are "
            "['t', 'sensor', 'v']. Did you mean 'sensor'?",
        ),
        (
            ["t", "sensor", "v"],
            "partition_by=['t', 'sensor', 'v'] names every column; leave at least one column "
            "to store in the files",
        ),
    ],
)
def test_bad_partition_column_at_the_first_batch(tmp_path, partition_by, message):
    src = Stream()
    src.to_parquet(tmp_path, partition_by=partition_by)
    with pytest.raises(ConfigError) as err:
        src.emit(pd.DataFrame({"t": [T0], "sensor": ["a"], "v": [1.0]}))
    assert str(err.value) == message


def test_bad_reader_arguments(tmp_path):
    write(tmp_path, [BASE])
    plain = tmp_path / "plain.parquet"
    pd.DataFrame({"x": [1]}).to_parquet(plain)
    cases = [
        (
            {"path": tmp_path / "nope"},
            f"path={str(tmp_path / 'nope')!r} does not exist; give a .parquet file or a folder of them",
        ),
        ({"batch_rows": 0}, "batch_rows must be >= 1, not 0; for example batch_rows=1"),
        (
            {"start": "2026-02-01", "end": "2026-01-01"},
            "start='2026-02-01' is after end='2026-01-01'; give start <= end",
        ),
        ({"start": "soon"}, None),
        ({"columns": "v"}, "columns must be a list of column names, not 'v'"),
        (
            {"columns": ["vv"]},
            f"columns names 'vv', not a column of {str(tmp_path / 'part-000000.parquet')!r}; "
            "its columns are ['t', 'v', 'o']. Did you mean 'v'?",
        ),
    ]
    for options, message in cases:
        options = {"path": tmp_path / "part-000000.parquet", **options}
        with pytest.raises(ConfigError) as err:
            read_parquet_frames(options.pop("path"), **options)
        if message is None:
            assert str(err.value).startswith("start='soon' is not a time (")
        else:
            assert str(err.value) == message
    with pytest.raises(ConfigError) as err:
        next(read_parquet_frames(plain, start=T0))
    assert str(err.value) == (
        "start= and end= need time_column= (the column to seek on); the columns of "
        f"{str(plain)!r} are ['x']"
    )
    with pytest.raises(ConfigError) as err:
        next(read_parquet_frames(plain, time_column="x"))
    assert str(err.value) == (
        f"time_column='x' in {str(plain)!r} holds int64, not times; pass time_column= "
        "naming a timestamp column"
    )


# -- with a streamlab source --------------------------------------------------------------------
def test_generate_to_parquet_writes_every_row(tmp_path):
    src = streamlab.generate("sine", rows=50_000, keys=3)
    sent = src.sink_to_list()
    sink = src.to_parquet(tmp_path, rows_per_file=10_000)
    streamlab.run(src)  # the end of the input flushes the last file
    assert (sink.stats.rows, sink.stats.files, sink.stats.buffered) == (50_000, 5, 0)
    want = pd.concat(sent, ignore_index=True)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path), want)
    got = list(read_parquet_frames(tmp_path, batch_rows=7_000))
    assert got[0].attrs["time_column"] == "time"
    pd.testing.assert_frame_equal(pd.concat(got, ignore_index=True), want)


def test_a_first_batch_of_python_objects_is_refused_with_the_reason(tmp_path):
    """Parquet has no type for tuples and dicts: the batch goes to .errors, whole, with pyarrow's
    reason; nothing is written and nothing is changed into something else."""
    src = Stream()
    sink = src.to_parquet(tmp_path, rows_per_file=1)
    letters = sink.errors.sink_to_list()
    src.emit(pd.DataFrame({"id": [1, 2], "o": pd.Series([(1, "a"), {"k": 1}], dtype=object)}))
    sink.flush()
    (letter,) = letters
    assert letter["reason"].iloc[0].startswith("cannot be stored as Parquet: ")
    assert letter["rows"].tolist() == [2] and list(tmp_path.glob("*.parquet")) == []
