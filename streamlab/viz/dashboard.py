"""``stream.dashboard(...)``: controls, live plots, counters and dead letters in one output.

The dashboard attaches a sink to each node it plots and keeps the batches by reference; one
task on the running loop (the kernel's, in a notebook) flushes them to the page at most
``fps`` times a second and refreshes the status line a few times a second. That task ends when
the stream's sources have finished and everything pending was sent, or when the dashboard is
closed, so nothing keeps running unseen. Running the notebook cell again closes the
dashboard that cell made before (and the cell's sources stop, as for any source).

BokehJS is put on the page inline (never from a CDN) the first time a dashboard is shown.

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
import collections
import functools
import html
import weakref
from pathlib import Path

import pandas as pd
from streamz import Stream

from ..core.checks import check_number
from ..core.clock import resolve_clock
from ..core.graph import pipeline_nodes, sources_above
from ..core.lifecycle import cell_key
from ..core.params import tunable_nodes
from ..core.registry import register_step
from ..core.source import BatchSource
from ..errors import ConfigError
from .controls import ParamControl
from .plots import Plot, line

__all__ = ["Dashboard", "dashboard"]

_BOKEHJS_SHOWN = False
#: a dashboard without streamlab sources stops refreshing after this long without data (the
#: next batch starts it again)
IDLE_SECONDS = 2.0
_BY_CELL: dict[str, weakref.WeakSet] = {}


def ensure_bokehjs(*, force: bool = False) -> None:
    """Put BokehJS on the page, inline, once per kernel (jupyter_bokeh needs it there).

    ``force=True`` sends it again: after reloading the browser page of an unsaved notebook,
    the page has lost it while the kernel thinks it is there."""
    global _BOKEHJS_SHOWN
    if _BOKEHJS_SHOWN and not force:
        return
    from bokeh.io import output_notebook
    from bokeh.resources import INLINE

    output_notebook(INLINE, hide_banner=True)
    _BOKEHJS_SHOWN = True


def _fmt(n: float) -> str:
    """A rate for the status line: ``950``, ``12.3k``, ``1.02M``."""
    if n >= 1e6:
        return f"{n / 1e6:.2f}M"
    if n >= 1e3:
        return f"{n / 1e3:.1f}k"
    return f"{n:.0f}"


def _duration(s: float) -> str:
    """A lag for the status line: ``12 ms``, ``3.4 s``, ``5.0 min``, ``3.1 h``, ``402 days``."""
    if s < 1:
        return f"{s * 1e3:.0f} ms"
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    if s < 172_800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86_400:,.0f} days"


class Dashboard:
    """Controls, live plots, status, progress and dead letters for one stream.

    ``stream``: the node whose batches are plotted (its sources get the play/pause/step/stop
    buttons, the status line and the progress bar). ``plots``: a list of plots
    (:func:`~streamlab.viz.line`, ``histogram``, ``table``, ``metric``...), or column names
    (each a line), or ``None`` for one line plot of the numeric columns. ``fps``: the most page
    updates per second. ``step_rows``: rows the Step button lets through. ``controls``:
    ``False`` for plots and status only. ``title``: a heading. ``live=False``: no refresher
    task; the page changes only when ``refresh()`` is called (scripts, reports, tests).
    ``clock``: paces the refresher and times the rows/s rate (the event loop's by default; a
    test passes a ``streamlab.core.clock.ManualClock``).
    """

    def __init__(
        self,
        stream,
        plots=None,
        *,
        title: str | None = None,
        fps: float = 30.0,
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
        self.plots: list[Plot] = self._plots(plots)
        self.closed = False
        self.live = bool(live)
        self.clock = resolve_clock(clock)
        self.flushes = 0
        self._sinks: list = []
        self._task: asyncio.Task | None = None
        self._rate: tuple[float, int] | None = None
        self._errors: collections.deque = collections.deque(maxlen=dead_letters)
        self._error_count = 0
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
    def _plots(self, plots) -> list[Plot]:
        if plots is None:
            plots = [line()]
        elif isinstance(plots, str | Plot):
            plots = [plots]
        out = []
        for p in plots:
            if isinstance(p, str):
                p = line(p)
            if not isinstance(p, Plot):
                raise ConfigError(
                    f"plots= takes plots (streamlab.viz.line(...), histogram(...), table(), "
                    f"metric(node)) or column names, not {p!r}"
                )
            out.append(p)
        return out

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
                self._sinks.append(errors.sink(self._note_errors))

    def _feeder(self, plots):
        def feed(df) -> None:
            for p in plots:
                p.push(df)
            if (self._task is None or self._task.done()) and self.live and not self.closed:
                self.start()  # data inside a running loop (streamlab.run, a script), or again

        return feed

    def _note_errors(self, df) -> None:
        if isinstance(df, pd.DataFrame):
            self._error_count += len(df)
            for row in df.tail(self._errors.maxlen).itertuples(index=False):
                d = row._asdict()
                self._errors.append(
                    (str(d.get("origin", "")), str(d.get("reason", "")), _raw(d.get("raw", d)))
                )

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
        files = [s for s in self.sources if getattr(s, "size", None)]
        if files:
            self.progress = w.FloatProgress(value=0.0, min=0.0, max=1.0, description="file")
        self.buttons = {}
        self.controls: dict[str, ParamControl] = {}
        if self._controls_on and self.sources:
            for name, icon, action in (
                ("Play", "play", self.play),
                ("Pause", "pause", self.pause),
                ("Step", "step-forward", self.step),
                ("Stop", "stop", self.stop),
            ):
                b = w.Button(description=name, icon=icon, layout=w.Layout(width="90px"))
                b.on_click(lambda _b, f=action: f())
                self.buttons[name] = b
        if self._controls_on:
            nodes = tunable_nodes(self.stream)
            names = [n for node in nodes for n in node.params()]
            for node in nodes:
                for name, param in node.params().items():
                    label = name if names.count(name) == 1 else f"{node}.{name}"
                    self.controls[label] = ParamControl(
                        node, param, label=label, message=self.message
                    )
        self.dead_view = w.HTML("")
        self.bokeh = None  # the BokehModel, made when first shown
        rows = []
        if self.title:
            rows.append(w.HTML(f"<h3>{html.escape(self.title)}</h3>"))
        if self.buttons:
            rows.append(w.HBox(list(self.buttons.values())))
        if self.controls:
            rows.append(w.HBox([c.box for c in self.controls.values()], layout=_wrap()))
        rows.append(w.HBox([self.status_line] + ([self.progress] if self.progress else [])))
        rows.append(self.message)
        self._plot_box = w.VBox([])
        rows.append(self._plot_box)
        rows.append(self.dead_view)
        self.widget = w.VBox(rows)
        self.update_status()

    def _bokeh_model(self):
        if self.bokeh is None:
            from bokeh.layouts import column

            layout = column([p.model for p in self.plots], sizing_mode="stretch_width")
            self.bokeh = _one_way_bokeh_model()(layout)
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
        for s in self.sources:
            if not s.started:
                s.start()
            s.resume()
        if self._task is None:
            self.start()
        self.update_status()

    def pause(self) -> None:
        for s in self.sources:
            s.pause()
        self.update_status()

    def step(self) -> None:
        """Let ``step_rows`` more rows through each source, then stay paused."""
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
        period = 1.0 / self.fps
        next_status = 0.0
        idle_since = None
        clock = self.clock
        due = clock.now()
        while not self.closed:
            # a fixed cadence: the flush's own time is not added to the period (after an
            # overrun, start again from now rather than bursting to catch up)
            due = max(due + period, clock.now())
            await clock.sleep(due - clock.now())
            self.flush()
            now = clock.now()
            if now >= next_status:
                self.update_status()
                next_status = now + self.status_every
            if self.sources:  # ends a moment after the sources finished (a last flush)
                idle = all(s.started and not s.running for s in self.sources)
                patience = 2 * period
            else:  # fed by plain streamz nodes: rests when nothing came for a while
                idle = not any(p._pending for p in self.plots)
                patience = IDLE_SECONDS
            if not idle:
                idle_since = None
                continue
            idle_since = now if idle_since is None else idle_since
            if now - idle_since > patience:
                self.refresh()
                return

    def flush(self) -> int:
        """Send pending data to every plot; the number of plots that changed."""
        changed = 0
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
        rows = sum(s.stats.rows for s in self.sources)
        now = self.clock.now()
        rate = None
        if self._rate is not None and now > self._rate[0] and self._state() == "running":
            rate = (rows - self._rate[1]) / (now - self._rate[0])
        lags = [s.stats.lag for s in self.sources if s.stats.lag is not None]
        return {
            "rows": rows,
            "rows_per_s": rate,
            "lag": max(lags) if lags else None,
            "buffered": sum(getattr(s, "buffered", 0) for s in self.sources),
            "dropped": sum(s.stats.dropped for s in self.sources),
            "bad": sum(s.stats.bad for s in self.sources) + self._error_count,
            "state": self._state(),
            "progress": self._progress(),
        }

    def _state(self) -> str:
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

    def _progress(self) -> float | None:
        files = [s for s in self.sources if getattr(s, "size", None)]
        if not files:
            return None
        return min(1.0, sum(s.position for s in files) / sum(s.size for s in files))

    def update_status(self) -> None:
        st = self.status()
        now = self.clock.now()
        self._rate = (now, st["rows"])
        parts = [
            f"rows {st['rows']:,}",
            "rows/s " + ("–" if st["rows_per_s"] is None else _fmt(st["rows_per_s"])),
            "lag " + ("–" if st["lag"] is None else _duration(st["lag"])),
            f"buffered {st['buffered']:,}",
            f"dropped {st['dropped']:,}",
            f"bad {st['bad']:,}",
        ]
        hidden = sum(len(getattr(p, "hidden_keys", ())) for p in self.plots)
        if hidden:
            parts.append(f"{hidden} keys not drawn")
        # every part is text (escaped), whatever a source or plot put in it
        self.status_line.value = (
            "<span class='streamlab-status' style='font-family:monospace'>"
            f"<b>{html.escape(str(st['state']))}</b> · "
            + " · ".join(html.escape(str(part)) for part in parts)
            + "</span>"
        )
        if self.progress is not None and st["progress"] is not None:
            self.progress.value = st["progress"]
        self.dead_view.value = self._dead_html()

    def _letters(self) -> list[tuple[str, str, str]]:
        out = []
        for s in self.sources:
            for d in list(s.recent_errors)[-self._errors.maxlen :]:
                out.append((str(d.origin), str(d.reason), _raw(d.raw)))
        return (out + list(self._errors))[-self._errors.maxlen :]

    def _dead_html(self) -> str:
        letters = self._letters()
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
            for child in _walk(self.widget):
                child.close()

    def save(self, path, *, notes: str = "") -> Path:
        """Write a static HTML snapshot (BokehJS inline: it opens offline); return the path.

        ``notes``: HTML put under the title (what the data is, where it comes from), as
        written: escape (``html.escape``) anything in it that came from the stream. Everything
        else the report shows from the stream (column names, keys, values, dead letters, the
        status line) is escaped here or drawn as text."""
        from bokeh.embed import file_html
        from bokeh.layouts import column
        from bokeh.models import Div
        from bokeh.resources import INLINE

        self.refresh()
        path = Path(path)
        title = self.title or "streamlab dashboard"
        head = f"<h2>{html.escape(title)}</h2>{notes}<p>{self.status_line.value}</p>"
        parts = [Div(text=head, sizing_mode="stretch_width")]
        parts += [m for m in (p.snapshot() for p in self.plots) if m is not None]
        dead = self._dead_html().replace("<details ", "<details open ")
        if dead:
            parts.append(Div(text=dead, sizing_mode="stretch_width"))
        layout = column(parts, sizing_mode="stretch_width")
        path.write_text(file_html(layout, resources=INLINE, title=title), encoding="utf-8")
        return path

    def __repr__(self) -> str:
        return f"<Dashboard of {self.stream}: {len(self.plots)} plots, {self._state()}>"


@functools.cache
def _one_way_bokeh_model():
    """jupyter_bokeh's ``BokehModel``, one way: the kernel's changes go to the page, the page's
    document events are not applied back (bokeh events such as ``document_ready`` still are).

    jupyter_bokeh 4.1 echoes to the kernel the events its own patches caused in the page, and
    the echo is stale: after a flush that added two renderers (say the anomaly markers, then
    the line) the page sends back ``figure.renderers = [markers]``; applying it drops the line's
    renderer and its ColumnDataSource from the document, so that series never updates again.
    The dashboard needs nothing from the page's document (zoom and pan stay in the page)."""
    from jupyter_bokeh import BokehModel

    class OneWayBokehModel(BokehModel):
        def _sync_model(self, model, content, buffers) -> None:
            if content.get("kind") == "MessageSent":
                super()._sync_model(model, content, buffers)

    return OneWayBokehModel


def _clear(plots) -> None:
    for p in plots:
        p.clear()


def _raw(value) -> str:
    if isinstance(value, bytes | bytearray):
        text = bytes(value[:120]).decode("utf-8", "backslashreplace")
    else:
        text = str(value)[:120]
    return text


def _wrap():
    import ipywidgets as w

    return w.Layout(flex_flow="row wrap")


def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


@register_step(kind="sink")
def dashboard(self, plots=None, **kwargs) -> Dashboard:
    """``stream.dashboard(...)``: a :class:`Dashboard` of this stream."""
    return Dashboard(self, plots, **kwargs)
