"""The SQLite store for real: round trips, a writer killed with SIGKILL, drift, bad input."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
from streamz import Stream

import streamlab
from streamlab.errors import ConfigError
from streamlab.store import ns, read_sqlite_frames


def every_dtype(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(
        np.sort(rng.integers(0, 10**12, n)), unit="ns"
    )
    floats = rng.normal(size=n)
    floats[:5] = [np.nan, np.inf, -np.inf, 5e-324, 1.0000000000000002]
    ints = pd.array(rng.integers(-(2**62), 2**62, n), dtype="Int64")
    ints[3] = pd.NA
    text = pd.Series([f"s{i % 7}" for i in range(n)], dtype="str")
    text[4] = None
    local = t.tz_convert("Europe/Paris")
    return pd.DataFrame(
        {
            "time": t,
            "local": local,
            "i": rng.integers(-5, 5, n),
            "n": ints,
            "x": floats,
            "s": text,
            "b": rng.random(n) < 0.5,
        }
    )


def test_round_trip_keeps_every_dtype_and_every_bit(tmp_path):
    df = every_dtype()
    src = Stream()
    sink = src.to_sqlite(tmp_path / "a.db", "t")
    for i in range(0, len(df), 37):
        src.emit(df.iloc[i : i + 37])
    back = streamlab.Store(tmp_path / "a.db").query("SELECT * FROM t")
    pd.testing.assert_frame_equal(back, df, check_exact=True)
    assert np.array_equal(back["x"].to_numpy().view("i8")[1:], df["x"].to_numpy().view("i8")[1:])
    frames = list(read_sqlite_frames(tmp_path / "a.db", "t", time_column="time", batch_rows=64))
    assert [len(f) for f in frames] == [64, 64, 64, 8]
    pd.testing.assert_frame_equal(pd.concat(frames, ignore_index=True), df, check_exact=True)
    assert sink.stats.rows == len(df)


def test_units_float32_durations_and_categories_come_back_as_written(tmp_path):
    """pandas 3 makes microsecond times by default: they came back as nanoseconds, float32 as
    float64, durations as text. Each comes back with the dtype it was written with."""
    t = pd.Timestamp("2026-03-29T00:30", tz="UTC") + pd.to_timedelta(np.arange(6) * 1800, "s")
    df = pd.DataFrame(
        {
            "us": t.as_unit("us"),
            "s_local": t.as_unit("s").tz_convert("Europe/Berlin"),
            "ms_naive": t.tz_localize(None).as_unit("ms"),
            "f32": np.array([0.1, np.nan, 3.4e38, -0.5, 1e-7, 2.0], dtype="float32"),
            "d": pd.to_timedelta([1, None, 3, 4, 5, 6], unit="ms"),
            "c": pd.Categorical(["a", "b", None, "a", "b", "a"]),
        }
    )
    src = Stream()
    src.to_sqlite(tmp_path / "u.db", "t")
    src.emit(df.iloc[:4])
    src.emit(df.iloc[4:])
    back = streamlab.Store(tmp_path / "u.db").query("SELECT * FROM t")
    pd.testing.assert_frame_equal(back, df, check_exact=True)


def test_a_column_of_python_objects_is_refused_with_its_name(tmp_path):
    src = Stream()
    sink = src.to_sqlite(tmp_path / "o.db", "t")
    errors = sink.errors.sink_to_list()
    src.emit(pd.DataFrame({"id": [1, 2], "o": pd.Series([(1, "a"), None], dtype=object)}))
    src.emit(pd.DataFrame({"id": [3], "o": pd.Series(["text"], dtype=object)}))
    assert [r for e in errors for r in e["reason"]] == [
        "column 'o' holds tuple values; SQLite stores numbers, text and bytes: convert the "
        "column (e.g. to JSON text) first"
    ]
    assert errors[0]["rows"].tolist() == [2] and sink.stats.dropped == 1
    assert streamlab.Store(tmp_path / "o.db").query("SELECT * FROM t")["id"].tolist() == [3]


def test_negative_zero_is_the_one_float_sqlite_does_not_keep(tmp_path):
    src = Stream()
    src.to_sqlite(tmp_path / "z.db", "t")
    src.emit(pd.DataFrame({"x": [-0.0, 0.0]}))
    back = streamlab.Store(tmp_path / "z.db").query("SELECT x FROM t")["x"].to_numpy()
    assert back.tolist() == [0.0, 0.0] and not np.signbit(back).any()  # as documented


WRITER = textwrap.dedent("""
    import sys, numpy as np, pandas as pd
    from streamz import Stream
    import streamlab
    src = Stream()
    src.to_sqlite(sys.argv[1], "t", indexes=["batch"])
    for b in range(10**6):
        src.emit(pd.DataFrame({"batch": np.full(1000, b), "row": np.arange(1000),
                               "value": np.random.default_rng(b).normal(size=1000)}))
        print(b, flush=True)
""")


@pytest.mark.parametrize("after", [3, 40, 150])
def test_a_writer_killed_with_sigkill_leaves_every_committed_batch_whole(tmp_path, after):
    path = tmp_path / "crash.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        for _ in range(after):
            assert proc.stdout.readline(), "the writer ended early"
        time.sleep(np.random.default_rng(after).uniform(0, 0.05))  # somewhere mid-batch
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.stdout.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    counts = dict(conn.execute("SELECT batch, count(*) FROM t GROUP BY batch").fetchall())
    conn.close()
    assert len(counts) >= after - 1
    assert sorted(counts) == list(range(len(counts)))  # a prefix of the batches
    assert set(counts.values()) == {1000}  # no batch half-written
    df = streamlab.Store(path).query("SELECT * FROM t WHERE batch = ?", (0,))
    expected = np.random.default_rng(0).normal(size=1000)
    assert np.array_equal(df["value"].to_numpy(), expected)


def test_a_new_column_is_added_and_a_changed_type_goes_to_dead_letters(tmp_path):
    src = Stream()
    sink = src.to_sqlite(tmp_path / "d.db", "t")
    errors = sink.errors.sink_to_list()
    src.emit(pd.DataFrame({"a": [1, 2]}))
    src.emit(pd.DataFrame({"a": [3], "b": ["new"]}))
    src.emit(pd.DataFrame({"a": ["text"]}))  # the stream goes on after this
    src.emit(pd.DataFrame({"a": [4]}))
    back = streamlab.Store(tmp_path / "d.db").query("SELECT * FROM t")
    assert back["a"].tolist() == [1, 2, 3, 4]
    assert back["b"].tolist()[2] == "new" and back["b"].isna().sum() == 3
    assert sink.stats.schema_changes == 1 and sink.stats.dropped == 1
    reason = pd.concat(errors)["reason"].item()
    assert reason.startswith("column 'a' changed type from int64 to ")
    assert reason.endswith("; cast it back (or write to a new table)")


def test_explain_shows_the_index_and_a_scan(tmp_path):
    src = streamlab.generate("noise", rows=5000)
    src.to_sqlite(tmp_path / "e.db", "r", indexes=["time", "key"])
    streamlab.run(src)
    store = streamlab.Store(tmp_path / "e.db")
    assert store.tables() == ["r"]
    seek = store.explain("SELECT * FROM r WHERE time >= ?", (ns("2026-01-01T00:00:02Z"),))
    scan = store.explain("SELECT * FROM r WHERE value > 0")
    assert seek["uses_index"].all() and "ix_r_time" in seek["detail"].item()
    assert not scan["uses_index"].any() and scan["detail"].item().startswith("SCAN")
    two_s = store.query("SELECT * FROM r WHERE time >= ?", (ns("2026-01-01T00:00:02Z"),))
    assert len(two_s) == 3000 and two_s["time"].min() == pd.Timestamp("2026-01-01 00:00:02Z")


def test_replay_a_recording_from_sqlite_with_seek(tmp_path):
    src = streamlab.generate("sine", rows=20_000, rate=1000)
    src.record(tmp_path / "rec.db")
    streamlab.run(src)
    replayed = streamlab.replay(
        tmp_path / "rec.db",
        speed=0,
        start="2026-01-01T00:00:05Z",
        end="2026-01-01T00:00:07Z",
        time_column="time",
    )
    got = replayed.sink_to_list()
    streamlab.run(replayed)
    df = pd.concat(got, ignore_index=True)
    assert len(df) == 2000 and df["time"].is_monotonic_increasing
    assert df["time"].iloc[0] == pd.Timestamp("2026-01-01T00:00:05Z")
    assert "arrival_time" in df.columns


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda p: Stream().to_sqlite(p / "missing" / "x.db", "t"),
            "cannot write '{p}/missing/x.db': folder '{p}/missing' does not exist; create it first",
        ),
        (
            lambda p: Stream().to_sqlite(p / "x.db", "bad name"),
            "table must be a plain name (letters, digits, _), not 'bad name'",
        ),
        (
            lambda p: Stream().to_sqlite(p / "x.db", "t", mode="upsert"),
            "mode='upsert' is not one of 'append', 'replace'",
        ),
        (
            lambda p: streamlab.Store(p / "nothing.db"),
            "no database at '{p}/nothing.db'; write one with stream.to_sqlite(path, table) first",
        ),
    ],
)
def test_bad_arguments_name_the_problem_and_the_fix(tmp_path, make, message):
    with pytest.raises(ConfigError, match=re.escape(message.format(p=tmp_path))):
        make(tmp_path)


def test_unknown_index_column_is_named(tmp_path):
    src = Stream()
    src.to_sqlite(tmp_path / "x.db", "t", indexes=["tme"])
    with pytest.raises(
        ConfigError,
        match=re.escape(
            "indexes names ['tme'] that table 't' does not have; its columns are ['time', 'v']"
        ),
    ):
        src.emit(pd.DataFrame({"time": [1], "v": [2]}))


@contextlib.contextmanager
def read_only(path):
    """Make ``path`` read-only for real, also for root (who ignores file modes): chattr +i."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        os.chmod(path, 0o444)
        try:
            yield
        finally:
            os.chmod(path, 0o644)


def test_a_read_only_database_is_reported_and_the_stream_goes_on(tmp_path):
    path = tmp_path / "ro.db"
    first = Stream()
    sink = first.to_sqlite(path, "t")
    first.emit(pd.DataFrame({"v": [1]}))
    sink.close()
    src = Stream()
    ro = src.to_sqlite(path, "t")
    errs = ro.errors.sink_to_list()
    with read_only(path):
        src.emit(pd.DataFrame({"v": [2]}))
        src.emit(pd.DataFrame({"v": [3]}))
    reasons = pd.concat(errs)["reason"].tolist()
    assert len(reasons) == 2 and ro.stats.dropped == 2
    assert reasons[0].startswith(f"{str(path)!r} is read-only")
    assert reasons[0].endswith("make the file and its folder writable, or write to another path")


def test_a_locked_database_is_reported_and_the_stream_goes_on(tmp_path):
    path = tmp_path / "lock.db"
    src = Stream()
    sink = src.to_sqlite(path, "t", timeout=0.2)
    errs = sink.errors.sink_to_list()
    src.emit(pd.DataFrame({"v": [1]}))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    src.emit(pd.DataFrame({"v": [2]}))
    holder.execute("ROLLBACK")
    holder.close()
    src.emit(pd.DataFrame({"v": [3]}))  # the lock is gone: written
    reason = pd.concat(errs)["reason"].item()
    assert "stayed locked by another connection for more than 0.2 s" in reason
    assert reason.endswith("close the other writer or raise timeout=")
    assert streamlab.Store(path).query("SELECT v FROM t")["v"].tolist() == [1, 3]
