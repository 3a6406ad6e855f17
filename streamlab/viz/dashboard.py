"""``stream.dashboard(...)``: controls, live plots, counters and dead letters in one output.

The dashboard attaches a sink to each node it plots and keeps the batches by reference; one
task on the running loop (the kernel's, in a notebook) flushes them to the page at most
``fps`` times a second and refreshes the status line a few times a second. That task ends when
the stream's sources have finished and everything pending was sent, or when the dashboard is
closed, so nothing keeps running unseen. Running the notebook cell again closes the
dashboard that cell made before (and the cell's sources stop, as for any source).

BokehJS is put on the page inline (never from a CDN) the first time a dashboard is shown.

This module wires and paces; the parts live beside it: ``status`` (the counters, state and
dead letters, as text), ``layout`` (BokehJS, buttons, controls, the widget box), ``report``
(``save``) and ``plots``.

Examples
--------
>>> import streamlab
>>> src = streamlab.generate("sine", rows=2000, batch_rows=500)
>>> dash = src.dashboard()
>>> _ = streamlab.run(src)
>>> dash.refresh()
>>> len(dash.plots[0].sources["value"].data["x"]) <= dash.plots[0].rollover
True
>>> dash.status()["rows"]
2000
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import weakref
from pathlib import Path
from typing import Any

from streamz import Stream

from ..core.checks import check_number
from ..core.clock import resolve_clock
from ..core.graph import pipeline_nodes, sources_above
from ..core.lifecycle import cell_key
from ..core.registry import register_step
from ..core.source import BatchSource
from ..errors import ConfigError
from .controls import ParamControl
from .jupyter_bokeh_compat import ONE_WAY_TAG, one_way_bokeh_model
from .layout import (
    assemble,
    ensure_bokehjs,
    make_buttons,
    make_controls,
    walk,
)
from .pacing import PagePacer, refresh_loop
from .plots import Plot, as_plots
from .report import write_report
from .status import Status

__all__ = ["Dashboard", "dashboard", "ensure_bokehjs"]

_BY_CELL: dict[str, weakref.WeakSet] = {}


class Dashboard:
    """Controls, live plots, status, progress and dead letters for one stream.

    ``stream``: the node whose batches are plotted (its sources get the play/pause/step/stop
    buttons, the status line and the progress bar). ``plots``: a list of plots
    (:func:`~streamlab.viz.line`, ``histogram``, ``table``, ``metric``...), or column names
    (each a line), or ``None`` for one line plot of the numeric columns. ``fps``: the most page
    updates per second (default 40: more than a moving line needs to look smooth, and it leaves
    a busy page time to answer a click: on 2 cores, 60 gave 53 updates/s and Pause p99 109 ms,
    40 gave 40/s and 90 ms; ``benchmarks/README.md``); the page paces it lower when it is
    behind (``viz/pacing.py``). ``step_rows``: rows the Step button lets through. ``controls``:
    ``False`` for plots and status only. ``title``: a heading. ``live=False``: no refresher
    task; the page changes only when ``refresh()`` is called (scripts, reports, tests).
    ``clock``: paces the refresher and times the rows/s rate (the event loop's by default; a
    test passes a ``streamlab.core.clock.ManualClock``).

    Examples
    --------
    >>> import streamlab
    >>> from streamlab.viz import histogram, table
    >>> src = streamlab.replay(streamlab.datasets.path("sea_temperature"), speed=0)
    >>> dash = Dashboard(src, ["temperature_c", histogram("temperature_c"), table(3)], live=False)
    >>> list(dash.buttons), [type(p).__name__ for p in dash.plots]
    (['Play', 'Pause', 'Step', 'Stop'], ['TimeSeries', 'Histogram', 'Table'])
    >>> dash.status()["state"], dash.status()["progress"]
    ('not started', 0.0)
    >>> _ = streamlab.run(src)
    >>> dash.refresh()
    >>> dash.status()["state"], dash.status()["progress"], len(dash.plots[2].source.data["time"])
    ('finished', 1.0, 3)
    >>> dash.close()
    """

    def __init__(
        self,
        stream,
        plots=None,
        *,
        title: str | None = None,
        fps: float = 40.0,
        status_every: float = 0.25,
        step_rows: int = 100,
        controls: bool = True,
        dead_letters: int = 10,
        live: bool = True,
        clock=None,
    ) -> None:
        if not isinstance(stream, Stream):
            raise ConfigError(
                f"dashboard needs a streamz node (a streamlab source or step), not "
                f"{type(stream).__name__}; build one with streamlab.replay(...) or generate(...)"
            )
        self.stream = stream
        self.title = title
        self.fps = check_number("fps", fps, low=0, low_open=True, high=120)
        self.status_every = check_number("status_every", status_every, low=0, low_open=True)
        self.step_rows = check_number("step_rows", step_rows, low=1, integer=True)
        self.sources = sources_above(stream)
        self.plots: list[Plot] = as_plots(plots)
        self.closed = False
        self.live = bool(live)
        self.clock = resolve_clock(clock)
        self.flushes = 0
        self.pacer = PagePacer()  # .held: frames skipped because the page was behind
        self._eager = False  # flush the next batch as it arrives (after Play or Step)
        self._sinks: list = []
        self._task: asyncio.Task | None = None
        self._status = Status(self.sources, self.clock, dead_letters=dead_letters)
        self._attach()
        self.widget = None
        self._controls_on = controls
        self._build_widgets()
        self._register()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:  # in a notebook cell: refresh from now on (ends with the stream)
            if self.live:
                self.start()

    # -- wiring -----------------------------------------------------------------------------
    def _attach(self) -> None:
        by_node: dict[int, tuple] = {}
        for p in self.plots:
            node = p.on if p.on is not None else self.stream
            by_node.setdefault(id(node), (node, []))[1].append(p)
        for node, plots in by_node.values():
            sink = node.sink(self._feeder(plots))
            sink.reset = functools.partial(_clear, plots)  # a source started again: start afresh
            self._sinks.append(sink)
        for node in pipeline_nodes(self.stream):  # every dead-letter stream of the pipeline
            errors = getattr(node, "errors", None)
            if isinstance(errors, Stream) and not isinstance(node, BatchSource):
                self._sinks.append(errors.sink(self._status.note_errors))

    def _feeder(self, plots):
        def feed(df) -> None:
            for p in plots:
                p.push(df)
            if self._eager:  # the first batch after Play or Step: to the page now, not at
                self._eager = False  # the next frame (the click's answer)
                self.flush()
            if (self._task is None or self._task.done()) and self.live and not self.closed:
                self.start()  # data inside a running loop (streamlab.run, a script), or again

        return feed

    def _register(self) -> None:
        key = cell_key()
        if key is None:
            return
        for old in list(_BY_CELL.get(key, ())):
            if old is not self:
                old.close()
        _BY_CELL[key] = weakref.WeakSet([self])

    # -- widgets ----------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        import bokeh.plotting  # noqa: F401  (loaded here, not on the loop at the first flush)
        import ipywidgets as w

        self.message = w.HTML("")
        self.status_line = w.HTML("", layout=w.Layout(width="100%"))
        self.progress = None
        if any(getattr(s, "size", None) for s in self.sources):
            self.progress = w.FloatProgress(value=0.0, min=0.0, max=1.0, description="file")
        self.buttons: dict[str, Any] = {}
        self.controls: dict[str, ParamControl] = {}
        if self._controls_on and self.sources:
            self.buttons = make_buttons(
                {"Play": self.play, "Pause": self.pause, "Step": self.step, "Stop": self.stop}
            )
        if self._controls_on:
            self.controls = make_controls(self.stream, self.message)
        self.dead_view = w.HTML("")
        self.bokeh = None  # the BokehModel, made when first shown
        self._plot_box = w.VBox([])
        status_row = w.HBox([self.status_line] + ([self.progress] if self.progress else []))
        self.widget = assemble(
            [status_row, self.message, self._plot_box, self.dead_view],
            title=self.title,
            buttons=self.buttons,
            controls=self.controls,
        )
        self.update_status()

    def _bokeh_model(self):
        if self.bokeh is None:
            from bokeh.layouts import column

            layout = column(
                [p.model for p in self.plots], sizing_mode="stretch_width", tags=[ONE_WAY_TAG]
            )
            self.bokeh = one_way_bokeh_model()(layout)
            self.bokeh.clock = self.clock  # times the flushes the page has not answered
            self._plot_box.children = [self.bokeh]
        return self.bokeh

    def _ipython_display_(self) -> None:
        from IPython.display import display

        ensure_bokehjs()
        self._bokeh_model()
        display(self.widget)

    # -- buttons ----------------------------------------------------------------------------
    def play(self) -> None:
        """Resume paused sources; start sources that have not started."""
        self._eager = self.bokeh is not None  # (shown: the page waits for the click's answer)
        for s in self.sources:
            if not s.started:
                s.start()
            s.resume()
        if self._task is None:
            self.start()
        self.update_status()

    def pause(self) -> None:
        """Pause the sources, then send the rows they emitted before it at once (not at the
        next frame): the page's last update leaves with the click's answer."""
        for s in self.sources:
            s.pause()
        self.refresh()

    def step(self) -> None:
        """Let ``step_rows`` more rows through each source, then stay paused."""
        self._eager = self.bokeh is not None
        for s in self.sources:
            if not s.started:
                s.pause()
                s.start()
            s.step(self.step_rows)

    def stop(self) -> None:
        for s in self.sources:
            s.stop()
        self.update_status()

    # -- refreshing -------------------------------------------------------------------------
    def start(self) -> Dashboard:
        """Refresh the page from the running loop until the stream ends (or ``close()``)."""
        if self.closed or (self._task is not None and not self._task.done()):
            return self
        self._task = asyncio.get_running_loop().create_task(self._refresher())
        return self

    async def _refresher(self) -> None:
        await refresh_loop(self)

    def flush(self) -> int:
        """Send pending data to every plot; the number of plots that changed."""
        changed = 0
        hold = self.bokeh.one_message() if self.bokeh is not None else contextlib.nullcontext()
        with hold:  # the events of every plot go to the page as one message
            for p in self.plots:
                changed += p.flush()
        if changed:
            self.flushes += 1
        return changed

    def refresh(self) -> None:
        """Flush the plots and update the status line and dead letters now."""
        self.flush()
        self.update_status()

    @property
    def running(self) -> bool:
        """True while the refresher task is on the loop (a closed dashboard is not running)."""
        return not self.closed and self._task is not None and not self._task.done()

    async def wait(self, *, timeout: float = 30.0) -> None:
        """Wait until the refresher has ended (a moment after the sources finished, or at
        ``close()``). ``timeout`` (real seconds) only stops a wait that would never end."""
        task = self._task
        if task is not None and not task.done():
            await asyncio.wait([task], timeout=timeout)
            if not task.done():
                raise TimeoutError(f"the dashboard still refreshes after {timeout:g} s")

    # -- status -----------------------------------------------------------------------------
    def status(self) -> dict:
        """The counters the status line shows, summed over the stream's sources."""
        return self._status.counts(state=self._state())

    def _state(self) -> str:
        """The state shown (one place: a subclass may show another)."""
        return self._status.state()

    def update_status(self) -> None:
        """Show the status line, the progress and the dead letters as they are now."""
        st = self.status()
        hidden = sum(len(getattr(p, "hidden_keys", ())) for p in self.plots)
        self.status_line.value = self._status.line(st, hidden=hidden)
        if self.progress is not None and st["progress"] is not None:
            self.progress.value = st["progress"]
        self.dead_view.value = self._status.dead_html()

    # -- the end ----------------------------------------------------------------------------
    def close(self) -> None:
        """Stop refreshing, detach from the stream, close the widgets (the sources go on)."""
        if self.closed:
            return
        self.closed = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
        for s in self._sinks:
            s.destroy()
        self._sinks.clear()
        for c in self.controls.values():
            c.close()
        if self.widget is not None:
            for child in walk(self.widget):
                child.close()

    def save(self, path, *, notes: str = "") -> Path:
        """Write a static HTML snapshot (BokehJS inline: it opens offline); return the path.

        ``notes``: HTML put under the title (what the data is, where it comes from), as
        written: escape (``html.escape``) anything in it that came from the stream. Everything
        else the report shows from the stream (column names, keys, values, dead letters, the
        status line) is escaped here or drawn as text."""
        self.refresh()
        return write_report(
            path,
            self.plots,
            title=self.title or "streamlab dashboard",
            notes=notes,
            status_html=self.status_line.value,
            dead_html=self._status.dead_html(),
        )

    def __repr__(self) -> str:
        return f"<Dashboard of {self.stream}: {len(self.plots)} plots, {self._state()}>"


def _clear(plots: list[Plot]) -> None:
    for p in plots:
        p.clear()


@register_step(kind="sink")
def dashboard(self, plots=None, **kwargs) -> Dashboard:
    """``stream.dashboard(...)``: a :class:`Dashboard` of this stream.

    Examples
    --------
    >>> import pandas as pd
    >>> from streamz import Stream
    >>> src = Stream()
    >>> dash = src.dashboard(["v"], live=False, title="plain streamz")
    >>> src.emit(pd.DataFrame({"v": [1.0, 2.0]}))
    >>> dash.refresh()
    >>> dash.plots[0].sources["v"].data["y"].tolist(), dash.status()["state"]
    ([1.0, 2.0], 'no source')
    """
    return Dashboard(self, plots, **kwargs)
