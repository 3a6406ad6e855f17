"""The one place that walks a pipeline's graph of streamz nodes.

A pipeline is a graph of streamz nodes joined by ``upstreams`` / ``downstreams``; a step's side
outputs (``.errors``, ``.late``, a detector's ``.events``...) are separate streams hanging off it,
named in the step's ``SIDE_OUTPUTS`` (see :class:`~streamlab.core.step.Step`). Running sources,
freeing sinks, building a dashboard's controls and flushing at end of input all need one of a few
walks over that graph; they are all here, so a new kind of node (or of side output) is taught to
every one of them at once.

Examples
--------
>>> import streamlab
>>> src = streamlab.generate("sine", rows=10)
>>> win = src.window(5, agg={"value": "mean"})
>>> sizes = win.map(len)
>>> sources_above(sizes) == [src]
True
>>> [type(n).__name__ for n in pipeline_nodes(win)]
['Generate', 'window', 'map']
>>> [name for name, _ in side_outputs(win)]
['late']
>>> win.late in nodes_below(src)
True
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from typing import Any

__all__ = [
    "downstreams",
    "is_source",
    "nodes_below",
    "pipeline_nodes",
    "roots_above",
    "side_outputs",
    "sources_above",
    "topological_below",
    "upstreams",
]


def upstreams(node: Any) -> list[Any]:
    """The nodes feeding ``node`` (never ``None``).

    >>> import streamlab
    >>> src = streamlab.generate("sine", rows=10)
    >>> win = src.window(5, agg={"value": "mean"})
    >>> sizes = win.map(len)
    >>> upstreams(sizes) == [win], upstreams(src)
    (True, [])
    """
    return [u for u in getattr(node, "upstreams", ()) if u is not None]


def downstreams(node: Any) -> list[Any]:
    """The nodes ``node`` feeds (never ``None``; a copy, safe while the graph changes).

    >>> import streamlab
    >>> src = streamlab.generate("sine", rows=10)
    >>> win = src.window(5, agg={"value": "mean"})
    >>> sizes = win.map(len)
    >>> downstreams(win) == [sizes]
    True
    """
    return [d for d in list(getattr(node, "downstreams", ())) if d is not None]


def side_outputs(node: Any) -> list[tuple[str, Any]]:
    """``node``'s side-output streams as ``(name, stream)``, in declared order.

    >>> import streamlab
    >>> src = streamlab.generate("sine", rows=10)
    >>> win = src.window(5, agg={"value": "mean"})
    >>> sizes = win.map(len)
    >>> side_outputs(win) == [("late", win.late)], side_outputs(sizes)
    (True, [])
    """
    own = getattr(node, "__dict__", {})
    return [
        (name, own[name])
        for name in getattr(type(node), "SIDE_OUTPUTS", ())
        if own.get(name) is not None
    ]


def is_source(node: Any) -> bool:
    """True for a streamlab source (a :class:`~streamlab.core.source.BatchSource`).

    >>> import streamlab
    >>> src = streamlab.generate("sine", rows=10)
    >>> win = src.window(5, agg={"value": "mean"})
    >>> sizes = win.map(len)
    >>> is_source(src), is_source(win)
    (True, False)
    """
    from .source import BatchSource  # source.py imports this module

    return isinstance(node, BatchSource)


def sources_above(*nodes: Any) -> list[Any]:
    """The streamlab sources upstream of (or equal to) each of ``nodes``: depth first, each
    once, in the order met (so a join's left source comes before its right one).

    >>> import streamlab
    >>> src = streamlab.generate("sine", rows=10)
    >>> win = src.window(5, agg={"value": "mean"})
    >>> sizes = win.map(len)
    >>> other = streamlab.generate("noise", rows=10)
    >>> sources_above(sizes, other.map(len)) == [src, other]
    True
    """
    found: list[Any] = []
    seen: set[int] = set()
    stack = list(reversed(nodes))
    while stack:
        n = stack.pop()
        if n is None or id(n) in seen:
            continue
        seen.add(id(n))
        if is_source(n):
            found.append(n)
        stack.extend(reversed(upstreams(n)))
    return found


def pipeline_nodes(node: Any) -> list[Any]:
    """Every node connected to ``node``: up to its roots (the sources), then down from them
    breadth first, in the order the graph was built. Each node once.

    >>> import streamlab
    >>> src = streamlab.generate("sine", rows=10)
    >>> win = src.window(5, agg={"value": "mean"})
    >>> sizes = win.map(len)
    >>> pipeline_nodes(sizes) == [src, win, sizes]
    True
    """
    seen: set[int] = set()
    stack, roots = [node], []
    while stack:  # up to the roots
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        ups = upstreams(n)
        if not ups:
            roots.append(n)
        stack.extend(ups)
    order: dict[int, Any] = {}
    queue = collections.deque(roots)
    while queue:  # then down from them
        n = queue.popleft()
        if id(n) not in order:
            order[id(n)] = n
            queue.extend(downstreams(n))
    return list(order.values())


def nodes_below(node: Any, owners: dict[int, Any] | None = None) -> list[Any]:
    """Every node fed by ``node`` (itself first): through its downstreams and the side
    outputs of every node on the way. If ``owners`` is given, it is filled with, for each
    side-output stream met, the node that owns it (by ``id``).

    >>> import streamlab
    >>> src = streamlab.generate("sine", rows=10)
    >>> win = src.window(5, agg={"value": "mean"})
    >>> sizes = win.map(len)
    >>> owners = {}
    >>> nodes_below(win, owners) == [win, win.late, sizes], owners == {id(win.late): win}
    (True, True)
    """
    nodes, seen, stack = [], set(), [node]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        nodes.append(n)
        stack.extend(downstreams(n))
        for _, side in side_outputs(n):
            if owners is not None:
                owners[id(side)] = n
            stack.append(side)
    return nodes


def topological_below(node: Any) -> list[Any]:
    """The nodes below ``node`` (through downstreams, ``node`` first), each after every node
    that feeds it on the way: the order in which end of input must reach them.

    >>> import streamlab
    >>> src = streamlab.generate("sine", rows=10)
    >>> win = src.window(5, agg={"value": "mean"})
    >>> sizes = win.map(len)
    >>> topological_below(src) == [src, win, sizes]
    True
    """
    order: list[Any] = []
    seen: set[int] = set()

    def visit(n: Any) -> None:  # depth-first post-order, reversed below
        seen.add(id(n))
        for d in downstreams(n):
            if id(d) not in seen:
                visit(d)
        order.append(n)

    visit(node)
    return order[::-1]


def roots_above(node: Any, owners: dict[int, Any]) -> Iterator[Any]:
    """The roots ``node`` is fed from; a side-output stream counts as fed by its owner
    (``owners`` as filled by :func:`nodes_below`).

    >>> import streamlab
    >>> src = streamlab.generate("sine", rows=10)
    >>> win = src.window(5, agg={"value": "mean"})
    >>> sizes = win.map(len)
    >>> owners = {}
    >>> _ = nodes_below(src, owners)
    >>> list(roots_above(win.late.map(len), owners)) == [src]
    True
    """
    seen: set[int] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        ups = upstreams(n)
        if ups:
            stack.extend(ups)
        elif id(n) in owners:
            stack.append(owners[id(n)])
        else:
            yield n
