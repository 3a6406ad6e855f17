"""A dask.distributed client on the running event loop (``await streamlab.scale.cluster(2)``),
and what ``stream.parallel`` sends to its workers.

The client is asynchronous (``Client(..., asynchronous=True)``): it lives on the loop that is
already running (the kernel's loop in Jupyter, ``asyncio.run`` in scripts and tests), so no
private IOLoop thread is started in this process. By default it starts a ``LocalCluster`` of
worker *processes* (a CPU-heavy step gets real cores, and a crashed worker is restarted by its
nanny); with ``address=`` it connects to a scheduler that is already running. Nothing is started
when this module is imported, or when :func:`cluster` is called: only when it is awaited.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from ..core import lifecycle
from ..core.checks import check_number
from ..errors import ConfigError, StateError

__all__ = ["Cluster", "StepActor", "check_picklable", "cluster", "import_distributed", "run_batch"]

_SCALE_MISSING = (  # the message for a missing `scale` extra, with what is missing
    "scale-out needs {what}, which is not installed; "
    "install it with: pip install 'streamlab[scale]'"
)

# notebook cell id -> the cluster that cell started; running the cell again closes it first
_BY_CELL: dict[str, Cluster] = {}


def import_distributed():
    """``distributed``, or a :class:`~streamlab.errors.ConfigError` that says how to install it.

    Examples
    --------
    >>> import_distributed().__name__
    'distributed'
    """
    try:
        import distributed
    except ImportError as exc:  # the `scale` extra is not installed
        raise ConfigError(_SCALE_MISSING.format(what="dask.distributed")) from exc
    return distributed


def cluster(
    n_workers: int = 2,
    *,
    address: str | None = None,
    threads_per_worker: int = 1,
    processes: bool = True,
    **kw: Any,
) -> Cluster:
    """A dask.distributed ``Client`` on the running loop, ready when awaited.

    ``async with cluster(2) as client:`` starts a ``LocalCluster`` of ``n_workers`` worker
    processes with ``threads_per_worker`` threads each, and closes it (workers included) at the
    end of the block. ``client = await cluster(2)`` does the same and leaves the closing to
    ``await client.close()``. ``address="tcp://host:8786"`` connects to a running scheduler
    instead and waits until ``n_workers`` workers have joined it. ``kw`` go to ``LocalCluster``
    (``memory_limit="2GiB"``, ``dashboard_address=":8787"``...); the dashboard is on a free
    port by default: ``client.dashboard_link`` says where.

    Workers import streamlab to run ``stream.parallel`` steps: remote workers need it installed.

    Examples
    --------
    >>> c = cluster(2)            # nothing starts until it is awaited
    >>> c
    <streamlab.scale.cluster: LocalCluster of 2 workers (processes) x 1 thread, not started>
    >>> cluster(0)
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: n_workers must be >= 1, not 0; for example n_workers=1
    """
    return Cluster(
        n_workers,
        address=address,
        threads_per_worker=threads_per_worker,
        processes=processes,
        **kw,
    )


class Cluster:
    """What :func:`cluster` returns: awaitable (gives the client), an async context manager,
    and closable with :meth:`close`. Nothing starts until it is awaited or entered.

    >>> import streamlab
    >>> streamlab.cluster(2, processes=False)
    <streamlab.scale.cluster: LocalCluster of 2 workers (in this process) x 1 thread, not started>
    >>> streamlab.cluster(address="tcp://10.0.0.5:8786")
    <streamlab.scale.cluster: scheduler tcp://10.0.0.5:8786, not started>
    """

    def __init__(
        self,
        n_workers: int,
        *,
        address: str | None,
        threads_per_worker: int,
        processes: bool,
        **kw: Any,
    ) -> None:
        self.n_workers = check_number("n_workers", n_workers, low=1, integer=True)
        self.threads_per_worker = check_number(
            "threads_per_worker", threads_per_worker, low=1, integer=True
        )
        if address is not None and not isinstance(address, str):
            raise ConfigError(
                f"address must be a scheduler address such as 'tcp://10.0.0.5:8786', "
                f"not {address!r}; or None to start a LocalCluster"
            )
        if address is not None and kw:
            raise ConfigError(
                f"{', '.join(sorted(kw))} configure the LocalCluster that cluster() starts; "
                f"with address={address!r} the cluster exists already: leave them out"
            )
        self.address = address
        self.processes = bool(processes)
        self.kw = {"dashboard_address": "127.0.0.1:0", **kw}  # loopback, like every listener
        self.client = None
        self._starting: asyncio.Task | None = None

    def __repr__(self) -> str:
        if self.address is not None:
            where = f"scheduler {self.address}"
        else:
            n, tpw = self.n_workers, self.threads_per_worker
            kind = "processes" if self.processes else "in this process"
            where = f"LocalCluster of {n} worker{'s' * (n > 1)} ({kind}) x {tpw} thread{'s' * (tpw > 1)}"
        state = "not started" if self.client is None else self.client.status
        return f"<streamlab.scale.cluster: {where}, {state}>"

    # -- starting -----------------------------------------------------------------------------
    def __await__(self):
        return self.start().__await__()

    async def __aenter__(self):
        return await self.start()

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    async def start(self):
        """Start the cluster (or connect) and return the asynchronous ``Client``."""
        if self._starting is None:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                raise StateError(
                    "cluster() is started with await, on a running event loop: in Jupyter "
                    "`client = await streamlab.scale.cluster(2)`; in a script inside a "
                    "coroutine run by asyncio.run"
                ) from None
            self._starting = asyncio.ensure_future(self._start())
        return await asyncio.shield(self._starting)

    async def _start(self):
        distributed = import_distributed()
        key = lifecycle.cell_key()
        earlier = _BY_CELL.pop(key, None) if key is not None else None
        if earlier is not None:  # the same notebook cell run again: replace its cluster
            await earlier.close()
        if self.address is None:
            client = distributed.Client(
                asynchronous=True,
                n_workers=self.n_workers,
                threads_per_worker=self.threads_per_worker,
                processes=self.processes,
                **self.kw,
            )  # started by the client, so client.close() closes the LocalCluster too
        else:
            client = distributed.Client(self.address, asynchronous=True)
        self.client = client
        await client
        try:
            await client.wait_for_workers(self.n_workers, timeout=60)
        except (asyncio.TimeoutError, TimeoutError):
            joined = len(await client.nthreads())
            await client.close()
            raise StateError(
                f"only {joined} of n_workers={self.n_workers} workers joined "
                f"{self.address or 'the LocalCluster'} within 60 s; start more workers, or "
                f"pass n_workers={max(joined, 1)}"
            ) from None
        if key is not None:
            _BY_CELL[key] = self
        return client

    async def close(self) -> None:
        """Close the client and, for a LocalCluster, its scheduler and workers."""
        if self._starting is None:
            return
        if not self._starting.done():
            with contextlib.suppress(Exception):
                await self._starting
        if self.client is not None and self.client.status not in ("closed", "closing"):
            await self.client.close()

    @property
    def dashboard_link(self) -> str | None:
        """Where the dask dashboard is (workers, tasks in flight, per-worker progress)."""
        if self.client is None:
            return None
        with contextlib.suppress(Exception):
            return self.client.dashboard_link
        return None


# -- what is sent to the workers ----------------------------------------------------------
def run_batch(func, batch):
    """Runs on a worker: ``(worker address, func(batch))``."""
    from distributed import get_worker

    return get_worker().address, func(batch)


class StepActor:
    """Runs on a worker (as a dask Actor): one key partition's state object, made there by
    ``factory()``, fed that partition's rows in order."""

    def __init__(self, factory) -> None:
        self.state = factory()

    def update(self, batch):
        return self.state.update(batch)

    def end_of_input(self):
        hook = getattr(self.state, "end_of_input", None)
        return hook() if callable(hook) else None


def describe(func) -> str:
    """A readable name for ``func``: module and qualified name.

    Examples
    --------
    >>> describe(len)
    'builtins.len'
    """
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None)
    if name is None:
        return repr(func)
    module = getattr(func, "__module__", None)
    return f"{module}.{name}" if module else name


def check_picklable(func, *, name: str = "func") -> None:
    """Raise a :class:`~streamlab.errors.ConfigError` if cloudpickle cannot send ``func``.

    Examples
    --------
    >>> import threading
    >>> lock = threading.Lock()
    >>> check_picklable(lambda df: df)
    >>> check_picklable(lambda df: lock and df)
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: func=streamlab.scale.cluster.<lambda> cannot be sent to the workers: pickling it failed with TypeError: cannot pickle '_thread.lock' object. A function run on a cluster must not hold sockets, locks, open files, clients or streams (a lambda or closure takes every outside variable it uses along): create such things inside the function, or pass plain values
    """
    try:
        import cloudpickle
    except ImportError as exc:  # the `scale` extra is not installed
        raise ConfigError(_SCALE_MISSING.format(what="cloudpickle")) from exc
    try:
        cloudpickle.dumps(func)
    except Exception as exc:
        raise ConfigError(
            f"{name}={describe(func)} cannot be sent to the workers: pickling it failed with "
            f"{type(exc).__name__}: {exc}. A function run on a cluster must not hold sockets, "
            "locks, open files, clients or streams (a lambda or closure takes every outside "
            "variable it uses along): create such things inside the function, or pass plain "
            "values"
        ) from None
