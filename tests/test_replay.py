"""File replay: formats, pacing by event time, pause/step/resume, looping, bad arguments."""

from __future__ import annotations

import asyncio
import gzip
import itertools
import re

import numpy as np
import pandas as pd
import pytest

import streamlab
from streamlab.errors import ConfigError

from support import wait_until


def sensor_frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    gaps = rng.integers(1, 40, n)  # ms
    t = pd.Timestamp("2026-03-01", tz="UTC") + pd.to_timedelta(np.cumsum(gaps), unit="ms")
    return pd.DataFrame(
        {
            "time": t,
            "sensor": [f"s{i % 4}" for i in range(n)],
            "value": np.round(rng.normal(size=n), 6),
        }
    )


def write(df: pd.DataFrame, path, fmt: str) -> None:
    if fmt == "csv":
        text = df.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
    else:
        text = df.to_json(orient="records", lines=True, date_format="iso", date_unit="us")
    data = text.encode()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


@pytest.mark.parametrize("name", ["s.csv", "s.csv.gz", "s.jsonl", "s.ndjson.gz"])
def test_formats_round_trip_with_event_time(tmp_path, name):
    df = sensor_frame()
    path = tmp_path / name
    write(df, path, "csv" if ".csv" in name else "jsonl")
    src = streamlab.replay(path, time_column="time", speed=0, max_rows=64)
    got = src.sink_to_list()
    streamlab.run(src)
    out = pd.concat(got, ignore_index=True)
    pd.testing.assert_frame_equal(out, df, check_dtype=False)
    assert out["time"].dtype == "datetime64[ns, UTC]"
    assert all(b.attrs["time_column"] == "time" for b in got)
    assert max(map(len, got)) <= 64 and src.stats.rows == len(df)


def test_text_and_gzip_text(tmp_path):
    path = tmp_path / "app.log.gz"
    path.write_bytes(gzip.compress(b"one\ntwo\n\nthree"))  # no newline at the end of the file
    src = streamlab.replay(path, speed=0)
    got = src.sink_to_list()
    streamlab.run(src)
    assert [x for df in got for x in df["line"]] == ["one", "two", "", "three"]


def _windows(path, speed):
    """A small event-time aggregation; the same rows in the same order whatever the speed."""
    src = streamlab.replay(path, time_column="time", speed=speed)
    rows = src.map(lambda df: df[["time", "sensor", "value"]]).sink_to_list()
    streamlab.run(src)
    df = pd.concat(rows, ignore_index=True)
    return df, df.groupby([pd.Grouper(key="time", freq="1s"), "sensor"])["value"].agg(
        ["mean", "max"]
    )


def test_speed_zero_and_speed_fifty_give_identical_results(tmp_path):
    df = sensor_frame(400)
    path = tmp_path / "s.csv"
    write(df, path, "csv")
    rows0, win0 = _windows(path, 0)
    rows50, win50 = _windows(path, 50)
    pd.testing.assert_frame_equal(rows0, rows50)
    pd.testing.assert_frame_equal(win0, win50)


def test_paced_batches_group_rows_due_together(tmp_path):
    # at speed=1000 the 1-40 ms gaps become 1-40 us: rows due together leave as one batch
    df = sensor_frame(2000)
    path = tmp_path / "s.csv"
    write(df, path, "csv")
    src = streamlab.replay(path, time_column="time", speed=1000)
    got = src.sink_to_list()
    streamlab.run(src)
    assert sum(map(len, got)) == 2000
    assert len(got) < 2000  # batched, not one row at a time
    times = pd.concat(got)["time"]
    assert times.is_monotonic_increasing


async def test_pause_step_resume(tmp_path):
    df = sensor_frame(100)
    path = tmp_path / "s.csv"
    write(df, path, "csv")
    src = streamlab.replay(path, time_column="time", speed=0)
    got = src.sink_to_list()
    src.pause()
    src.start()
    await wait_until(lambda: src.holding, what="the paused source at its gate")
    assert got == []
    src.step(5)
    await wait_until(lambda: sum(map(len, got)) == 5, what="five stepped rows")
    await wait_until(lambda: src.holding, what="the source holding again")
    assert sum(map(len, got)) == 5  # and no more while paused
    src.step(1)
    await wait_until(lambda: sum(map(len, got)) == 6, what="one more row")
    src.resume()
    await src.wait()
    pd.testing.assert_frame_equal(pd.concat(got, ignore_index=True), df, check_dtype=False)


async def test_speed_can_change_while_running(tmp_path):
    df = sensor_frame(200)
    path = tmp_path / "s.csv"
    write(df, path, "csv")
    src = streamlab.replay(path, time_column="time", speed=0.01)  # 100x slower than recorded
    got = src.sink_to_list()
    src.start()
    await wait_until(lambda: len(got) >= 1, what="first row")
    src.speed = 0
    await asyncio.wait_for(src.wait(), 10)
    assert sum(map(len, got)) == 200


def test_loop_keeps_event_time_increasing(tmp_path):
    df = sensor_frame(50)
    path = tmp_path / "s.csv"
    write(df, path, "csv")
    src = streamlab.replay(path, time_column="time", speed=0, loop=True)
    got = src.sink_to_list()

    def enough(_):
        if sum(map(len, got)) >= 150:
            src.stop()

    src.sink(enough)
    streamlab.run(src)
    times = pd.concat(got)["time"].iloc[:150]
    assert times.is_monotonic_increasing and times.is_unique
    span = (df["time"].iloc[-1] - df["time"].iloc[0]).as_unit("ns")
    assert times.iloc[50] - times.iloc[0] == span + span / 49


def test_bad_records_in_a_file_go_to_dead_letters_with_offsets(tmp_path):
    path = tmp_path / "s.csv"
    body = b"time,v\n2026-01-01T00:00:00Z,1\nnot-a-time,2\n,3\n2026-01-01T00:00:01Z,4\n"
    path.write_bytes(body)
    src = streamlab.replay(path, time_column="time", speed=0)
    got, bad = src.sink_to_list(), src.errors.sink_to_list()
    streamlab.run(src)
    assert pd.concat(got)["v"].tolist() == [1, 4]
    letters = pd.concat(bad)
    assert letters["reason"].tolist() == [
        "time column 'time': 'not-a-time' is not a timestamp (expected ISO 8601)",
        "time column 'time' is missing",
    ]
    assert letters["offset"].tolist() == [body.index(b"not-a-time"), body.index(b",3")]
    assert letters["origin"].tolist() == [str(path)] * 2


def test_recording_is_paced_by_its_arrival_time(tmp_path):
    path = tmp_path / "rec.csv"
    path.write_text("arrival_time,x\n2026-01-01T00:00:00Z,1\n2026-01-01T00:00:00.001Z,2\n")
    src = streamlab.replay(path, speed=0)
    assert src.time_column == "arrival_time"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"path": "missing.csv"},
            "cannot replay 'missing.csv': it does not exist; give the path of a CSV, JSONL, text or "
            "syslog file (optionally .gz)",
        ),
        (
            {"speed": -1},
            "speed must be >= 0, not -1; use speed=1 for the recorded timing, speed=10 for ten "
            "times faster, speed=0 for as fast as possible",
        ),
        (
            {"format": "jsn"},
            "format='jsn' is not one of 'csv', 'jsonl', 'text', 'syslog'. Did you mean 'jsonl'?",
        ),
        (
            {"time_column": "tme"},
            "time_column='tme' is not a column of this stream; its columns are ['time', 'v']",
        ),
    ],
)
def test_bad_arguments(tmp_path, kwargs, message):
    path = tmp_path / "ok.csv"
    path.write_text("time,v\n2026-01-01T00:00:00Z,1\n")
    kwargs = {"path": path, **kwargs}
    with pytest.raises(ConfigError, match=re.escape(message)):
        src = streamlab.replay(kwargs.pop("path"), **kwargs)
        streamlab.run(src)


def test_unknown_suffix_asks_for_a_format(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(b"x")
    with pytest.raises(
        ConfigError,
        match=re.escape(
            "cannot tell the format of 'data.bin' from its name; pass format= one of 'csv', "
            "'jsonl', 'text', 'syslog'"
        ),
    ):
        streamlab.replay(path)


@pytest.mark.parametrize("members", [1, 3])
def test_progress_follows_the_rows_emitted_in_a_gzip_file(tmp_path, members):
    """Progress is the share of the file's rows replayed so far, by their decompressed bytes:
    not the compressed size (a gzip file said 100% at a third of its rows), not what was read
    ahead. Three gzip members: the trailer cannot tell the size; progress stays within 0..1."""
    rows = 60_000
    text = "time,value\n" + "".join(
        f"2026-01-01T00:{i // 1000 % 60:02d}:00.{i % 1000:03d}Z,{i}\n" for i in range(rows)
    )
    data = text.encode()
    cuts = np.linspace(0, len(data), members + 1).astype(int)
    path = tmp_path / "r.csv.gz"
    path.write_bytes(b"".join(gzip.compress(data[a:b]) for a, b in itertools.pairwise(cuts)))
    src = streamlab.replay(path, speed=0, time_column="time", max_rows=1000)
    seen: list[tuple[int, float]] = []
    done = [0]

    def note(df):
        done[0] += len(df)
        seen.append((done[0], src.progress))

    src.sink(note)
    assert src.progress == 0.0
    streamlab.run(src)
    assert done[0] == rows and src.progress == 1.0
    got = np.array([p for _, p in seen])
    assert np.all(np.diff(got) >= 0) and np.all((got >= 0) & (got <= 1))
    if members == 1:  # the trailer tells the size: progress is the share of rows emitted
        share = np.array([n for n, _ in seen]) / rows
        assert np.abs(got - share).max() < 0.01
        assert src.size == len(data) and src.file_size < len(data) / 2
