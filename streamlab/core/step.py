"""The one contract every streamlab step node follows.

A step node is a streamz node (a ``Stream`` subclass, registered on ``Stream`` by
:func:`~streamlab.core.registry.register_step`) that also is a :class:`Step`:

- **declared parameters**: ``params()`` returns :class:`~streamlab.core.params.Param`
  declarations; ``set_param`` checks and applies them (:class:`~streamlab.core.params.Tunable`);
- **stats**: ``self.stats``, a dataclass derived from :class:`~streamlab.core.stats.StepStats`;
- **named side outputs**: the names in ``SIDE_OUTPUTS`` become streams (``self.errors``,
  ``self.late``...) made by :meth:`Step.make_side_outputs`; the step sends on them with
  :meth:`Step.to_side` and downstream with :meth:`Step.forward` (never streamz's private
  ``_emit``: that lives in :mod:`~streamlab.core.streamz_compat` alone), and every walk over
  the graph (:mod:`~streamlab.core.graph`) finds them;
- **end of input**: :meth:`Step.end_of_input` emits what the step still holds when its source
  ends (a window's open windows);
- **state**: the attributes named in ``STATE`` are what the step learned from the stream.
  :meth:`Step.capture_state` copies them out and :meth:`Step.restore_state` puts a copy back
  (checkpoints); a restarted source resets them (:class:`~streamlab.core.state.FreshState`).

The algorithm itself is a plain class that imports neither streamz, bokeh nor asyncio (a
window assigner, an aggregate, a detector); the node holds one and adapts it.

Examples
--------
A new step needs one file: the node, and its registration.

>>> import pandas as pd
>>> from dataclasses import dataclass
>>> from streamz import Stream
>>> from streamlab.core.stats import StepStats
>>> @dataclass
... class CountStats(StepStats):
...     rows: int = 0
>>> class running_count(Step, Stream):
...     STATE = ("total",)
...     SIDE_OUTPUTS = ("errors",)
...     def __init__(self, upstream, **kwargs):
...         super().__init__(upstream, **kwargs)
...         self.total, self.stats = 0, CountStats()
...         self.make_side_outputs()
...     def update(self, x, who=None, metadata=None):
...         self.total += len(x)
...         self.stats.rows += len(x)
...         return self.forward(pd.DataFrame({"rows": [self.total]}))
>>> src = Stream()
>>> node = running_count(src)
>>> out = node.sink_to_list()
>>> src.emit(pd.DataFrame({"x": [1, 2]})); src.emit(pd.DataFrame({"x": [3]}))
>>> [int(f["rows"].iloc[0]) for f in out], node.stats.as_dict()
([2, 3], {'rows': 3})
>>> saved = node.capture_state(); node.total = 99; node.restore_state(saved); node.total
3
>>> node.errors.name
'running_count.errors'
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from streamz import Stream

from ..errors import ConfigError
from . import streamz_compat
from .params import Tunable
from .state import FreshState

__all__ = ["Step"]


class Step(FreshState, Tunable):
    """Mixin for streamlab step nodes (put it before ``Stream`` in the bases).

    >>> import pandas as pd
    >>> from streamz import Stream
    >>> class passthrough(Step, Stream):
    ...     SIDE_OUTPUTS = ("errors",)
    ...     def __init__(self, upstream):
    ...         super().__init__(upstream)
    ...         self.make_side_outputs()
    ...     def update(self, x, who=None, metadata=None):
    ...         return self.forward(x) if len(x) else self.to_side("errors", x)
    >>> src = Stream(); node = passthrough(src)
    >>> ok, empty = node.sink_to_list(), node.errors.sink_to_list()
    >>> src.emit(pd.DataFrame({"x": [1]})); src.emit(pd.DataFrame({"x": []}))
    >>> len(ok), len(empty), node.errors.name
    (1, 1, 'passthrough.errors')
    """

    #: names of the side-output streams this step has (attributes made by make_side_outputs)
    SIDE_OUTPUTS: ClassVar[tuple[str, ...]] = ()

    def make_side_outputs(self, base: str | None = None) -> None:
        """Make one stream per name in ``SIDE_OUTPUTS``, named ``"<base>.<name>"`` (``base``:
        the node's name, else its class name)."""
        base = base or getattr(self, "name", None) or type(self).__name__
        for side in self.SIDE_OUTPUTS:
            label = side.removesuffix("_stream")
            setattr(self, side, Stream(stream_name=f"{base}.{label}"))

    def forward(self, x: Any) -> list[Any]:
        """Send ``x`` downstream; return what the downstream nodes returned (to await)."""
        return streamz_compat.emit(self, x)

    def to_side(self, side: str, x: Any) -> list[Any]:
        """Send ``x`` on the side output ``side`` (one of ``SIDE_OUTPUTS``)."""
        if side not in self.SIDE_OUTPUTS:
            raise ConfigError(
                f"{type(self).__name__} has no side output {side!r}",
                param="side",
                value=side,
                hint=f"use one of {', '.join(self.SIDE_OUTPUTS) or 'none'}",
            )
        return streamz_compat.emit(getattr(self, side), x)

    def end_of_input(self) -> list[Any]:
        """The source ended: emit what is still held; return what the emits returned."""
        return []

    def capture_state(self) -> dict[str, Any]:
        """A deep copy of what the step learned (the attributes named in ``STATE``)."""
        return copy.deepcopy({name: self.__dict__[name] for name in self.STATE})

    def restore_state(self, state: dict[str, Any]) -> None:
        """Put back a state from :meth:`capture_state` (a copy: ``state`` stays usable)."""
        unknown = sorted(set(state) - set(self.STATE))
        if unknown:
            raise ConfigError(
                f"{type(self).__name__} keeps no state named {unknown[0]!r}",
                param="state",
                value=unknown[0],
                hint=f"its state is {', '.join(self.STATE) or 'empty'}",
            )
        for name, value in copy.deepcopy(state).items():
            setattr(self, name, value)
