"""SyslogParser: RFC 5424 and RFC 3164 lines, dead letters, and datagrams from util-linux logger."""

from __future__ import annotations

import os
import socket
import subprocess

import pandas as pd
import pytest

from streamlab.errors import ConfigError
from streamlab.parse import SyslogParser, make_parser
from streamlab.parse import syslog as syslog_module
from streamlab.parse.syslog import SYSLOG_COLUMNS

BOM = "\ufeff"
NOW = pd.Timestamp("2025-12-01 12:00:00", tz="UTC")


@pytest.fixture
def fixed_now(monkeypatch):
    """Pin the clock RFC 3164 years are resolved against."""

    def pin(now: pd.Timestamp = NOW) -> None:
        monkeypatch.setattr(syslog_module, "_utcnow", lambda: now)

    pin()
    return pin


def parse_one(line: str) -> dict:
    df, bad = SyslogParser().parse(line.encode("utf-8") + b"\n", origin="test")
    assert bad == []
    assert df is not None and len(df) == 1
    return {k: (None if pd.isna(v) else v) for k, v in df.iloc[0].to_dict().items()}


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


# RFC 5424 section 6.5, examples 1-4 (BOM written as U+FEFF).
SD_1 = '[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"]'
RFC5424_CASES = [
    (
        f"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - {BOM}'su root' "
        "failed for lonvick on /dev/pts/8",
        dict(
            time=utc("2003-10-11 22:14:15.003"),
            host="mymachine.example.com",
            app="su",
            pid=None,
            facility=4,
            severity=2,
            msgid="ID47",
            structured_data=None,
            message="'su root' failed for lonvick on /dev/pts/8",
        ),
    ),
    (
        "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to "
        "make the do-nuts.",
        dict(
            time=utc("2003-08-24 12:14:15.000003"),
            host="192.0.2.1",
            app="myproc",
            pid=8710,
            facility=20,
            severity=5,
            msgid=None,
            structured_data=None,
            message="%% It's time to make the do-nuts.",
        ),
    ),
    (
        f"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 {SD_1} "
        f"{BOM}An application event log entry...",
        dict(
            time=utc("2003-10-11 22:14:15.003"),
            host="mymachine.example.com",
            app="evntslog",
            pid=None,
            facility=20,
            severity=5,
            msgid="ID47",
            structured_data=SD_1,
            message="An application event log entry...",
        ),
    ),
    (
        f"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 {SD_1}"
        '[examplePriority@32473 class="high"]',
        dict(
            time=utc("2003-10-11 22:14:15.003"),
            host="mymachine.example.com",
            app="evntslog",
            pid=None,
            facility=20,
            severity=5,
            msgid="ID47",
            structured_data=SD_1 + '[examplePriority@32473 class="high"]',
            message="",
        ),
    ),
    # escaped '"' and ']' inside a parameter value; a +05:30 offset; nanoseconds kept
    (
        '<0>1 2024-02-29T23:59:59.123456789+05:30 h a 1 M [x@1 k="a\\"b\\]c" j=""] m',
        dict(
            time=utc("2024-02-29 18:29:59.123456789"),
            host="h",
            app="a",
            pid=1,
            facility=0,
            severity=0,
            msgid="M",
            structured_data='[x@1 k="a\\"b\\]c" j=""]',
            message="m",
        ),
    ),
    # a non-numeric PROCID is not a pid; PRI 191 is the largest
    (
        "<191>1 2024-01-01T00:00:00Z - - worker-1 - - ",
        dict(
            time=utc("2024-01-01"),
            host=None,
            app=None,
            pid=None,
            facility=23,
            severity=7,
            msgid=None,
            structured_data=None,
            message="",
        ),
    ),
]


@pytest.mark.parametrize(("line", "expected"), RFC5424_CASES)
def test_rfc5424(line, expected):
    assert parse_one(line) == expected


# RFC 3164 section 5.4: example 1; example 2 and 4 as a relay forwards them; example 3 as its
# grammar reads it (the "CST 1987" after the timestamp makes CST the HOSTNAME). Then what
# util-linux logger and rsyslog send: TAG[PID], no HOST (local socket), a space-padded day.
RFC3164_CASES = [
    (
        "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
        dict(
            time=utc("2025-10-11 22:14:15"),
            host="mymachine",
            app="su",
            pid=None,
            facility=4,
            severity=2,
            message="'su root' failed for lonvick on /dev/pts/8",
        ),
    ),
    (
        "<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!",
        dict(
            time=utc("2025-02-05 17:32:18"),
            host="10.0.0.99",
            app=None,
            pid=None,
            facility=1,
            severity=5,
            message="Use the BFG!",
        ),
    ),
    (
        "<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's time to make the do-nuts.",
        dict(
            time=utc("2025-08-24 05:34:00"),
            host="CST",
            app=None,
            pid=None,
            facility=20,
            severity=5,
            message="1987 mymachine myproc[10]: %% It's time to make the do-nuts.",
        ),
    ),
    (
        "<0>Oct 22 10:52:12 scapegoat 1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org "
        "10.1.2.3 sched[0]: That's All Folks!",
        dict(
            time=utc("2025-10-22 10:52:12"),
            host="scapegoat",
            app=None,
            pid=None,
            facility=0,
            severity=0,
            message="1990 Oct 22 10:52:01 TZ-6 "
            "scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!",
        ),
    ),
    (
        "<156>Nov 21 00:25:19 vm myapp[3523]: hello: world",
        dict(
            time=utc("2025-11-21 00:25:19"),
            host="vm",
            app="myapp",
            pid=3523,
            facility=19,
            severity=4,
            message="hello: world",
        ),
    ),
    (
        "<13>Nov  1 00:25:19 root: hello",
        dict(
            time=utc("2025-11-01 00:25:19"),
            host=None,
            app="root",
            pid=None,
            facility=1,
            severity=5,
            message="hello",
        ),
    ),
    (
        "<86>Jan  9 08:00:01 web-1.example.org postfix/smtpd[77]:",
        dict(
            time=utc("2025-01-09 08:00:01"),
            host="web-1.example.org",
            app="postfix/smtpd",
            pid=77,
            facility=10,
            severity=6,
            message="",
        ),
    ),
    (
        "<34>Oct 11 22:14:15 fe80::1",  # a HOST alone: an empty message
        dict(
            time=utc("2025-10-11 22:14:15"),
            host="fe80::1",
            app=None,
            pid=None,
            facility=4,
            severity=2,
            message="",
        ),
    ),
]


@pytest.mark.parametrize(("line", "expected"), RFC3164_CASES)
def test_rfc3164(fixed_now, line, expected):
    assert parse_one(line) == {**expected, "msgid": None, "structured_data": None}


@pytest.mark.parametrize(
    ("now", "stamp", "expected"),
    [
        ("2025-06-01 12:00", "Jun  1 11:00:00", "2025-06-01 11:00:00"),
        ("2025-06-01 12:00", "Jun  2 11:00:00", "2025-06-02 11:00:00"),  # < 1 day ahead
        ("2025-06-01 12:00", "Jun  2 12:00:01", "2024-06-02 12:00:01"),  # > 1 day ahead
        ("2025-01-01 00:00:05", "Dec 31 23:59:59", "2024-12-31 23:59:59"),  # New Year
        ("2024-03-01 00:00", "Feb 29 10:00:00", "2024-02-29 10:00:00"),  # leap day
    ],
)
def test_rfc3164_year(fixed_now, now, stamp, expected):
    fixed_now(utc(now))
    assert parse_one(f"<13>{stamp} host app: x")["time"] == utc(expected)


NOT_SYSLOG = "not RFC 5424 or RFC 3164 syslog"
BAD_CASES = [
    ("hello world", NOT_SYSLOG),
    ("Oct 11 22:14:15 mymachine su: no PRI", NOT_SYSLOG),
    ("<34>", NOT_SYSLOG),
    ("<34>Oct 11 22:14:15 ", NOT_SYSLOG),  # neither HOST nor TAG
    ("<34>Oct 11 22:14:15  extra space", NOT_SYSLOG),
    ("<1234>Oct 11 22:14:15 host su: x", NOT_SYSLOG),
    ("<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org sched[0]: x", NOT_SYSLOG),
    ("<13>2 2003-10-11T22:14:15Z host app - - - version 2", NOT_SYSLOG),
    ("<13>1 2003-10-11T22:14:15Z host app - - [unclosed sd", NOT_SYSLOG),
    ("<13>1 2003-10-11T22:14:15Z host app - - [a@1 k=v] unquoted", NOT_SYSLOG),
    ("<13>1 2003-10-11T22:14:15Z host app - -", NOT_SYSLOG),  # no STRUCTURED-DATA
    ("<13>1 2003-10-11T22:14:15Z hôst app - - - non-ASCII HOSTNAME", NOT_SYSLOG),
    ("<200>Oct 11 22:14:15 host su: x", "PRI 200 is out of range 0..191"),
    ("<192>1 2003-10-11T22:14:15Z host app - - - x", "PRI 192 is out of range 0..191"),
    ("<999>1 - host app - - - x", "PRI 999 is out of range 0..191"),
    (
        "<13>Foo 11 22:14:15 host su: x",
        "RFC 3164 timestamp 'Foo 11 22:14:15' is not a valid date and time",
    ),
    (
        "<13>Feb 30 22:14:15 host su: x",
        "RFC 3164 timestamp 'Feb 30 22:14:15' is not a valid date and time",
    ),
    (
        "<13>Feb 10 24:00:00 host su: x",
        "RFC 3164 timestamp 'Feb 10 24:00:00' is not a valid date and time",
    ),
    (
        "<13>1 2003-10-11T22:14:15 host app - - - no zone",
        "RFC 5424 timestamp '2003-10-11T22:14:15' is not a valid date and time with a zone",
    ),
    (
        "<13>1 2003-10-11 host app - - - date only",
        "RFC 5424 timestamp '2003-10-11' is not a valid date and time with a zone",
    ),
    (
        "<13>1 2003-13-11T22:14:15Z host app - - - month 13",
        "RFC 5424 timestamp '2003-13-11T22:14:15Z' is not a valid date and time with a zone",
    ),
    (
        "<13>1 yesterday host app - - - x",
        "RFC 5424 timestamp 'yesterday' is not a valid date and time with a zone",
    ),
    (
        "<13>1 - host app - - - nil time",
        "RFC 5424 timestamp is nil ('-'); an event time is required",
    ),
]


@pytest.mark.parametrize(("line", "reason"), BAD_CASES)
def test_bad_line(fixed_now, line, reason):
    raw = line.encode("utf-8")
    df, bad = SyslogParser().parse(raw + b"\n", origin="peer", offset=7)
    assert df is None
    assert [(d.raw, d.reason, d.origin, d.offset) for d in bad] == [(raw, reason, "peer", 7)]


def test_mixed_batch_keeps_order_and_offsets(fixed_now):
    lines = [
        b"<34>Oct 11 22:14:15 mymachine su: first",
        b"garbage",
        b"",
        b"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - second",
        b"<200>Oct 11 22:14:15 mymachine su: bad PRI",
        b"   ",
        b"<13>Feb 30 22:14:15 host su: bad date",
        b"<13>Oct 12 01:00:00 host app[5]: third\r",
    ]
    data = b"\n".join(lines) + b"\n"
    starts = [sum(len(x) + 1 for x in lines[:i]) for i in range(len(lines))]
    df, bad = SyslogParser().parse(data, origin="f.log", offset=1000)
    assert list(df.columns) == SYSLOG_COLUMNS
    assert df["message"].tolist() == ["first", "second", "third"]
    assert df["pid"].tolist() == [pd.NA, 8710, 5]
    assert df.attrs["time_column"] == "time"
    assert [(d.raw, d.offset, d.reason) for d in bad] == [
        (b"garbage", 1000 + starts[1], NOT_SYSLOG),
        (lines[4], 1000 + starts[4], "PRI 200 is out of range 0..191"),
        (
            lines[6],
            1000 + starts[6],
            "RFC 3164 timestamp 'Feb 30 22:14:15' is not a valid date and time",
        ),
    ]


def test_invalid_utf8_is_a_dead_letter_and_the_rest_parses(fixed_now):
    data = (
        b"<13>Oct 11 22:14:15 host a: caf\xc3\xa9\n"
        b"<13>Oct 11 22:14:15 host a: caf\xe9\n"
        b"junk\n"
        b"<13>1 2003-10-11T22:14:15Z host b - - - ok\r\n"
    )
    df, bad = SyslogParser().parse(data, origin="u", offset=10)
    assert df["message"].tolist() == ["café", "ok"]
    assert df["app"].tolist() == ["a", "b"]
    assert [(d.raw, d.offset, d.reason) for d in bad] == [
        (b"<13>Oct 11 22:14:15 host a: caf\xe9", 44, "invalid UTF-8 at byte 31"),
        (b"junk", 77, NOT_SYSLOG),
    ]


def test_schema_is_fixed_across_batches(fixed_now):
    p = make_parser("syslog")
    first, _ = p.parse(
        b"<13>Oct 11 22:14:15 host app: 42\n<13>Oct 11 22:14:16 h a: 7\n", origin="x"
    )
    second, _ = p.parse(
        b'<13>1 2003-10-11T22:14:15.5+02:00 h a 1 ID [x@1 k="v"] not a number\n', origin="x"
    )
    assert first["message"].tolist() == ["42", "7"]  # text stays text
    assert dict(first.dtypes) == dict(second.dtypes)
    assert str(first["time"].dtype) == "datetime64[ns, UTC]"
    assert str(first["pid"].dtype) == "Int64"
    assert first["facility"].dtype.kind == first["severity"].dtype.kind == "i"
    assert p.schema_changes == 0


@pytest.mark.parametrize("data", [b"", b"\n", b"\n  \n\r\n"])
def test_nothing_to_parse(data):
    assert SyslogParser().parse(data, origin="x") == (None, [])


def test_options():
    assert SyslogParser(time_column="time").time_column == "time"
    assert SyslogParser(time_column=None).time_column == "time"
    with pytest.raises(ConfigError, match=r"drop time_column='ts'"):
        SyslogParser(time_column="ts")
    with pytest.raises(ConfigError, match=r"drop time_unit='s', dtypes="):
        make_parser("syslog", time_unit="s", dtypes={"pid": "int64"})


# -- a real client: util-linux logger over UDP -----------------------------------------------


@pytest.mark.parametrize(
    ("flag", "tz", "text"),
    [
        # RFC 5424 carries its offset: send it from UTC+05:30 to check the conversion
        ("--rfc5424", "XYZ-05:30", "hello 5424"),
        # RFC 3164 carries local time without a zone: it is read as UTC, so send UTC
        ("--rfc3164", "UTC0", "hello 3164"),
    ],
)
def test_logger_datagrams(flag, tz, text):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(10)
        port = sock.getsockname()[1]
        cmd = [
            "logger",
            "-n",
            "127.0.0.1",
            "-P",
            str(port),
            "-d",
            flag,
            "-i",
            "-t",
            "myapp",
            "-p",
            "local3.warning",
            text,
        ]
        proc = subprocess.Popen(cmd, env={**os.environ, "TZ": tz}, stderr=subprocess.PIPE)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        datagram, _ = sock.recvfrom(65536)
    if flag == "--rfc5424":
        assert b"+05:30 " in datagram
    df, bad = SyslogParser().parse(datagram + b"\n", origin="udp")
    assert bad == []
    row = df.iloc[0]
    short = socket.gethostname().split(".")[0]
    assert row["host"].split(".")[0] == short
    assert (row["app"], row["pid"], row["facility"], row["severity"]) == ("myapp", proc.pid, 19, 4)
    assert row["message"] == text
    assert abs(row["time"] - pd.Timestamp.now(tz="UTC")) < pd.Timedelta(minutes=1)
    if flag == "--rfc5424":
        assert "timeQuality" in row["structured_data"]
    else:
        assert pd.isna(row["structured_data"])
