"""``Dashboard.save``: a static HTML report of what a dashboard shows, BokehJS inline (it opens
offline): a heading, notes, the status line, a standalone copy of every plot, the dead letters.

Examples
--------
>>> import pathlib, tempfile, pandas as pd
>>> from streamlab.viz import table
>>> t = table()
>>> t.push(pd.DataFrame({"<b>k</b>": ["x"]})); _ = t.flush()
>>> path = pathlib.Path(tempfile.mkdtemp()) / "r.html"
>>> _ = write_report(path, [t], title="a <report>", status_html="<p>ok</p>")
>>> text = path.read_text()
>>> "<title>a &lt;report&gt;</title>" in text, "a &amp;lt;report&amp;gt;" in text
(True, True)
>>> "cdn.bokeh.org" in text  # BokehJS is in the file
False
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

__all__ = ["write_report"]


def write_report(
    path: Any,
    plots: list,
    *,
    title: str,
    notes: str = "",
    status_html: str = "",
    dead_html: str = "",
) -> Path:
    """Write the report to ``path``; return it. ``title`` is escaped here; ``notes``,
    ``status_html`` and ``dead_html`` go in as written (HTML the caller escaped); every plot
    (:class:`~.plot_base.Plot`) contributes its :meth:`~.plot_base.Plot.snapshot`."""
    from bokeh.embed import file_html
    from bokeh.layouts import column
    from bokeh.models.widgets.markups import Div
    from bokeh.resources import INLINE

    path = Path(path)
    head = f"<h2>{html.escape(title)}</h2>{notes}<p>{status_html}</p>"
    parts = [Div(text=head, sizing_mode="stretch_width")]
    parts += [m for m in (p.snapshot() for p in plots) if m is not None]
    dead = dead_html.replace("<details ", "<details open ")
    if dead:
        parts.append(Div(text=dead, sizing_mode="stretch_width"))
    layout = column(parts, sizing_mode="stretch_width")
    path.write_text(file_html(layout, resources=INLINE, title=title), encoding="utf-8")
    return path
