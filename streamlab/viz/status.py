"""What a dashboard says about its stream: the counters summed over the sources (rows, rate,
lag, buffered, dropped, bad), the state (running, paused, finished...), the progress through
files, and the latest dead letters, as escaped HTML. Plain code: no widgets, no bokeh.

Examples
--------
>>> import streamlab
>>> from streamlab.core.clock import ManualClock
>>> src = streamlab.generate("noise", rows=300, batch_rows=100)
>>> status = Status([src], ManualClock())
>>> status.state()
'not started'
>>> _ = streamlab.run(src)
>>> counts = status.counts()
>>> counts["rows"], counts["state"]
(300, 'finished')
>>> "rows 300" in status.line()
True
"""

from __future__ import annotations

import collections
import html
from typing import Any

import pandas as pd

__all__ = ["Status", "fmt_duration", "fmt_rate", "raw_text"]


def fmt_rate(n: float) -> str:
    """A rate for the status line: ``950``, ``12.3k``, ``1.02M``.

    Examples
    --------
    >>> fmt_rate(950), fmt_rate(12_345), fmt_rate(1_024_000)
    ('950', '12.3k', '1.02M')
    """
    if n >= 1e6:
        return f"{n / 1e6:.2f}M"
    if n >= 1e3:
        return f"{n / 1e3:.1f}k"
    return f"{n:.0f}"


def fmt_duration(s: float) -> str:
    """A lag for the status line: ``12 ms``, ``3.4 s``, ``5.0 min``, ``3.1 h``, ``402 days``.

    Examples
    --------
    >>> fmt_duration(0.012), fmt_duration(300), fmt_duration(402 * 86_400)
    ('12 ms', '5.0 min', '402 days')
    """
    if s < 1:
        return f"{s * 1e3:.0f} ms"
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    if s < 172_800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86_400:,.0f} days"


def raw_text(value: Any) -> str:
    """The start of a dead letter's raw record, as text (bytes decoded, undecodable escaped)."""
    if isinstance(value, bytes | bytearray):
        text = bytes(value[:120]).decode("utf-8", "backslashreplace")
    else:
        text = str(value)[:120]
    return text


class Status:
    """The counters, state, progress and dead letters of ``sources`` (streamlab sources), plus
    the dead letters noted from steps' ``.errors`` streams (:meth:`note_errors`). ``clock``
    times the rows/s rate between two status lines; ``dead_letters``: how many are shown."""

    def __init__(self, sources: list, clock: Any, *, dead_letters: int = 10) -> None:
        self.sources = sources
        self.clock = clock
        self._rate: tuple[float, int] | None = None
        self._errors: collections.deque = collections.deque(maxlen=dead_letters)
        self._error_count = 0

    def note_errors(self, df: Any) -> None:
        """Keep a step's rejected rows (a frame from its ``.errors`` stream) as dead letters."""
        if isinstance(df, pd.DataFrame):
            self._error_count += len(df)
            for row in df.tail(self._errors.maxlen).itertuples(index=False):
                d = row._asdict()
                self._errors.append(
                    (str(d.get("origin", "")), str(d.get("reason", "")), raw_text(d.get("raw", d)))
                )

    def counts(self, *, state: str | None = None) -> dict:
        """The counters the status line shows, summed over the sources; ``state``: the state
        to show (default: :meth:`state`)."""
        state = self.state() if state is None else state
        rows = sum(s.stats.rows for s in self.sources)
        now = self.clock.now()
        rate = None
        if self._rate is not None and now > self._rate[0] and state == "running":
            rate = (rows - self._rate[1]) / (now - self._rate[0])
        lags = [s.stats.lag for s in self.sources if s.stats.lag is not None]
        return {
            "rows": rows,
            "rows_per_s": rate,
            "lag": max(lags) if lags else None,
            "buffered": sum(getattr(s, "buffered", 0) for s in self.sources),
            "dropped": sum(s.stats.dropped for s in self.sources),
            "bad": sum(s.stats.bad for s in self.sources) + self._error_count,
            "state": state,
            "progress": self.progress(),
        }

    def state(self) -> str:
        """``no source``, ``failed``, ``finished``, ``paused``, ``not started`` or ``running``."""
        if not self.sources:
            return "no source"
        if any(s.exception is not None for s in self.sources):
            return "failed"
        if all(s.started and not s.running for s in self.sources):
            return "finished"
        if any(s.paused for s in self.sources):
            return "paused"
        if not any(s.started for s in self.sources):
            return "not started"
        return "running"

    def progress(self) -> float | None:
        """How far through their files the file sources are (0..1; ``None``: no file): each
        file's own ``progress`` (rows emitted, by their bytes), weighted by its size."""
        files = [s for s in self.sources if getattr(s, "size", None)]
        if not files:
            return None
        return min(1.0, sum(s.progress * s.size for s in files) / sum(s.size for s in files))

    def line(self, st: dict | None = None, *, hidden: int = 0) -> str:
        """The status line as HTML, from ``st`` (default: :meth:`counts` now); the rate of the
        next line is measured from this one. ``hidden``: keys the plots did not draw."""
        st = self.counts() if st is None else st
        self._rate = (self.clock.now(), st["rows"])
        parts = [
            f"rows {st['rows']:,}",
            "rows/s " + ("–" if st["rows_per_s"] is None else fmt_rate(st["rows_per_s"])),
            "lag " + ("–" if st["lag"] is None else fmt_duration(st["lag"])),
            f"buffered {st['buffered']:,}",
            f"dropped {st['dropped']:,}",
            f"bad {st['bad']:,}",
        ]
        if hidden:
            parts.append(f"{hidden} keys not drawn")
        # every part is text (escaped), whatever a source or plot put in it
        return (
            "<span class='streamlab-status' style='font-family:monospace'>"
            f"<b>{html.escape(str(st['state']))}</b> · "
            + " · ".join(html.escape(str(part)) for part in parts)
            + "</span>"
        )

    def letters(self) -> list[tuple[str, str, str]]:
        """The latest dead letters (origin, reason, raw), oldest first."""
        keep = self._errors.maxlen or 0
        out = []
        for s in self.sources:
            for d in list(s.recent_errors)[-keep:]:
                out.append((str(d.origin), str(d.reason), raw_text(d.raw)))
        return (out + list(self._errors))[-keep:]

    def dead_html(self) -> str:
        """The dead letters as an HTML table, newest first (``""``: none)."""
        letters = self.letters()
        if not letters:
            return ""
        rows = "".join(
            f"<tr><td>{html.escape(o)}</td><td>{html.escape(r)}</td><td><code>"
            f"{html.escape(raw)}</code></td></tr>"
            for o, r, raw in reversed(letters)
        )
        return (
            "<details class='streamlab-dead'><summary>dead letters (newest first)</summary>"
            "<table><tr><th>origin</th><th>reason</th><th>raw</th></tr>"
            f"{rows}</table></details>"
        )
