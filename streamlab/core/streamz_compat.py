"""The one place streamlab touches streamz internals: ``Stream._emit`` and the module-global
set of sinks.

**Emitting.** A streamz node passes a value on with its private ``_emit(x)``, which calls
``update`` on each downstream and returns the list of what they returned (futures of async
sinks among them, which the caller awaits). The public ``emit`` is meant for pushing into a
graph from outside (it blocks on those futures in a synchronous caller). Every streamlab node
emits through :func:`emit` here, downstream or on a side output. Verified on streamz 0.6.6,
where ``_emit(x, metadata=None)`` has this meaning. There is no public fallback (no public
call returns the downstream futures): the oldest-dependency CI run checks it at the floor.

**Sinks.** streamz keeps every ``Sink`` in ``streamz.sinks._global_sinks`` so that a pipeline nobody
references keeps running. The price: a pipeline is never freed, with each node's last batch and
every open file of its sinks (measured: +6.3 MB and two file descriptors per notebook cell
re-run). streamlab lets go of a sink once every source feeding it has stopped
(``core.lifecycle.release``); the sink then lives exactly as long as something references it
(its source keeps a strong reference, so a stopped source can be started again).

Verified on streamz 0.6.6, where ``Sink.__init__`` adds to the set and ``Sink.destroy`` removes
from it with ``set.remove`` (a ``KeyError`` for a sink that is no longer there). Fallback: if
the set is not found (another streamz), :data:`RELEASABLE` is False and nothing here changes
anything: sinks stay as streamz keeps them.
"""

from __future__ import annotations

import asyncio
import inspect
import weakref
from typing import Any

from streamz.sinks import Sink

__all__ = ["RELEASABLE", "VERIFIED_ON", "emit", "forget_sink", "is_held", "is_sink", "settle"]

VERIFIED_ON = "0.6.6"

try:
    from streamz import sinks as _sinks_module

    _GLOBAL = _sinks_module._global_sinks
except (ImportError, AttributeError):  # pragma: no cover - another streamz
    _GLOBAL = None

#: True when streamz's global sink set was found and sinks can be let go of.
RELEASABLE = isinstance(_GLOBAL, set)


def emit(node: Any, x: Any) -> list[Any]:
    """Pass ``x`` from ``node`` to everything downstream of it; return what they returned
    (await the awaitables among them to honour back-pressure of async sinks).

    Examples
    --------
    >>> from streamz import Stream
    >>> s = Stream()
    >>> got = s.map(lambda v: v + 1).sink_to_list()
    >>> _ = emit(s, 41); got
    [42]
    """
    results: list[Any] = node._emit(x)
    return results


async def settle(results: Any) -> None:
    """Await the awaitables among what :func:`emit` returned (async sinks' back-pressure)."""
    waits = [r for r in results or () if inspect.isawaitable(r)]
    if waits:
        await asyncio.gather(*waits)


def is_sink(node: Any) -> bool:
    """True for a streamz sink (a node streamz keeps alive on its own)."""
    return isinstance(node, Sink)


def is_held(sink: Any) -> bool:
    """True while streamz's global set keeps ``sink`` alive.

    Examples
    --------
    >>> from streamz import Stream
    >>> s = Stream().sink(print)
    >>> is_held(s) == RELEASABLE
    True
    >>> forget_sink(s); is_held(s)
    False
    >>> s.destroy()  # still works after forget_sink
    """
    return RELEASABLE and sink in _GLOBAL


def forget_sink(sink: Any) -> None:
    """Take ``sink`` out of streamz's global set (it then lives as long as it is referenced).

    ``sink.destroy()`` keeps working: streamz 0.6.6's ``destroy`` removes the sink from the set
    with ``set.remove``, so the sink gets a ``destroy`` that puts it back first."""
    if not RELEASABLE or sink not in _GLOBAL:
        return
    _GLOBAL.discard(sink)
    sink.__dict__["destroy"] = _DestroyForgotten(sink)


class _DestroyForgotten:
    """``destroy`` of a sink streamz no longer holds: back in the set, then streamz's own."""

    def __init__(self, sink: Any) -> None:
        self.sink = weakref.ref(sink)  # not a cycle: the sink is freed by reference counting

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        sink = self.sink()
        assert sink is not None and _GLOBAL is not None  # called as a bound attribute of sink
        sink.__dict__.pop("destroy", None)
        _GLOBAL.add(sink)
        return type(sink).destroy(sink, *args, **kwargs)
