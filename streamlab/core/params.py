"""Parameters a running step can change: declared once, with bounds and help.

A step that can be re-tuned while it runs (a replay's ``speed``, a rolling window's size, an
anomaly threshold, a learner's learning rate, a codec) says so by returning :class:`Param`
declarations from ``params()``. ``set_param(name, value)`` checks the value against the
declaration (a bad value raises a :class:`~streamlab.errors.ConfigError` naming the value and
the fix; the step is left as it was) and applies it from the next batch on. The dashboard
builds its controls from the same declarations, so a slider can never send a value the step
would refuse.

Examples
--------
>>> import streamlab
>>> src = streamlab.generate("noise", rows=10)
>>> src.params()["speed"].help
'replay speed: 1 = recorded timing, 10 = ten times faster, 0 = as fast as possible'
>>> src.set_param("speed", 10)
>>> src.speed
10.0
>>> src.set_param("speed", -1)
Traceback (most recent call last):
...
streamlab.errors.ConfigError: speed must be >= 0, not -1; use speed=0 for as fast as possible
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from .checks import check_choice, check_number
from .graph import pipeline_nodes

__all__ = ["Param", "Tunable", "tunable_nodes"]


@dataclass(frozen=True)
class Param:
    """One tunable parameter: its bounds (numbers), its choices, or a checker (text).

    ``low``/``high`` bound numbers (``log=True``: a slider should move on a log scale);
    ``span`` is where a slider runs when it should not cover the whole allowed range;
    ``choices`` lists the allowed values; ``parse`` checks free text such as ``"30s"``.
    ``low_open``: the value must be above ``low``, not equal to it. ``fix`` is the hint a
    refusal gives, ``example`` an accepted value it shows. Numbers may be Python or numpy
    numbers (never ``True``/``False``); a checked value is a plain ``int`` or ``float``.

    >>> p = Param("threshold", help="robust z above which a row is an anomaly", low=0, low_open=True)
    >>> p.kind, p.check(3), p.slider_range()
    ('float', 3.0, (0.0, 100.0))
    """

    name: str
    help: str = ""
    low: float | None = None
    high: float | None = None
    integer: bool = False
    log: bool = False
    choices: tuple[Any, ...] | None = None
    parse: Callable[[Any], Any] | None = None
    fix: str = ""
    span: tuple[float, float] | None = None
    low_open: bool = False
    example: Any = None

    @property
    def kind(self) -> str:
        """``"choice"``, ``"text"``, ``"int"`` or ``"float"`` (what kind of control fits)."""
        if self.choices is not None:
            return "choice"
        if self.parse is not None:
            return "text"
        return "int" if self.integer else "float"

    def check(self, value: Any) -> Any:
        """Return ``value`` (ints widened to float for float params) or raise ConfigError.

        Examples
        --------
        >>> import numpy as np
        >>> Param("threshold", low=0, high=50).check(3)
        3.0
        >>> Param("window", low=1, integer=True).check(np.int64(200))
        200
        >>> Param("window", low=1, integer=True).check(True)
        Traceback (most recent call last):
        ...
        streamlab.errors.ConfigError: window must be an integer, not True; for example window=1
        >>> Param("codec", choices=("zlib", "zstd")).check("zsdt")
        Traceback (most recent call last):
        ...
        streamlab.errors.ConfigError: codec='zsdt' is not one of 'zlib', 'zstd'. Did you mean 'zstd'?
        """
        if self.choices is not None:
            return check_choice(self.name, value, self.choices)
        if self.parse is not None:
            self.parse(value)
            return value
        value = check_number(
            self.name,
            value,
            low=self.low,
            high=self.high,
            low_open=self.low_open,
            integer=self.integer,
            fix=self.fix,
            example=self.example,
        )
        return value if self.integer else float(value)

    def slider_range(self, value: float | None = None) -> tuple[float, float]:
        """Where a slider for this parameter should run (log params: a positive lower end),
        widened to hold ``value`` (a value set in code is never clamped by its slider): a log
        slider to the powers of ten around it, a linear one to ``value`` itself.

        Examples
        --------
        >>> speed = Param("speed", low=0, log=True, span=(0.01, 1000))
        >>> speed.slider_range(), speed.slider_range(3_000_000)
        ((0.01, 1000.0), (0.01, 10000000.0))
        >>> Param("window", low=1, high=500, integer=True).slider_range(2_000)
        (1.0, 2000.0)
        """
        if self.span is not None:
            low, high = float(self.span[0]), float(self.span[1])
        else:
            low = 0.0 if self.low is None else float(self.low)
            high = float(self.high) if self.high is not None else max(1.0, 100 * max(low, 1.0))
            if self.log and low <= 0:
                low = high / 1e5
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            return low, high
        v = float(value)
        if not math.isfinite(v) or (self.log and v <= 0):
            return low, high  # log sliders show 0 with their "= 0" switch, not on the scale
        if self.log:
            if v > high:
                high = 10.0 ** math.ceil(math.log10(v))
            if v < low:
                low = 10.0 ** math.floor(math.log10(v))
        else:
            high, low = max(high, v), min(low, v)
        return low, high


class Tunable:
    """Mixin for steps with :class:`Param` declarations.

    Subclasses implement ``params()`` and, where setting the attribute of the same name is not
    enough, ``_set_<name>(value)``. Reading uses ``_get_<name>()`` or the attribute.

    >>> class Gain(Tunable):
    ...     def __init__(self):
    ...         self.gain = 1.0
    ...     def params(self):
    ...         return {"gain": Param("gain", low=0)}
    >>> g = Gain(); g.set_param("gain", 2); g.get_param("gain")
    2.0
    >>> g.set_param("gian", 2)
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: <...Gain object at ...> has no tunable parameter 'gian'; its tunable parameters: gain
    """

    def params(self) -> dict[str, Param]:
        return {}

    def get_param(self, name: str) -> Any:
        self._declared(name)
        getter = getattr(self, f"_get_{name}", None)
        return getter() if getter is not None else getattr(self, name)

    def set_param(self, name: str, value: Any) -> None:
        """Check ``value`` against the declaration and apply it (from the next batch on)."""
        param = self._declared(name)
        value = param.check(value)
        setter = getattr(self, f"_set_{name}", None)
        if setter is not None:
            setter(value)
        else:
            setattr(self, name, value)
        for listener in list(getattr(self, "_param_listeners", ())):
            listener(name, value)

    def on_param_change(self, listener: Callable[[str, Any], None]) -> None:
        """Call ``listener(name, value)`` after each successful ``set_param``."""
        if "_param_listeners" not in self.__dict__:
            self._param_listeners: list[Callable[[str, Any], None]] = []
        self._param_listeners.append(listener)

    def _declared(self, name: str) -> Param:
        params = self.params()
        if name not in params:
            known = ", ".join(params) or "none"
            raise ConfigError(
                f"{self} has no tunable parameter {name!r}; its tunable parameters: {known}"
            )
        return params[name]


def tunable_nodes(node: Any) -> list[Any]:
    """The nodes of ``node``'s pipeline (:func:`pipeline_nodes`) that have parameters.

    >>> import streamlab
    >>> src = streamlab.generate("sine", rows=10)
    >>> roll = src.rolling(5, agg={"value": "mean"})
    >>> tunable_nodes(roll) == [src, roll]
    True
    """
    return [n for n in pipeline_nodes(node) if isinstance(n, Tunable) and n.params()]
