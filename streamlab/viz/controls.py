"""ipywidgets built from the steps' own parameter declarations (``Param``), linked both ways.

A control sends each new value through ``node.set_param`` (so it is checked exactly as code
would be); a refused value shows the reason in ``message`` and the control goes back to the
step's value. A change made in code with ``set_param`` moves the control.
"""

from __future__ import annotations

import math

from ..core.params import Param
from ..errors import ConfigError

__all__ = ["ParamControl"]


class ParamControl:
    """One widget (a slider, a text box, a dropdown) for one parameter of one step.

    Examples
    --------
    >>> import streamlab
    >>> src = streamlab.generate("noise", rows=10, speed=1)
    >>> c = ParamControl(src, src.params()["speed"])
    >>> c.widget.value = 10.0  # what a user's drag does
    >>> src.speed
    10.0
    >>> src.set_param("speed", 2.5)
    >>> c.widget.value
    2.5
    >>> src.set_param("speed", 3_000_000)  # beyond the slider's span: it widens, never clamps
    >>> c.widget.value, 10**c.widget.max
    (3000000.0, 10000000.0)
    """

    def __init__(self, node, param: Param, *, label: str | None = None, message=None) -> None:
        import ipywidgets as w

        self.node, self.param = node, param
        self.message = message  # an HTML widget to show a refusal in (optional)
        self.label = label or param.name
        self._syncing = False
        value = node.get_param(param.name)
        style = {"description_width": "initial"}
        common = {"description": self.label, "tooltip": param.help, "style": style}
        self.zero = None  # the "0" switch of a log parameter that allows 0 (speed: max)
        kind = param.kind
        if kind == "choice":
            self.widget = w.Dropdown(options=list(param.choices or ()), value=value, **common)
        elif kind == "text":
            self.widget = w.Text(value=str(value), continuous_update=False, **common)
        else:
            low, high = param.slider_range(value)  # holds the value: never clamped
            if param.log:
                v = value if value and value > 0 else high
                if kind == "int":
                    self.widget = w.BoundedIntText(
                        value=int(v), min=int(max(low, 1)), max=int(high), **common
                    )
                else:
                    self.widget = w.FloatLogSlider(
                        value=v,
                        base=10,
                        min=math.log10(low),
                        max=math.log10(high),
                        step=0.01,
                        readout_format=".3g",
                        continuous_update=False,
                        **common,
                    )
                if param.low == 0:
                    self.zero = w.Checkbox(
                        value=value == 0,
                        description=f"{self.label} = 0",
                        indent=False,
                        tooltip="as fast as possible" if param.name == "speed" else param.help,
                    )
                    self.zero.observe(self._on_zero, names="value")
            elif kind == "int":
                self.widget = w.IntSlider(
                    value=int(value), min=int(low), max=int(high), continuous_update=False, **common
                )
            else:
                self.widget = w.FloatSlider(
                    value=float(value),
                    min=low,
                    max=high,
                    step=(high - low) / 200,
                    readout_format=".3g",
                    continuous_update=False,
                    **common,
                )
        self.widget.observe(self._on_widget, names="value")
        node.on_param_change(self._on_node)

    @property
    def box(self):
        """What to show: the widget, with its "= 0" switch when it has one."""
        import ipywidgets as w

        if self.zero is None:
            return self.widget
        return w.HBox([self.widget, self.zero])

    def close(self) -> None:
        """Close the widgets and stop following the step."""
        listeners = getattr(self.node, "_param_listeners", [])
        if self._on_node in listeners:
            listeners.remove(self._on_node)
        self.widget.close()
        if self.zero is not None:
            self.zero.close()

    def _apply(self, value) -> None:
        try:
            self.node.set_param(self.param.name, value)
        except ConfigError as exc:
            if self.message is not None:
                self.message.value = f"<span style='color:#b00'>{exc}</span>"
            self._show(self.node.get_param(self.param.name))  # back to what the step has
        else:
            if self.message is not None:
                self.message.value = ""

    def _on_widget(self, change) -> None:
        if self._syncing:
            return
        if self.zero is not None and self.zero.value:
            self._syncing = True
            try:
                self.zero.value = False  # moving the slider leaves "as fast as possible"
            finally:
                self._syncing = False
        self._apply(change["new"])

    def _on_zero(self, change) -> None:
        if self._syncing:
            return
        self._apply(0 if change["new"] else self.widget.value)

    def _on_node(self, name, value) -> None:
        if name == self.param.name:
            self._show(value)

    def _show(self, value) -> None:
        self._syncing = True
        try:
            if self.zero is not None:
                self.zero.value = value == 0
                if value == 0:
                    return
            if self.param.kind == "text":
                self.widget.value = str(value)
            elif self.param.kind == "choice":
                self.widget.value = value
            else:
                self._hold(value)
                self.widget.value = value
        finally:
            self._syncing = False

    def _hold(self, value) -> None:
        """Widen the slider to hold ``value`` before it is shown (a slider clamps what it
        cannot show, and a clamped value would be sent back to the step at the next drag)."""
        low, high = self.param.slider_range(value)
        if self.param.log and self.param.kind == "float":
            lo, hi = math.log10(low), math.log10(high)
        else:
            lo, hi = (int(max(low, 1)), int(high)) if self.param.log else (low, high)
            if self.param.kind == "int":
                lo, hi = int(lo), int(hi)
        if hi > self.widget.max:
            self.widget.max = hi
        if lo < self.widget.min:
            self.widget.min = lo
