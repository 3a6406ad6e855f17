"""What a step learned from the stream, kept apart from how it was configured.

A stateful step names the attributes that hold its state in ``STATE``. When a source starts,
the steps below it note that state (:meth:`FreshState.keep_fresh_state`, the first time, before
any batch), and when it starts again they go back to it (:meth:`FreshState.reset`; see
``core.lifecycle.start_below``): a second run gives what the first gave, not a continuation of
it (a window would hold every replayed row as late). Parameters tuned while it ran (a learning
rate, a threshold) are kept.

Examples
--------
>>> class Count(FreshState):
...     STATE = ("n",)
...     def __init__(self):
...         self.n = 0
>>> c = Count(); c.keep_fresh_state(); c.n += 5; c.reset(); c.n
0
"""

from __future__ import annotations

import copy

from .params import Tunable

__all__ = ["FreshState"]


class FreshState:
    """Mixin: ``reset()`` puts the attributes named in ``STATE`` back as they were built.

    >>> class Sum(FreshState):
    ...     STATE = ("total",)
    ...     def __init__(self):
    ...         self.total = 0
    >>> s = Sum(); s.keep_fresh_state(); s.total = 7; s.reset(); s.total
    0
    """

    #: the attributes holding what the step learned from the stream
    STATE: tuple[str, ...] = ()

    @property
    def has_fresh_state(self) -> bool:
        return "_fresh_state" in self.__dict__

    def keep_fresh_state(self) -> None:
        """Note the state as it is now (before the first batch)."""
        self.__dict__["_fresh_state"] = copy.deepcopy(
            {name: self.__dict__[name] for name in self.STATE if name in self.__dict__}
        )

    def reset(self) -> None:
        """The state as it was before the first batch; tuned parameters stay as they are."""
        tuned = (
            {name: self.get_param(name) for name in self.params()}
            if isinstance(self, Tunable)
            else {}
        )
        for name, value in self.__dict__.get("_fresh_state", {}).items():
            setattr(self, name, copy.deepcopy(value))
        if isinstance(self, Tunable):
            for name, value in tuned.items():
                self.set_param(name, value)
