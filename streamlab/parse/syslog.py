"""Syslog lines into batches: RFC 5424 and RFC 3164 (BSD), one regex pass per format.

One record is one line (a UDP datagram is one line). A batch is decoded once and each format
is matched with one vectorised ``Series.str.extract``; Python loops only over the bad lines.

Time policy, stated once. RFC 5424 timestamps carry a zone: they are converted to UTC and keep
their fractional seconds. A nil RFC 5424 timestamp (``-``) is a dead letter, since every row
needs an event time. RFC 3164 timestamps (``Oct 11 22:14:15``) have neither year nor zone: they
are read as **UTC** in the **current UTC year**, or in the previous year if that would put them
more than a day in the future (a December message read in January).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from ..core.deadletter import DeadLetter
from ..errors import ConfigError
from .base import Parser
from .framing import LineFinder

__all__ = ["SYSLOG_COLUMNS", "SyslogParser"]

#: The columns of every syslog batch, in order (``msgid``, ``structured_data``: RFC 5424 only).
SYSLOG_COLUMNS = [
    "time",
    "host",
    "app",
    "pid",
    "facility",
    "severity",
    "message",
    "msgid",
    "structured_data",
]

_SD_NAME = r"[!#-<>-\\^-~]{1,32}"  # PRINTUSASCII except '"', '=' and ']'
_SD_ELEMENT = rf'\[{_SD_NAME}(?: {_SD_NAME}="(?:[^"\\]|\\.)*")*\]'
RFC5424 = re.compile(
    r"^<(?P<pri>\d{1,3})>1 (?P<ts>\S+) (?P<host>[!-~]{1,255}) (?P<app>[!-~]{1,48}) "
    rf"(?P<pid>[!-~]{{1,128}}) (?P<msgid>[!-~]{{1,32}}) (?P<sd>-|(?:{_SD_ELEMENT})+)"
    r"(?: \ufeff?(?P<msg>.*))?$"
)
RFC3164 = re.compile(
    r"^<(?P<pri>\d{1,3})>(?P<ts>(?P<mon>[A-Z][a-z]{2}) (?P<day> ?\d|\d\d) "
    r"(?P<hms>\d\d:\d\d:\d\d)) "
    r"(?:(?P<host>[^\s\[\]]*[^\s\[\]:])(?: |$))?"  # a HOST may be left out before "TAG:"
    r"(?:(?P<app>[^\s\[\]:]{1,48})(?:\[(?P<pid>\d{1,10})\])?:(?: |$))?"
    r"(?P<msg>.*)$"
)
_TS5424 = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)"
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_MONTH_NUMBERS = {name: f"{i:02d}" for i, name in enumerate(_MONTHS, 1)}
_FIELDS = ["pri", "time", "host", "app", "pid", "message", "msgid", "structured_data", "ts"]
NOT_SYSLOG = "not RFC 5424 or RFC 3164 syslog"


def _utcnow() -> pd.Timestamp:
    """The clock RFC 3164 years are resolved against (tests replace it)."""
    return pd.Timestamp.now(tz="UTC")


class SyslogParser(Parser):
    """Parse RFC 5424 and RFC 3164 syslog lines into :data:`SYSLOG_COLUMNS`.

    ``time`` is ``datetime64[ns, UTC]`` (see the module docstring for the time policy),
    ``pid`` is nullable ``Int64`` (missing when absent or not a number), ``facility`` and
    ``severity`` are ``PRI // 8`` and ``PRI % 8``; nil (``-``) or absent text fields are missing.
    The schema is fixed: the time column is always ``time`` and text stays text.

    Examples
    --------
    >>> df, bad = SyslogParser().parse(
    ...     b"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - It's time\\n"
    ...     b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed\\n"
    ...     b"\\n<200>Oct 11 22:14:15 mymachine su: bad\\nhello\\n", origin="doc")
    >>> df[["host", "app", "pid", "facility", "severity", "message"]]
            host     app  pid  facility  severity             message
    0  192.0.2.1  myproc  8710        20         5           It's time
    1  mymachine      su  <NA>         4         2  'su root' failed
    >>> [str(t) for t in df["time"]]  # the RFC 3164 line is in this year (or last)
    ['2003-08-24 12:14:15.000003+00:00', '...-10-11 22:14:15+00:00']
    >>> [(b.offset, b.reason) for b in bad]
    [(128, 'PRI 200 is out of range 0..191'), (167, 'not RFC 5424 or RFC 3164 syslog')]
    """

    format = "syslog"

    def __init__(
        self,
        *,
        time_column: str | None = "time",
        time_unit: str | None = None,
        time_format: str | None = None,
        dtypes: dict | None = None,
    ) -> None:
        given = {"time_unit": time_unit, "time_format": time_format, "dtypes": dtypes}
        wrong = {k: v for k, v in given.items() if v}
        if time_column not in (None, "time"):
            wrong["time_column"] = time_column
        if wrong:
            named = ", ".join(f"{k}={v!r}" for k, v in wrong.items())
            raise ConfigError(
                f"the syslog format has a fixed schema with its event time in 'time'; drop {named}",
                param=next(iter(wrong)),
                value=next(iter(wrong.values())),
            )
        super().__init__(time_column="time")

    def _infer_schema(self, df: pd.DataFrame) -> dict:
        """The syslog schema is fixed: no sniffing (all-number messages stay text)."""
        return dict(df.dtypes)

    def _parse(
        self, data: bytes, origin: str, offset: int
    ) -> tuple[pd.DataFrame | None, LineFinder | None, list[DeadLetter]]:
        bad: list[DeadLetter] = []
        starts, ends = _line_bounds(data)

        def line(i: int) -> tuple[bytes, int]:
            return data[starts[i] : ends[i]].rstrip(b"\r"), offset + int(starts[i])

        try:
            lines = _split(data.decode("utf-8"))
            index = np.arange(len(lines))
        except UnicodeDecodeError:
            lines, index = _decode_lines(data, starts, ends, bad, origin, line)
        if not lines:
            return None, None, bad
        rows, reasons = _fields(pd.Series(lines), _utcnow())
        for pos, reason in reasons.items():
            raw, off = line(int(index[pos]))
            bad.append(DeadLetter(raw=raw, reason=reason, origin=origin, offset=off))
        if not len(rows):
            return None, None, bad
        keep = index[rows.index.to_numpy()]
        return _frame(rows), lambda positions: [line(int(keep[p])) for p in positions], bad


def _line_bounds(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive, before the newline) byte positions of every line."""
    ends = np.flatnonzero(np.frombuffer(data, np.uint8) == 10)
    if not data.endswith(b"\n"):
        ends = np.append(ends, len(data))
    return np.concatenate(([0], ends[:-1] + 1)), ends


def _split(text: str) -> list[str]:
    """Lines without their ``\\n`` or ``\\r\\n`` (the byte offsets come from the raw data)."""
    lines = text.replace("\r\n", "\n").split("\n")
    if text.endswith("\n"):
        lines.pop()
    return lines


def _decode_lines(
    data: bytes,
    starts: np.ndarray,
    ends: np.ndarray,
    bad: list[DeadLetter],
    origin: str,
    line: Callable[[int], tuple[bytes, int]],
) -> tuple[list[str], np.ndarray]:
    """Slow path for a batch with invalid UTF-8: decode line by line."""
    lines, index = [], []
    for i, (s, e) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        try:
            lines.append(data[s:e].decode("utf-8").removesuffix("\r"))
            index.append(i)
        except UnicodeDecodeError as exc:
            raw, off = line(i)
            reason = f"invalid UTF-8 at byte {exc.start}"
            bad.append(DeadLetter(raw=raw, reason=reason, origin=origin, offset=off))
    return lines, np.array(index, dtype=np.int64)


def _fields(s: pd.Series, now: pd.Timestamp) -> tuple[pd.DataFrame, dict[int, str]]:
    """The good rows' fields (indexed by line position) and a reason for every bad line."""
    m5 = s.str.extract(RFC5424)
    is5 = m5["pri"].notna().to_numpy(dtype=bool)
    m3 = s[~is5].str.extract(RFC3164)
    m3 = m3[(m3["host"].notna() | m3["app"].notna()).to_numpy(dtype=bool)]
    parts = [f for f in (_rfc5424(m5[is5]), _rfc3164(m3, now)) if len(f)]
    rows = pd.concat(parts).sort_index() if parts else pd.DataFrame(columns=_FIELDS)
    reasons: dict[int, str] = {}
    unmatched = s.index.difference(rows.index)
    blank = (s.loc[unmatched].str.strip() == "").to_numpy(dtype=bool)
    for pos in unmatched[~blank].tolist():
        reasons[pos] = NOT_SYSLOG
    pri = pd.to_numeric(rows["pri"]).astype("int64")
    for pos, value in pri[pri > 191].items():
        reasons[pos] = f"PRI {value} is out of range 0..191"
    for pos, ts in rows["ts"][rows["time"].isna()].items():
        reasons.setdefault(pos, _time_reason(ts))
    rows = rows.assign(pri=pri).drop(index=list(reasons), errors="ignore")
    return rows, dict(sorted(reasons.items()))


def _time_reason(ts: str) -> str:
    if ts == "-":
        return "RFC 5424 timestamp is nil ('-'); an event time is required"
    if " " in ts:  # only RFC 3164 timestamps have spaces
        return f"RFC 3164 timestamp {ts!r} is not a valid date and time"
    return f"RFC 5424 timestamp {ts!r} is not a valid date and time with a zone"


def _rfc5424(m: pd.DataFrame) -> pd.DataFrame:
    valid = m["ts"].str.fullmatch(_TS5424).to_numpy(dtype=bool)
    time = pd.to_datetime(m["ts"].where(valid), format="ISO8601", utc=True, errors="coerce")
    nil = {col: _nil(m[col]) for col in ("host", "app", "msgid", "sd")}
    f = m.assign(time=time.dt.as_unit("ns"), message=m["msg"].fillna(""), **nil)
    return f.rename(columns={"sd": "structured_data"})[_FIELDS]


def _rfc3164(m: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
    stamp = m["mon"].map(_MONTH_NUMBERS) + "-" + m["day"].str.strip().str.zfill(2) + " " + m["hms"]
    time = _at_year(stamp, now.year)
    future = (time > now + pd.Timedelta(days=1)).to_numpy(dtype=bool)
    if future.any():
        time = time.mask(future, _at_year(stamp, now.year - 1))
    missing = pd.Series(np.nan, index=m.index, dtype=m["msg"].dtype)
    return m.assign(time=time, message=m["msg"], msgid=missing, structured_data=missing)[_FIELDS]


def _at_year(stamp: pd.Series, year: int) -> pd.Series:
    return pd.to_datetime(
        f"{year}-" + stamp, format="%Y-%m-%d %H:%M:%S", utc=True, errors="coerce"
    ).dt.as_unit("ns")


def _nil(values: pd.Series) -> pd.Series:
    """RFC 5424's NILVALUE ``-`` becomes missing."""
    return values.where(values != "-")


def _frame(rows: pd.DataFrame) -> pd.DataFrame:
    number = rows["pid"].str.fullmatch(r"\d{1,10}").to_numpy(dtype=bool, na_value=False)
    pid = pd.to_numeric(rows["pid"].where(number)).astype("Int64")
    f = rows.assign(pid=pid, facility=rows["pri"] // 8, severity=rows["pri"] % 8)
    return f[SYSLOG_COLUMNS].reset_index(drop=True)
