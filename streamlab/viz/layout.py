"""The dashboard's page: BokehJS put on it inline, the buttons and parameter controls, the
rows of widgets, and the bokeh model that carries the plots (one way: kernel to page).

Examples
--------
>>> import ipywidgets as w
>>> pressed = []
>>> buttons = make_buttons({"Play": lambda: pressed.append("play")})
>>> buttons["Play"].click(); pressed
['play']
>>> box = assemble([w.HTML("status")], title="<b>demo</b>", buttons=buttons)
>>> [type(c).__name__ for c in box.children], box.children[0].value
(['HTML', 'HBox', 'HTML'], '<h3>&lt;b&gt;demo&lt;/b&gt;</h3>')
>>> len(list(walk(box)))
5
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from typing import Any

from ..core.params import tunable_nodes
from .controls import ParamControl

__all__ = ["assemble", "ensure_bokehjs", "make_buttons", "make_controls"]
__all__ += ["walk"]

_BOKEHJS_SHOWN = False
_ICONS = {"Play": "play", "Pause": "pause", "Step": "step-forward", "Stop": "stop"}


def ensure_bokehjs(*, force: bool = False) -> None:
    """Put BokehJS on the page, inline, once per kernel (jupyter_bokeh needs it there).

    ``force=True`` sends it again: after reloading the browser page of an unsaved notebook,
    the page has lost it while the kernel thinks it is there.

    Examples
    --------
    >>> import bokeh.io, IPython.display
    >>> sent = []
    >>> real = bokeh.io.output_notebook, IPython.display.display
    >>> bokeh.io.output_notebook = IPython.display.display = lambda *a, **k: sent.append(a)
    >>> ensure_bokehjs(force=True); ensure_bokehjs()  # the second call sends nothing
    >>> bokeh.io.output_notebook, IPython.display.display = real
    >>> [type(a[0]).__name__ for a in sent], sent[0][0].mode  # BokehJS inline, never a CDN
    (['Resources', 'Javascript'], 'inline')
    >>> "_change_event(" in sent[1][0].data  # then the page's filter (jupyter_bokeh_compat)
    True
    """
    global _BOKEHJS_SHOWN
    if _BOKEHJS_SHOWN and not force:
        return
    from bokeh.io import output_notebook
    from bokeh.resources import INLINE
    from IPython.display import Javascript, display

    from .jupyter_bokeh_compat import PAGE_FILTER_JS

    output_notebook(INLINE, hide_banner=True)
    display(Javascript(PAGE_FILTER_JS))  # nothing echoed back from the page (the adapter)
    _BOKEHJS_SHOWN = True


def make_buttons(actions: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """One button per action (``Play``, ``Pause``, ``Step``, ``Stop``...), by name."""
    import ipywidgets as w

    buttons = {}
    for name, action in actions.items():
        b = w.Button(description=name, icon=_ICONS.get(name, ""), layout=w.Layout(width="90px"))
        b.on_click(lambda _b, f=action: f())
        buttons[name] = b
    return buttons


def make_controls(stream: Any, message: Any) -> dict[str, ParamControl]:
    """A control for every tunable parameter of the steps above ``stream``, labelled by the
    parameter's name (``node.name`` when two steps have a parameter of that name)."""
    nodes = tunable_nodes(stream)
    names = [n for node in nodes for n in node.params()]
    controls = {}
    for node in nodes:
        for name, param in node.params().items():
            label = name if names.count(name) == 1 else f"{node}.{name}"
            controls[label] = ParamControl(node, param, label=label, message=message)
    return controls


def assemble(
    rows: list,
    *,
    title: str | None = None,
    buttons: dict[str, Any] | None = None,
    controls: dict[str, ParamControl] | None = None,
) -> Any:
    """The dashboard's box: the title (escaped), the buttons, the controls (wrapped), then
    ``rows`` (the status line, the message, the plots, the dead letters)."""
    import ipywidgets as w

    top: list = []
    if title:
        top.append(w.HTML(f"<h3>{html.escape(title)}</h3>"))
    if buttons:
        top.append(w.HBox(list(buttons.values())))
    if controls:
        wrap = w.Layout(flex_flow="row wrap")
        top.append(w.HBox([c.box for c in controls.values()], layout=wrap))
    return w.VBox(top + list(rows))


def walk(widget: Any) -> Iterator[Any]:
    """``widget`` and every widget inside it."""
    yield widget
    for child in getattr(widget, "children", ()):
        yield from walk(child)
