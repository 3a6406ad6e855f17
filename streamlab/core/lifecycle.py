"""Which sources are running, so that a notebook cell run again replaces what it started; and
what a stopped source lets go of, so that a stopped pipeline is freed.

Only in an IPython kernel, and only for sources started from a cell: the cell's id (JupyterLab
and Notebook 7 send it with every execution) keys the sources it started. Running the cell again
stops them before the new ones start. Nothing here imports IPython or runs at import.

When a source stops (or its input ends), :func:`release` takes the streamz sinks below it out
of streamz's global set (``core.streamz_compat``) once no running source feeds them, and asks
sinks that hold something (a database connection, a socket, buffered rows) to let it go; they
open again lazily if their source starts again. The source keeps its sinks, so a stopped
source can be started again; dropping it frees the whole pipeline.
"""

from __future__ import annotations

import sys
import traceback
import weakref
from typing import Any

from . import graph, streamz_compat

__all__ = [
    "cell_key",
    "register",
    "release",
    "running_sources",
    "sinks_below",
    "start_below",
]

# cell id -> the sources that cell started (weak: a stopped, forgotten source can be collected)
_BY_CELL: dict[str, weakref.WeakSet[Any]] = {}
_ALL: weakref.WeakSet[Any] = weakref.WeakSet()


def cell_key() -> str | None:
    """The id of the notebook cell being executed, or ``None`` outside a kernel.

    Examples
    --------
    >>> cell_key() is None  # doctests do not run in a kernel
    True
    """
    ipython_mod = sys.modules.get("IPython")
    if ipython_mod is None:
        return None
    ip = ipython_mod.get_ipython()
    kernel = getattr(ip, "kernel", None)
    if kernel is None:
        return None
    try:
        parent = kernel.get_parent("shell")
    except TypeError:  # older ipykernel
        parent = kernel.get_parent()
    meta = (parent or {}).get("metadata") or {}
    return meta.get("cellId")


def register(source: Any) -> list[Any]:
    """Note that ``source`` is starting; return the earlier sources of the same cell (to stop)."""
    _ALL.add(source)
    key = cell_key()
    if key is None:
        return []
    earlier = [s for s in _BY_CELL.get(key, ()) if s is not source]
    _BY_CELL[key] = weakref.WeakSet([source])
    return earlier


def running_sources() -> list[Any]:
    """Every streamlab source that is running now, in this process.

    Examples
    --------
    >>> running_sources()
    []
    """
    return [s for s in _ALL if s.running]


def sinks_below(node: Any) -> tuple[list[Any], dict[int, Any]]:
    """The streamz sinks below ``node`` (:func:`~streamlab.core.graph.nodes_below`, side
    outputs included), and for each side-output stream met, its owner (by ``id``)."""
    owners: dict[int, Any] = {}
    nodes = graph.nodes_below(node, owners)
    return [n for n in nodes if streamz_compat.is_sink(n)], owners


def start_below(source: Any) -> list[Any]:
    """``source`` is starting. Stateful steps below it (:class:`~streamlab.core.state.FreshState`)
    note their state the first time they are met (before any batch); if ``source`` ran before,
    they and every other node below with a ``reset()`` (plots, ``to_sqlite(mode="replace")``)
    go back to it, so a second run gives what the first gave, not a continuation of it (a
    window would otherwise hold every replayed row as late). Returns the nodes reset.

    Examples
    --------
    >>> import streamlab
    >>> src = streamlab.generate("sine", rows=100)
    >>> counts = src.aggregate({"value": "count"}, output="complete").sink_to_list()
    >>> _ = streamlab.run(src); _ = streamlab.run(src)  # the same source, run twice
    >>> counts[-1]["value_count"].tolist()  # the second run counted afresh
    [100]
    """
    from .state import FreshState

    nodes = graph.nodes_below(source)
    done = []
    for node in nodes:
        if node is source:
            continue
        if isinstance(node, FreshState) and not node.has_fresh_state:
            node.keep_fresh_state()  # met for the first time: its state is as built
        elif source.started and callable(getattr(node, "reset", None)):
            node.reset()
            done.append(node)
    return done


def _fed_only_by_stopped_sources(sink: Any, owners: dict[int, Any]) -> bool:
    """True if every root above ``sink`` is a streamlab source that has run and is not running
    (a side-output stream counts as its owner). A plain streamz root, or a source not started
    yet, may still feed the sink: then it is kept."""
    from .source import BatchSource

    return all(
        isinstance(n, BatchSource) and n.started and not n.running
        for n in graph.roots_above(sink, owners)
    )


def release(source: Any) -> list[Any]:
    """``source`` has stopped: keep its sinks on the source itself (so it can start again),
    take out of streamz's global set those that no running source feeds, and call their
    ``release()`` (close a connection, a socket; write buffered rows). Returns the sinks let go.

    Examples
    --------
    >>> import streamlab
    >>> src = streamlab.generate("sine", rows=10)
    >>> out = []
    >>> sink = src.sink(out.append)
    >>> streamz_compat.is_held(sink)
    True
    >>> _ = streamlab.run(src)  # the source ended: the sink is no longer held by streamz
    >>> streamz_compat.is_held(sink), sink in src._kept_sinks, len(out)
    (False, True, 1)
    """
    sinks, owners = sinks_below(source)
    source._kept_sinks = list(sinks)
    let_go = []
    for sink in sinks:
        if not _fed_only_by_stopped_sources(sink, owners):
            continue
        streamz_compat.forget_sink(sink)
        hook = getattr(sink, "release", None)
        if callable(hook):
            try:
                hook()
            except Exception as exc:  # not silent, and the other sinks are still released
                print(f"streamlab: releasing {sink} failed:", file=sys.stderr)
                traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        let_go.append(sink)
    return let_go
