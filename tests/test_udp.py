"""UDP source over real loopback sockets, with the real util-linux ``logger`` as a client."""

from __future__ import annotations

import asyncio
import os
import socket

import pandas as pd
import pytest
from streamz import Stream

import streamlab
from streamlab.errors import ConfigError

from support import wait_until


async def test_logger_syslog_over_udp_is_parsed_into_fields():
    src = streamlab.from_udp(0, parse="syslog")
    got = src.sink_to_list()
    src.start()
    for flag, text in (("--rfc5424", "hello five four two four"), ("--rfc3164", "hello bsd")):
        proc = await asyncio.create_subprocess_exec(
            "logger",
            "-n",
            "127.0.0.1",
            "-P",
            str(src.port),
            "-d",
            flag,
            "-i",
            "-t",
            "myapp",
            "-p",
            "local3.warning",
            text,
            env={**os.environ, "TZ": "UTC"},
        )
        assert await proc.wait() == 0
    await wait_until(lambda: sum(map(len, got)) == 2, what="two syslog messages")
    src.stop()
    await src.wait()
    df = pd.concat(got, ignore_index=True)
    assert df["message"].tolist() == ["hello five four two four", "hello bsd"]
    assert df["app"].tolist() == ["myapp", "myapp"]
    assert df["facility"].tolist() == [19, 19] and df["severity"].tolist() == [4, 4]
    assert df["host"].eq(socket.gethostname()).all()
    assert df["pid"].notna().all()
    now = pd.Timestamp.now(tz="UTC")
    assert ((now - df["time"]).abs() < pd.Timedelta("1min")).all()
    assert src.stats.bad == 0 and src.stats.rows == 2


async def test_to_udp_round_trip_and_bad_datagrams():
    src = streamlab.from_udp(0, parse="csv", columns=["i", "x"], dtypes={"x": "float64"})
    got, bad = src.sink_to_list(), src.errors.sink_to_list()
    src.start()
    data = pd.DataFrame({"i": range(1000), "x": [i / 4 for i in range(1000)]})
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.sendto(b"1,2,3", src.address)  # wrong field count
    sender.sendto(b"2,abc", src.address)  # not a number
    head = Stream()
    out = head.to_udp(*src.address, format="csv", max_datagram=512)
    for i in range(0, 1000, 100):  # the next datagrams go once these are in (no kernel drops)
        head.emit(data.iloc[i : i + 100])
        await src.wait_rows(i + 100)
    await wait_until(lambda: sum(map(len, got)) == 1000 and len(bad) == 2, what="datagrams")
    src.stop()
    await src.wait()
    out.close()
    sender.close()
    pd.testing.assert_frame_equal(pd.concat(got, ignore_index=True), data)
    reasons = pd.concat(bad)["reason"].tolist()
    assert reasons == ["expected 2 fields, saw 3", "column 'x': 'abc' is not a valid float64"]
    assert out.stats.rows == 1000 and out.stats.dropped == 0


async def test_overflow_drops_oldest_and_counts_exactly():
    src = streamlab.from_udp(0, parse="text", max_datagrams=10)
    got = src.sink_to_list()
    src.start()
    src.pause()  # the pipeline stops taking batches: datagrams pile up
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.sendto(b"first", src.address)
    await wait_until(lambda: src.stats.bytes > 0, what="first datagram taken")
    for i in range(30):
        tx.sendto(f"d{i}".encode(), src.address)
    await wait_until(lambda: src._buffer.dropped == 20, what="30 datagrams in a buffer of 10")
    src.resume()
    await wait_until(lambda: sum(map(len, got)) == 11, what="rows after resume")
    src.stop()
    await src.wait()
    tx.close()
    lines = [x for df in got for x in df["line"]]
    assert lines == ["first"] + [f"d{i}" for i in range(20, 30)]  # the 20 oldest were dropped
    assert src.stats.dropped == 20


def test_csv_over_udp_needs_columns():
    with pytest.raises(ConfigError, match=r"from_udp\(parse='csv'\) needs columns=\[\.\.\.\]"):
        streamlab.from_udp(0, parse="csv")


async def test_a_host_that_does_not_resolve_is_named():
    """It used to say "choose another port" for a host name that does not resolve."""
    with pytest.raises(ConfigError, match=r"host='no\.such\.host\.invalid' does not resolve"):
        streamlab.from_udp(0, host="no.such.host.invalid").start()
