"""How the battery runs a step: a source of given frames, the step built below it, its output
collected (what a sink stored, where it is a sink) and made canonical."""

from __future__ import annotations

import asyncio
import gc
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..core import streamz_compat
from ..core.runner import arun
from ..core.source import BatchSource
from .frames import canonical

__all__ = ["Case", "FrameSource", "UnstableDtypes", "build", "collected", "output", "run_case"]


class FrameSource(BatchSource):
    """A source that emits the given frames in order, zero-row frames included (a real
    streamlab source: start, stop, end of input and release are the ones every source has).

    >>> import pandas as pd, streamlab
    >>> src = FrameSource([pd.DataFrame({"x": [1]}), pd.DataFrame({"x": []}), pd.DataFrame({"x": [2]})])
    >>> got = src.sink_to_list(); _ = streamlab.run(src)
    >>> [len(f) for f in got]
    [1, 0, 1]
    """

    def __init__(self, frames: list[pd.DataFrame], *, stream_name: str = "frames") -> None:
        super().__init__(stream_name=stream_name)
        self.frames = frames

    async def _produce(self) -> None:
        for frame in self.frames:
            if self.stopped:
                return
            if len(frame):
                await self.emit_batch(frame)
            else:  # pause/step accounting has nothing to do with an empty batch
                await streamz_compat.settle(streamz_compat.emit(self, frame))


@dataclass(frozen=True)
class Case:
    """One way to check a step: ``make(upstream, **params)`` builds it below ``upstream`` and
    returns the node whose output is checked (or the sink to ``collect`` from).

    >>> import pandas as pd
    >>> case = Case("sum", lambda s: s.aggregate({"x": "sum"}), pd.DataFrame({"x": [1, 2]}))
    >>> case.name, case.rows_kept, case.time_column
    ('sum', False, None)
    """

    name: str
    make: Callable[..., Any]
    data: pd.DataFrame
    time_column: str | None = None
    #: the plain-pandas answer on the whole data (compared column by column, in its order)
    reference: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    #: sort the output (and the reference) by these before comparing (order is not promised)
    sort_by: tuple[str, ...] | None = None
    #: the output rows are the input rows (with columns added): dtypes and attrs pass through
    rows_kept: bool = False
    #: numeric parameters given to ``make`` (the ``numbers`` check passes numpy scalars)
    params: Mapping[str, Any] = field(default_factory=dict)
    #: how to read a sink's result after a run: ``collect(node) -> frame`` (may be async)
    collect: Callable[[Any], Any] | None = None
    #: what of a run's output is promised (e.g. the last row per key of an update stream)
    final: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    rtol: float | None = None
    #: checks (or ``"check:variant"``) that do not apply to this step, with the reason
    not_applicable: Mapping[str, str] = field(default_factory=dict)


class UnstableDtypes(AssertionError):
    """The batches of one run disagree on a column's dtype."""


def build(case: Case, frames: list[pd.DataFrame], **params) -> tuple[FrameSource, Any, list]:
    """``case``'s step below a :class:`FrameSource` of ``frames``, and the list its output
    batches go to (none for a sink, whose result ``collect`` reads)."""
    source = FrameSource(frames)
    node = case.make(source, **(params or dict(case.params)))
    seen: list = []
    if case.collect is None:
        node.sink(seen.append)
    return source, node, seen


async def output(case: Case, node, seen: list) -> pd.DataFrame | None:
    """A run's canonical output: the batches seen (or what ``collect`` read back), one frame,
    sorted by ``sort_by``, reduced by ``final``. Raises :class:`UnstableDtypes` if two output
    batches give a column different dtypes (a type must not flip with the batch cuts)."""
    got = list(seen)
    if case.collect is not None:
        found = case.collect(node)
        got = [await found if inspect.isawaitable(found) else found]
    _same_dtypes(got)
    out = canonical(got, sort_by=list(case.sort_by) if case.sort_by else None)
    return case.final(out) if case.final is not None and out is not None else out


async def run_case(case: Case, frames: list[pd.DataFrame], **params) -> pd.DataFrame | None:
    """Run ``case``'s step over ``frames``; its canonical output (see :func:`output`)."""
    source, node, seen = build(case, frames, **params)
    await arun(source)
    return await output(case, node, seen)


def _same_dtypes(batches: list) -> None:
    first: dict = {}
    for i, batch in enumerate(batches):
        if batch is None or not len(batch):
            continue
        for col, dtype in batch.dtypes.items():
            seen = first.setdefault(col, (i, dtype))
            if seen[1] != dtype:
                raise UnstableDtypes(
                    f"column {col!r} is {seen[1]} in output batch {seen[0]} and {dtype} in "
                    f"output batch {i}"
                )


async def collected(freed: Callable[[], bool], *, timeout: float = 10.0) -> bool:
    """Collect garbage until ``freed()`` holds (True) or ``timeout`` seconds pass (False). A
    freed pipeline goes at the first pass; a worker or a closing socket may let go a loop
    turn later. The timeout only bounds a hang."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        gc.collect()
        if freed():
            return True
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.01)
