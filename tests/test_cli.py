"""The ``streamlab`` command, run as a real subprocess against real sockets."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys

import numpy as np
import pandas as pd
import psutil
import pytest

import streamlab
from streamlab import datasets

from support import wait_until

CLI = [sys.executable, "-m", "streamlab"]


def test_demo_runs_offline_and_writes_a_standalone_report(tmp_path):
    done = subprocess.run(
        [*CLI, "demo", "--out", str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "received   19,226 rows" in out
    assert "3 bad records went to dead letters" in out
    assert "expected 3 fields, saw 2" in out and "'warm' is not a valid float64" in out
    assert "402 days" in out
    assert "stored     19,226 rows in" in out and "the coldest reading was" in out
    assert re.search(r"compressed \d+\.\dx zlib, \d+\.\dx zstd, \d+\.\dx with the time-series", out)
    assert re.search(r"batch by batch \(median\): timeseries \d+\.\dx, zlib \d+\.\dx, zstd", out)
    assert "windows    402 daily windows closed on event time" in out
    assert re.search(r"anomalies  [1-9]\d* readings more than 10 robust z", out)
    learned = re.search(
        r"accuracy (0\.\d+) \(always answering the commoner answer: (0\.\d+)\)", out
    )
    assert learned and float(learned[1]) > float(learned[2]) + 0.03  # it learned something
    readings = streamlab.Store(tmp_path / "readings.db").query("SELECT * FROM readings")
    assert len(readings) == 19_226 and readings["time"].is_monotonic_increasing
    html = (tmp_path / "report.html").read_text()
    assert "Bokeh" in html and "cdn.bokeh.org" not in html  # BokehJS inline: opens offline
    assert "Sea temperature" in html and "dead letters" in html and "warm" in html
    for title in ("anomalies marked", "Daily mean, min and max", "Compression ratio of each batch"):
        assert title in html
    assert "Prequential accuracy" in html
    assert re.search(r"lag \d+ ms", html) and " days" not in html.split("lag", 1)[1][:20]
    assert done.stderr == ""


def test_the_demos_figures_equal_pandas_on_what_it_received(tmp_path, capsys):
    """What the report draws is exact: the daily windows equal pandas' resample of the rows
    received, every anomaly marked is a row robust_zscore flags, the learning curve ends at
    the learner's metrics."""
    from streamlab.cli.demo import run_demo

    r = run_demo(tmp_path)
    readings = r["readings"]
    day = readings.set_index("time")["temperature_c"].resample("1D")
    want = pd.DataFrame({"mean": day.mean(), "min": day.min(), "max": day.max()}).dropna()
    got = r["day_windows"].set_index("window_start")
    assert len(got) == len(want) == 402
    for agg in ("mean", "min", "max"):
        np.testing.assert_allclose(got[f"temperature_c_{agg}"], want[agg], rtol=1e-12)
    a = r["anomalies"]
    assert len(a) and (a["temperature_c_rz_score"].abs() > 10).all()
    plots = {p.title: p for p in r["dashboard"].plots}
    curve = next(p for t, p in plots.items() if "Prequential accuracy" in t)
    assert curve.sources["accuracy"].data["y"][-1] == pytest.approx(r["learned"]["accuracy"])
    assert "402 daily windows" in capsys.readouterr().out


async def _serve(*args):
    proc = await asyncio.create_subprocess_exec(
        *CLI, "serve", *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
    match = re.search(r"on tcp 127\.0\.0\.1:(\d+)", line)
    assert match, line + (await proc.stderr.read()).decode()
    return proc, int(match.group(1))


async def test_serve_replays_the_file_to_each_client():
    path = datasets.path("stocks")
    proc, port = await _serve(str(path), "--port", "0", "--speed", "0", "--time-column", "date")
    try:
        expected = datasets.load("stocks")
        for _ in range(2):  # every client gets the whole file from the start
            src = streamlab.from_tcp("127.0.0.1", port, reconnect=False, time_column="date")
            got = src.sink_to_list()
            await streamlab.arun(src)
            pd.testing.assert_frame_equal(
                pd.concat(got, ignore_index=True), expected, check_dtype=False
            )
    finally:
        proc.terminate()
        await proc.wait()


async def test_serve_udp_and_record_from_tcp(tmp_path):
    # serve over UDP to a listening streamlab source
    src = streamlab.from_udp(
        0,
        parse="csv",
        columns=["date", "ticker", "open", "high", "low", "close", "volume", "adj_close"],
    )
    got = src.sink_to_list()
    src.start()
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        "serve",
        str(datasets.path("stocks")),
        "--speed",
        "0",
        "--udp",
        f"127.0.0.1:{src.port}",
        stdout=subprocess.PIPE,
    )
    assert await asyncio.wait_for(proc.wait(), 60) == 0
    await wait_until(lambda: sum(map(len, got)) == 12154, what="all datagram rows")
    src.stop()
    await src.wait()
    assert src.stats.bad == 0


async def test_record_keeps_arrival_time_and_replays_with_it(tmp_path):
    proc, port = await _serve(str(datasets.path("sea_temperature")), "--port", "0", "--speed", "0")
    out = tmp_path / "rec.csv"
    try:
        rec = await asyncio.create_subprocess_exec(
            *CLI,
            "record",
            "--tcp",
            f"127.0.0.1:{port}",
            "--out",
            str(out),
            "--rows",
            "500",
            stdout=subprocess.PIPE,
        )
        stdout, _ = await asyncio.wait_for(rec.communicate(), 60)
        assert rec.returncode == 0
        assert b"500 rows to" in stdout
    finally:
        proc.terminate()
        await proc.wait()
    df = pd.read_csv(out)
    assert list(df.columns) == ["arrival_time", "time", "station", "temperature_c"]
    assert len(df) == 500
    sea = datasets.load("sea_temperature").head(500)
    assert df["temperature_c"].tolist() == sea["temperature_c"].tolist()
    again = streamlab.replay(out, speed=0)
    assert again.time_column == "arrival_time"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["serve", "missing.csv"],
            "streamlab serve: error: cannot replay 'missing.csv': it does not exist",
        ),
        (
            ["serve", "{data}", "--port", "70000"],
            "streamlab serve: error: port must be in 0..65535, not 70000",
        ),
        (
            ["serve", "{data}", "--speed", "-2"],
            "streamlab serve: error: argument --speed: --speed must be >= 0, not -2",
        ),
        (
            ["serve", "{data}", "--format", "jsn"],
            "streamlab serve: error: format='jsn' is not "
            "one of 'csv', 'jsonl', 'text', 'syslog'. Did "
            "you mean 'jsonl'?",
        ),
        (["serve", "{data}", "--udp", "nowhere"], "streamlab serve: error: --udp needs HOST:PORT"),
        (
            ["record", "--tcp", "127.0.0.1:1", "--out", "/no/such/dir/x.csv"],
            "streamlab record: error: cannot write '/no/such/dir/x.csv': folder '/no/such/dir' does "
            "not exist",
        ),
        (
            ["record", "--out", "x.csv"],
            "streamlab record: error: one of the arguments --tcp --udp is required",
        ),
        (["dmeo"], "streamlab: error: argument command: invalid choice: 'dmeo'"),
        (
            ["record", "--tcp", "127.0.0.1:1", "--host", "0.0.0.0", "--out", "x.csv"],
            "streamlab record: error: --host 0.0.0.0 is the address to listen on with --udp; "
            "with --tcp the address to connect to is in HOST:PORT",
        ),
    ],
)
def test_bad_arguments_print_one_line_and_exit_2(args, message):
    args = [a.replace("{data}", str(datasets.path("stocks"))) for a in args]
    done = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(message), done.stderr
    assert "Traceback" not in done.stderr


async def test_record_into_sqlite_and_seek_back(tmp_path):
    proc, port = await _serve(str(datasets.path("sea_temperature")), "--port", "0", "--speed", "0")
    out = tmp_path / "rec.db"
    try:
        rec = await asyncio.create_subprocess_exec(
            *CLI,
            "record",
            "--tcp",
            f"127.0.0.1:{port}",
            "--out",
            str(out),
            "--rows",
            "1000",
            stdout=subprocess.PIPE,
        )
        await asyncio.wait_for(rec.communicate(), 60)
        assert rec.returncode == 0
    finally:
        proc.terminate()
        await proc.wait()
    store = streamlab.Store(out)
    assert store.tables() == ["recording"]
    df = store.query("SELECT * FROM recording")
    assert len(df) == 1000 and df.columns[0] == "arrival_time"
    assert df["arrival_time"].dtype == "datetime64[ns, UTC]"
    assert store.explain("SELECT * FROM recording WHERE arrival_time > 0")["uses_index"].all()


def udp_sockets(pid: int) -> list:
    """The local addresses of the UDP sockets process ``pid`` has open (read from /proc)."""
    try:
        proc = psutil.Process(pid)
        connections = getattr(proc, "net_connections", None) or proc.connections  # psutil < 6
        return [c.laddr for c in connections(kind="udp")]
    except psutil.NoSuchProcess:
        return []


@pytest.mark.parametrize(
    ("args", "bound"), [([], "127.0.0.1"), (["--host", "127.0.0.2"], "127.0.0.2")]
)
async def test_record_udp_listens_on_loopback_unless_told_otherwise(tmp_path, args, bound):
    out = tmp_path / "rec.csv"
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        *["record", "--udp", "0", *args, "--columns", "a,b", "--out", str(out), "--rows", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        await wait_until(
            lambda: udp_sockets(proc.pid) or proc.returncode is not None,
            timeout=60,
            what="the recorder's UDP socket",
        )
        [addr] = udp_sockets(proc.pid)
        assert (addr.ip, addr.port > 0) == (bound, True)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # it is the one recording
            s.sendto(b"1,2\n", (addr.ip, addr.port))
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, stderr
    assert b"1 rows to" in stdout
    assert pd.read_csv(out)[["a", "b"]].values.tolist() == [[1, 2]]
