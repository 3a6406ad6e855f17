"""TCP sources over real loopback sockets: happy paths, malformed input, drops and restarts."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import shutil
import socket
import subprocess
import threading

import pandas as pd
import pytest

import streamlab
from streamlab.errors import ConfigError, SourceError

from support import LineServer, open_fds, rows_of, wait_until

HEADER = b"t,value,sensor\n"


def sensor_lines(n: int, start: int = 0) -> bytes:
    return b"".join(
        f"{1_700_000_000_000 + i},{i * 0.5},s{i % 3}\n".encode() for i in range(start, start + n)
    )


async def test_rows_arrive_once_in_order_and_equal_pandas():
    payload = HEADER + sensor_lines(50_000)
    server = await LineServer(
        [[payload[i : i + 7919] for i in range(0, len(payload), 7919)]]
    ).start()
    src = streamlab.from_tcp("127.0.0.1", server.port, reconnect=False)
    got = src.sink_to_list()
    await streamlab.arun(src)
    await server.stop()
    expected = pd.read_csv(io.BytesIO(payload))
    pd.testing.assert_frame_equal(pd.concat(got, ignore_index=True), expected)
    assert src.stats.rows == 50_000 and src.stats.bad == 0
    assert src.stats.bytes == len(payload)
    assert all(df.attrs["peer"].startswith("127.0.0.1:") for df in got)


async def test_malformed_csv_goes_to_dead_letters_and_the_source_keeps_running():
    huge = b"9" * (10 * 1024 * 1024)  # a 10 MB line with no newline, then good rows again
    parts = [
        HEADER,
        b"1,1.0,a\n",
        b"2,2.0\n",  # too few fields
        b"3,3.0,c,extra\n",  # too many
        b"4,not-a-number,d\n",  # unparsable number (dtype given)
        b"5,5.0,\xff\xfe\n",  # invalid UTF-8
        b"6,6.0,f\n",
        huge,
        b"\n7,7.0,g\n",
    ]
    server = await LineServer([parts]).start()
    src = streamlab.from_tcp(
        "127.0.0.1", server.port, reconnect=False, dtypes={"value": "float64"}, max_record=1 << 20
    )
    good, bad = src.sink_to_list(), src.errors.sink_to_list()
    await streamlab.arun(src)
    await server.stop()
    assert [r["t"] for r in rows_of(good)] == [1, 6, 7]
    letters = pd.concat(bad, ignore_index=True)
    assert letters["reason"].tolist() == [
        "expected 3 fields, saw 2",
        "expected 3 fields, saw 4",
        "column 'value': 'not-a-number' is not a valid float64",
        "invalid UTF-8 at byte 6",
        f"record of {len(huge)} bytes is longer than max_record=1048576 bytes",
    ]
    assert letters["raw"].iloc[0] == b"2,2.0"
    assert letters["raw"].iloc[4] == huge[: 64 * 1024]  # first 64 KiB kept, size says the rest
    assert letters["size"].iloc[4] == len(huge)
    assert letters["origin"].str.startswith("peer 127.0.0.1:").all()
    offsets = letters["offset"].tolist()
    stream = b"".join(parts)
    assert offsets[:4] == [
        stream.index(b"2,2.0\n"),
        stream.index(b"3,3.0"),
        stream.index(b"4,not"),
        stream.index(b"5,5.0"),
    ]
    assert src.stats.bad == 5


@pytest.mark.parametrize(
    ("parse", "payload", "good", "reasons"),
    [
        (
            "jsonl",
            b'{"a": 1}\n{"a": \n[2]\n{"a": 3}\n',
            [1, 3],
            ["invalid JSON: Expecting value at column 7", "JSON value is a list, not an object"],
        ),
        (
            "syslog",
            b"<13>Nov 21 00:19:48 host app[12]: ok\nnot syslog at all\n"
            b"<999>Nov 21 00:19:48 host app: bad pri\n",
            ["ok"],
            ["not RFC 5424 or RFC 3164 syslog", "PRI 999 is out of range 0..191"],
        ),
    ],
)
async def test_bad_json_and_garbage_syslog(parse, payload, good, reasons):
    server = await LineServer([[payload]]).start()
    src = streamlab.from_tcp("127.0.0.1", server.port, parse=parse, reconnect=False)
    rows, bad = src.sink_to_list(), src.errors.sink_to_list()
    await streamlab.arun(src)
    await server.stop()
    column = "a" if parse == "jsonl" else "message"
    assert [r[column] for r in rows_of(rows)] == good
    assert pd.concat(bad)["reason"].tolist() == reasons


async def test_producer_dropping_mid_record_then_coming_back():
    # first connection dies in the middle of "3,3.0"; the second carries on
    server = await LineServer(
        [
            [HEADER, b"1,1.0,a\n2,2.0,b\n3,3."],
            [HEADER, b"4,4.0,d\n"],
        ]
    ).start()
    src = streamlab.from_tcp("127.0.0.1", server.port, backoff=0.01)
    rows, bad = src.sink_to_list(), src.errors.sink_to_list()
    src.start()
    await wait_until(lambda: len(rows_of(rows)) == 3, what="rows from the second connection")
    src.stop()
    await src.wait()
    await server.stop()
    assert [r["t"] for r in rows_of(rows)] == [1, 2, 4]
    [letter] = bad
    assert letter["reason"].tolist() == [
        "connection closed in the middle of a record (4 bytes without a newline)"
    ]
    assert letter["raw"].tolist() == [b"3,3."]
    assert src.stats.connections >= 2 and src.stats.reconnects >= 1
    assert src.stats.disconnects >= 1 and src.stats.bad == 1


async def test_server_restart_is_survived_and_counted():
    server = await LineServer([[HEADER, b"1,1.0,a\n"]]).start()
    port = server.port
    src = streamlab.from_tcp("127.0.0.1", port, backoff=0.01, max_backoff=0.05)
    rows = src.sink_to_list()
    src.start()
    await wait_until(lambda: len(rows) == 1, what="first row")
    await server.stop()  # the server goes away: connects are refused for a while
    await wait_until(lambda: src.last_error is not None, what="a refused reconnect")
    assert src.running
    server2 = await LineServer([[HEADER, b"2,2.0,b\n"]] * 50).start(port)
    await wait_until(lambda: len(rows_of(rows)) >= 2, what="rows after the restart")
    src.stop()
    await src.wait()
    await server2.stop()
    assert [r["t"] for r in rows_of(rows)][:2] == [1, 2]
    assert src.stats.reconnects >= 1


async def test_refused_without_reconnect_is_a_clear_error():
    server = await LineServer([]).start()
    port = server.port
    await server.stop()
    src = streamlab.from_tcp("127.0.0.1", port, reconnect=False)
    with pytest.raises(
        SourceError,
        match=rf"cannot connect to 127.0.0.1:{port} .*is the server "
        r"running\? pass reconnect=True to keep trying",
    ):
        await streamlab.arun(src)


async def test_listen_tcp_many_clients_each_in_order():
    src = streamlab.listen_tcp(0, peer_column="peer")
    got = src.sink_to_list()
    src.start()
    n_clients, n_rows = 6, 3000

    async def client(k: int) -> None:
        _, w = await asyncio.open_connection(*src.address)
        w.write(b"client,i\n")
        for i in range(0, n_rows, 100):
            w.write(b"".join(f"{k},{j}\n".encode() for j in range(i, i + 100)))
            await w.drain()
            await asyncio.sleep(0)
        w.close()
        await w.wait_closed()

    await asyncio.gather(*(client(k) for k in range(n_clients)))
    await wait_until(lambda: sum(map(len, got)) == n_clients * n_rows, what="all rows")
    src.stop()
    await src.wait()
    df = pd.concat(got, ignore_index=True)
    for k, part in df.groupby("client"):
        assert part["i"].tolist() == list(range(n_rows)), f"client {k} out of order"
        assert part["peer"].nunique() == 1
    assert df["peer"].nunique() == n_clients
    for batch in got:  # every batch comes from one connection and says which
        assert batch["peer"].nunique() == 1 and batch.attrs["peer"] == batch["peer"].iloc[0]
    assert src.stats.connections == n_clients


async def test_a_step_that_raises_under_listen_tcp_ends_the_source_with_its_error(capsys):
    """An error in the pipeline of one connection used to end that connection's task with an
    exception nobody retrieved (asyncio logged it; the source ran on, the rows lost). Now the
    source ends with it, as every source does: wait() raises it and it is printed."""
    src = streamlab.listen_tcp(0)

    def boom(df):
        if (df["x"] == 3).any():
            raise RuntimeError("the step broke at x=3")
        return df

    got = src.map(boom).sink_to_list()
    src.start()
    _, w = await asyncio.open_connection(*src.address)
    w.write(b"x\n1\n")
    await w.drain()
    await wait_until(lambda: len(got) == 1, what="the first row")
    w.write(b"2\n3\n")
    await w.drain()
    with pytest.raises(RuntimeError, match="the step broke at x=3"):
        await asyncio.wait_for(src.wait(), 15)  # the bound only stops a hang
    assert not src.running and isinstance(src.exception, RuntimeError)
    assert "stopped by an error" in capsys.readouterr().err
    w.close()


async def test_nc_pipes_a_file_into_listen_tcp(tmp_path):
    assert shutil.which("nc"), "netcat-openbsd is required (the test command installs it)"
    path = tmp_path / "data.csv"
    payload = HEADER + sensor_lines(20_000)
    path.write_bytes(payload)
    src = streamlab.listen_tcp(0)
    got = src.sink_to_list()
    src.start()
    with path.open("rb") as stdin:
        proc = await asyncio.create_subprocess_exec(
            "nc", "-N", "127.0.0.1", str(src.port), stdin=stdin
        )
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    await wait_until(lambda: sum(map(len, got)) == 20_000, what="all rows from nc")
    src.stop()
    await src.wait()
    pd.testing.assert_frame_equal(
        pd.concat(got, ignore_index=True), pd.read_csv(io.BytesIO(payload))
    )


async def _start_stop_once(port: int) -> None:
    srv = streamlab.listen_tcp(0)
    cli = streamlab.from_tcp("127.0.0.1", port)
    srv.start()
    cli.start()
    _, w = await asyncio.open_connection(*srv.address)
    w.write(b"a,b\n1,2\n")
    await w.drain()
    await asyncio.sleep(0)
    srv.stop()
    cli.stop()
    await srv.wait()
    await cli.wait()
    w.close()
    await w.wait_closed()


async def test_start_stop_100_times_leaks_no_fd_and_no_task():
    server = await LineServer([[HEADER, b"1,1.0,a\n"]] * 1000).start()
    await _start_stop_once(server.port)  # warm-up: lazily created loop resources
    gc.collect()
    before_fds, before_tasks = open_fds(), len(asyncio.all_tasks())
    for _ in range(100):
        await _start_stop_once(server.port)

    def settled() -> bool:  # transports close on a later turn of the loop than stop()
        gc.collect()
        return open_fds() == before_fds and len(asyncio.all_tasks()) == before_tasks

    await wait_until(settled, what="the sockets and tasks of 100 cycles gone")
    await server.stop()


async def test_pause_applies_backpressure_to_the_producer():
    src = streamlab.listen_tcp(0, parse="text", max_buffer=256 * 1024)
    got = src.sink_to_list()
    src.start()
    src.pause()
    _, w = await asyncio.open_connection(*src.address)
    line = b"x" * 99 + b"\n"
    sent = 0
    blocked = False
    for _ in range(2000):  # up to 200 MB, unless the producer is made to wait
        w.write(line * 1000)
        sent += 100_000
        try:
            await asyncio.wait_for(w.drain(), 0.5)
        except asyncio.TimeoutError:
            blocked = True
            break
    assert blocked, "the producer was never slowed down"
    # what the source holds is bounded by its buffer and one batch, not by what was sent
    assert src.stats.bytes <= 256 * 1024 + 1024 * 1024
    assert got == []
    src.resume()
    await wait_until(lambda: sum(map(len, got)) > 0, what="rows after resume")
    src.stop()
    await src.wait()
    w.close()
    with contextlib.suppress(ConnectionError):
        await w.wait_closed()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(d / "key.pem"),
            "-out",
            str(d / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )
    return d / "cert.pem", d / "key.pem"


async def test_tls_both_ways(tls_files):
    import ssl

    cert, key = tls_files
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    server = streamlab.listen_tcp(0, ssl=server_ctx, parse="text")
    got = server.sink_to_list()
    server.start()
    src = streamlab.generate("sine", rows=500, batch_rows=100)
    sender = src.map(lambda df: df[["value"]].astype(str).rename(columns={"value": "line"}))
    out = sender.to_tcp(*server.address, format="text", ssl=client_ctx)
    await streamlab.arun(src)
    await wait_until(lambda: sum(map(len, got)) == 500, what="rows over TLS")
    await out.close()
    server.stop()
    await server.wait()
    assert out.stats.rows == 500


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: streamlab.from_tcp("127.0.0.1", 70000),
            "port must be in 1..65535, not 70000; pick a free port such as 9999",
        ),
        (
            lambda: streamlab.listen_tcp(-1),
            "port must be in 0..65535, not -1; pick a free port such as 9999 (0 lets the system "
            "choose)",
        ),
        (
            lambda: streamlab.from_tcp("127.0.0.1", 9999, parse="jsn"),
            "parse='jsn' is not one of 'csv', 'jsonl', 'text', 'syslog'. Did you mean 'jsonl'?",
        ),
        (
            lambda: streamlab.from_tcp("127.0.0.1", 9999, max_rows=0),
            "max_rows must be >= 1, not 0; for example max_rows=1",
        ),
        (
            lambda: streamlab.from_tcp("127.0.0.1", 9999, ssl="yes"),
            "ssl must be an ssl.SSLContext or None, not 'yes'",
        ),
    ],
)
def test_bad_arguments_name_the_value_and_the_fix(call, message):
    with pytest.raises(ConfigError) as info:
        call()
    assert str(info.value) == message


async def test_busy_port_is_an_error_at_start():
    first = streamlab.listen_tcp(0).start()
    second = streamlab.listen_tcp(first.port)
    with pytest.raises(
        SourceError,
        match=r"cannot listen on 127.0.0.1:\d+ \(Address already in "
        r"use\); choose another port, or port=0",
    ):
        second.start()
    first.stop()
    await first.wait()


class _Flood:
    """A producer in a thread: each connection gets a header, then CSV rows as fast as the
    socket takes them, until the reader closes it (counted in ``closed``)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.closed = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        body = sensor_lines(20_000)
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                try:
                    conn.sendall(HEADER)
                    while True:
                        conn.sendall(body)
                except OSError:  # the reader closed the connection
                    self.closed += 1

    def close(self) -> None:
        self.done.set()
        self.sock.close()


async def test_stop_ends_a_source_reading_a_flood_every_time():
    """stop() while bytes pour in ends the source's task and closes its socket, every time.
    The cancellation often lands in the Feed's short wait for more bytes, where Python
    3.11's asyncio.wait_for swallowed it: the task went on reading after stop(), rows no
    longer counted, the connection never closed (5 times in 11 with a dashboard attached)."""
    flood = _Flood()
    try:
        for i in range(30):
            src = streamlab.from_tcp("127.0.0.1", flood.port, reconnect=False)
            src.start()
            await src.wait_rows(5_000 + 1_000 * i)
            src.stop()
            await asyncio.wait_for(src.wait(), 10)  # bounds a hang only
            assert not src.running
            await wait_until(lambda n=i + 1: flood.closed == n, what=f"connection {i} closed")
    finally:
        flood.close()
