"""The bookkeeping of ``stream.parallel``, as plain code (no asyncio, streamz or dask import).

:class:`FanOut` knows what is in flight (in input order), which batches wait for room, which
result may leave next (the oldest, when ordered) and what was dropped; :func:`split_by_key`
and :func:`combine` cut a keyed batch into partitions and put the results back together;
:func:`count_lost_workers` reads the scheduler's event log. The node
(:mod:`streamlab.scale.parallel`) holds a :class:`FanOut` and does the waiting and the sending.

Examples
--------
>>> class Job:  # anything with done(), as an asyncio task has
...     finished = False
...     def done(self):
...         return self.finished
>>> fan = FanOut(2, ordered=True)
>>> a, b = Job(), Job()
>>> fan.started(a); fan.started(b); fan.admits()
False
>>> b.finished = True; fan.pop_ready() is None  # b waits for a: results leave in input order
True
>>> a.finished = True; fan.pop_ready() is a, fan.pop_ready() is b, fan.stats.peak_in_flight
(True, True, 2)
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
import pandas as pd

from ..core.stats import StepStats
from ..errors import ConfigError, StateError

__all__ = [
    "FanOut",
    "ParallelStats",
    "combine",
    "count_lost_workers",
    "parse_keys",
    "placement",
    "split_by_key",
]


@dataclass
class ParallelStats(StepStats):
    """Counters of a ``parallel`` step.

    ``retried``: tasks the scheduler ran again because the worker holding them was lost (from
    the scheduler's event log); ``lost``: batches given up after that (the error is raised);
    ``per_worker``: batches (or key partitions) each worker computed.

    Examples
    --------
    >>> ParallelStats().as_dict()["in_flight"]
    0
    """

    submitted: int = 0
    done: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    waits: int = 0
    retried: int = 0
    lost: int = 0
    failed: int = 0
    dropped: int = 0
    workers_lost: int = 0
    per_worker: dict[str, int] = field(default_factory=dict)


class Pending(Protocol):
    """A piece of work in flight: an asyncio task, or anything else that says when it is done."""

    def done(self) -> bool: ...


J = TypeVar("J", bound=Pending)


class FanOut(Generic[J]):
    """At most ``max_in_flight`` jobs in flight, in input order, and the batches held back
    until there is room (each with the waiter its producer awaits); counts in ``stats``."""

    def __init__(
        self, max_in_flight: int, *, ordered: bool, stats: ParallelStats | None = None
    ) -> None:
        self.max_in_flight = max_in_flight
        self.ordered = ordered
        self.stats = stats if stats is not None else ParallelStats()
        self.in_flight: collections.deque[J] = collections.deque()  # input order
        self.held: collections.deque[tuple[Any, Any]] = collections.deque()  # (batch, waiter)

    def admits(self) -> bool:
        """True if a new batch may be submitted now: nothing held back, room in flight."""
        return not self.held and len(self.in_flight) < self.max_in_flight

    def hold(self, batch: Any, waiter: Any, *, name: str) -> None:
        """Hold ``batch`` back until there is room (its producer awaits ``waiter``). More than
        ``max_in_flight`` held means the producer does not wait: a :class:`StateError`."""
        if len(self.held) >= self.max_in_flight:
            raise StateError(
                f"{name}: {len(self.held)} batches are already held back waiting for room on "
                "the cluster: the caller does not wait for what update() returns; drive this "
                "step from a streamlab source, or await what emit() returns"
            )
        self.held.append((batch, waiter))
        self.stats.waits += 1

    def started(self, job: J) -> None:
        """``job`` was submitted (it goes after every job in flight)."""
        self.in_flight.append(job)
        stats = self.stats
        stats.submitted += 1
        stats.in_flight = len(self.in_flight)
        stats.peak_in_flight = max(stats.peak_in_flight, stats.in_flight)

    def pop_ready(self) -> J | None:
        """The next done job whose result may leave now (ordered: only the oldest job in
        flight), taken out of flight; ``None`` if there is none."""
        ready = next((job for job in self.in_flight if job.done()), None)
        if ready is None or (self.ordered and ready is not self.in_flight[0]):
            return None
        self.in_flight.remove(ready)
        self.stats.in_flight = len(self.in_flight)
        return ready

    def finished(self, worker_results: Iterable[tuple[str, Any]]) -> list[Any]:
        """Count a job's ``(worker, output)`` pairs (one, or one per key partition); return
        the outputs."""
        per_worker = self.stats.per_worker
        outs = []
        for worker, out in worker_results:
            per_worker[worker] = per_worker.get(worker, 0) + 1
            outs.append(out)
        self.stats.done += 1
        return outs

    def unheld(self) -> Iterator[tuple[Any, Any]]:
        """The held ``(batch, waiter)`` pairs, oldest first, while there is room (the caller
        submits each batch before asking for the next)."""
        while self.held and len(self.in_flight) < self.max_in_flight:
            yield self.held.popleft()

    def discard(self) -> tuple[list[J], list[Any]]:
        """Forget the jobs in flight and the held batches (counted in ``stats.dropped``);
        return the jobs and the held batches' waiters (for the caller to cancel and fail)."""
        self.stats.dropped += len(self.in_flight) + len(self.held)
        jobs = list(self.in_flight)
        self.in_flight.clear()
        self.stats.in_flight = 0
        waiters = [waiter for _, waiter in self.held]
        self.held.clear()
        return jobs, waiters


def parse_keys(key: Any) -> list[str]:
    """The key columns of ``key=`` (``None``: no key, the step is stateless).

    Examples
    --------
    >>> parse_keys("sensor"), parse_keys(["a", "b"]), parse_keys(None)
    (['sensor'], ['a', 'b'], [])
    >>> parse_keys(3)
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: key must be a column name or a list of them, not 3
    """
    keys = [key] if isinstance(key, str) else list(key) if isinstance(key, list | tuple) else []
    if key is not None and (not keys or not all(isinstance(k, str) for k in keys)):
        raise ConfigError(
            f"key must be a column name or a list of them, not {key!r}", param="key", value=key
        )
    return keys


def split_by_key(
    x: pd.DataFrame, keys: list[str], partitions: int
) -> Iterator[tuple[int, pd.DataFrame]]:
    """``(partition, rows)`` for each non-empty partition of ``x``, by a hash of its ``keys``
    columns (the same key always goes to the same partition; rows keep their order).

    Examples
    --------
    >>> df = pd.DataFrame({"k": ["a", "b", "a"], "v": [1, 2, 3]})
    >>> parts = dict(split_by_key(df, ["k"], 2))
    >>> sorted(len(p) for p in parts.values()), sum(map(len, parts.values()))
    ([1, 2], 3)
    """
    missing = [k for k in keys if k not in x.columns]
    if missing:
        raise ConfigError(
            f"key={missing[0]!r} is not a column of this stream; its columns are {list(x.columns)}",
            param="key",
            value=missing[0],
        )
    hashed = pd.util.hash_pandas_object(x[keys], index=False).to_numpy()
    part = hashed % np.uint64(partitions)
    for i in range(partitions):
        rows = np.flatnonzero(part == i)
        if len(rows):
            yield i, x.iloc[rows]


def combine(outs: list[Any], *, keyed: bool) -> Any:
    """One result from a job's outputs: the output itself, or (``keyed``) the partitions'
    frames concatenated in partition order (``None`` if no partition returned one).

    Examples
    --------
    >>> a, b = pd.DataFrame({"v": [1]}), pd.DataFrame({"v": [2, 3]})
    >>> combine([a, None, b], keyed=True)["v"].tolist(), combine([None], keyed=True)
    ([1, 2, 3], None)
    """
    if not keyed:
        return outs[0]
    frames = [o for o in outs if o is not None]
    if not frames:
        return None
    nonempty = [f for f in frames if len(f)] or frames[:1]
    return pd.concat(nonempty, ignore_index=True) if len(nonempty) > 1 else nonempty[0]


def placement(workers: Iterable[str], partitions: int) -> list[str]:
    """The worker of each key partition: the workers in sorted order, round and round.

    Examples
    --------
    >>> placement(["tcp://b", "tcp://a"], 3)
    ['tcp://a', 'tcp://b', 'tcp://a']
    """
    ordered = sorted(workers)
    return [ordered[i % len(ordered)] for i in range(partitions)]


def count_lost_workers(
    events: Iterable[tuple[float, Any]], *, since: float, prefix: str, stats: ParallelStats
) -> float:
    """Count the workers the scheduler's event log says were removed after ``since``, and
    the tasks whose key starts with ``prefix`` they held (the scheduler reruns those); return
    the time of the last event read.

    Examples
    --------
    >>> s = ParallelStats()
    >>> log = [(1.0, {"action": "remove-worker", "processing-tasks": ["p-1", "other-2"]}),
    ...        (2.0, {"action": "add-worker"})]
    >>> count_lost_workers(log, since=0.5, prefix="p-", stats=s), s.workers_lost, s.retried
    (2.0, 1, 1)
    """
    for stamp, msg in events:
        if stamp <= since or not isinstance(msg, dict):
            continue
        since = stamp
        if msg.get("action") == "remove-worker":
            stats.workers_lost += 1
            keys = set(msg.get("processing-tasks", ())) | set(msg.get("lost-computed-tasks", ()))
            stats.retried += sum(str(k).startswith(prefix) for k in keys)
    return since
