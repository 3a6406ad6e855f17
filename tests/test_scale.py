"""stream.parallel on a real two-worker LocalCluster (worker processes), against the same steps
run locally: equal results in order, keyed state per key, back-pressure, a worker killed
mid-stream, and errors people can act on before anything is sent."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

import numpy as np
import pandas as pd
import pytest
import pytest_asyncio
from streamz import Stream

import streamlab
import streamlab.scale  # registers stream.parallel
from streamlab.core.source import BatchSource
from streamlab.errors import ConfigError, StateError
from streamlab.scale import cluster

from support import wait_until

# one cluster for the module (start-up takes about a second), so one event loop for the module
pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]


class Frames(BatchSource):
    """A source that emits the given frames in order."""

    def __init__(self, frames) -> None:
        super().__init__(stream_name="frames")
        self.frames = list(frames)

    async def _produce(self) -> None:
        for df in self.frames:
            await self.emit_batch(df)


def batches(n: int, rows: int = 200, keys: int = 7, seed: int = 1) -> list[pd.DataFrame]:
    rng = np.random.default_rng(seed)
    return [
        pd.DataFrame(
            {
                "batch": np.full(rows, b),
                "key": [f"s{k}" for k in rng.integers(0, keys, rows)],
                "value": rng.normal(size=rows),
                "units": rng.integers(-1000, 1000, rows),
            }
        )
        for b in range(n)
    ]


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    """A per-batch step: aggregates per key, tagged with the batch id."""
    out = df.groupby("key", sort=True)["value"].agg(["size", "sum", "max", "std"]).reset_index()
    return out.assign(batch=df["batch"].iloc[0])


def wait_for_gate(df: pd.DataFrame) -> None:
    """On the worker: a batch whose frame names a gate (a file path in ``attrs``) waits until
    the test opens it (creates the file). The test decides when work ends, not a guessed sleep;
    the bound only stops a test that forgot to open its gate."""
    gate = df.attrs.get("gate")
    if gate is None:
        return
    deadline = time.monotonic() + 60
    while not os.path.exists(gate):
        if time.monotonic() > deadline:
            raise TimeoutError(f"gate {gate} was never opened")
        time.sleep(0.005)


def gated(frames: list[pd.DataFrame], gate, which=None) -> list[pd.DataFrame]:
    """``frames`` with the batches in ``which`` (default: all) waiting for ``gate``."""
    for i, df in enumerate(frames):
        if which is None or i in which:
            df.attrs["gate"] = str(gate)
    return frames


def gated_ids(df: pd.DataFrame) -> pd.DataFrame:
    wait_for_gate(df)
    return df[["batch"]].drop_duplicates()


class RunningTotals:
    """Keyed state: rows and sum of units per key so far; emits the keys a batch touched.

    (Integer sums, so "equal" can be exact: pandas may add a group's floats in another order
    when a batch holds fewer groups, which changes the last bits of a float sum.)"""

    def __init__(self) -> None:
        self.totals = pd.DataFrame({"n": pd.Series(dtype="int64"), "sum": pd.Series(dtype="int64")})

    def update(self, df: pd.DataFrame) -> pd.DataFrame:
        g = df.groupby("key", sort=True)["units"].agg(n="size", sum="sum")
        self.totals = self.totals.add(g, fill_value=0).astype("int64")
        return self.totals.loc[g.index].reset_index().assign(batch=df["batch"].iloc[0])

    def end_of_input(self) -> pd.DataFrame:
        return self.totals.reset_index().assign(batch=-1)


class GatedTotals(RunningTotals):
    def update(self, df: pd.DataFrame) -> pd.DataFrame:
        wait_for_gate(df)
        return super().update(df)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client():
    async with cluster(2) as c:
        yield c


async def run_through(step_of, frames) -> list:
    src = Frames(frames)
    out = step_of(src).sink_to_list()
    await streamlab.arun(src)
    return out


async def test_cluster_results_equal_local_results_exactly_and_in_order(client):
    frames = batches(24)
    local = [summarize(df) for df in frames]
    step = None

    def build(src):
        nonlocal step
        step = src.parallel(summarize, client=client)
        return step

    got = await run_through(build, frames)
    assert len(got) == len(local)
    for a, b in zip(got, local, strict=True):
        pd.testing.assert_frame_equal(a, b)
    s = step.stats
    assert (s.submitted, s.done, s.in_flight, s.failed, s.lost) == (24, 24, 0, 0, 0)
    assert len(s.per_worker) == 2 and sum(s.per_worker.values()) == 24  # both workers worked
    assert step.max_in_flight == 4 and s.peak_in_flight <= 4


async def test_dashboard_counters_show_workers_and_batches_in_flight(client):
    from streamlab.viz import counters

    src = Frames(batches(12))
    step = src.parallel(summarize, client=client)
    dash = step.dashboard([counters(step)], live=False)
    await streamlab.arun(src)
    dash.refresh()
    data = dict(zip(*dash.plots[0].source.data.values(), strict=True))
    assert data["submitted"] == "12" and data["done"] == "12" and data["in_flight"] == "0"
    workers = {k: v for k, v in data.items() if k.startswith("per_worker ")}
    assert len(workers) == 2
    for name, text in workers.items():
        assert text.startswith(f"{step.stats.per_worker[name.split(' ', 1)[1]]:,} (")


async def test_keyed_state_lives_on_one_worker_per_key_and_matches_local(client):
    frames = batches(12, keys=9)
    reference = RunningTotals()
    local = pd.concat(
        [reference.update(df) for df in frames] + [reference.end_of_input()], ignore_index=True
    )
    step = None

    def build(src):
        nonlocal step
        step = src.parallel(RunningTotals, client=client, key="key")
        return step

    got = pd.concat(await run_through(build, frames), ignore_index=True)
    assert step.partitions == 2 and len(step.stats.per_worker) == 2
    for k in sorted(local["key"].unique()):  # per key: the same rows in the same order
        pd.testing.assert_frame_equal(
            got[got["key"] == k].reset_index(drop=True),
            local[local["key"] == k].reset_index(drop=True),
        )
    assert len(got) == len(local)


async def test_back_pressure_keeps_at_most_max_in_flight(client, tmp_path):
    gate = tmp_path / "open"
    src = Frames(gated(batches(12, rows=5), gate))  # every batch waits on the workers
    step = src.parallel(gated_ids, client=client, max_in_flight=2)
    got = step.sink_to_list()
    handed = []  # per batch the source hands over: (handed so far - results out, futures held)

    def futures_held() -> int:  # the dask futures of this step the client holds right now
        return sum(str(k).startswith(step._prefix) for k in client.futures)

    src.sink(lambda df: handed.append((len(handed) + 1 - len(got), futures_held())))
    src.start()
    try:
        await wait_until(lambda: step.stats.waits == 1, what="the source waiting for room")
        # two batches on the cluster, the third held back, the source waiting: nothing more
        assert (futures_held(), step.stats.in_flight, len(handed), got) == (2, 2, 3, [])
    finally:
        gate.touch()
    await src.wait()
    assert max(f for _, f in handed) == 2  # never more than 2 on the cluster
    assert max(a for a, _ in handed) == 3  # 2 in flight + the one batch the source waits on
    assert step.stats.peak_in_flight == 2 and step.stats.waits > 0
    assert [int(df["batch"].item()) for df in got] == list(range(12))


async def test_unordered_emits_as_completed_with_nothing_lost(client, tmp_path):
    gate = tmp_path / "open"
    src = Frames(gated(batches(8, rows=5), gate, which={0}))  # batch 0 waits on its worker
    step = src.parallel(gated_ids, client=client, ordered=False, max_in_flight=4)
    got = step.sink_to_list()
    src.start()
    try:  # the batches after it come out meanwhile: unordered does not wait for batch 0
        await wait_until(lambda: len(got) >= 3, what="results of the batches after batch 0")
    finally:
        gate.touch()
    await src.wait()
    ids = [int(df["batch"].item()) for df in got]
    assert sorted(ids) == list(range(8)) and ids[0] != 0


async def test_an_error_in_the_function_stops_the_stream_like_locally(client):
    def boom(df):
        if df["batch"].iloc[0] == 3:
            raise ValueError("bad batch 3")
        return df

    src = Frames(batches(10, rows=5))
    step = src.parallel(boom, client=client, retries=0, max_in_flight=2)
    with pytest.raises(ValueError, match="bad batch 3"):
        await streamlab.arun(src)
    assert step.stats.failed == 1 and step.stats.done <= 3


async def processing_worker(c, step) -> str:
    """A worker that is running one of ``step``'s tasks now."""
    for worker, keys in (await c.processing()).items():
        if any(str(k).startswith(step._prefix) for k in keys):
            return worker
    raise AssertionError("no worker is running a task of the step")


async def test_a_worker_killed_mid_stream_loses_and_duplicates_nothing(tmp_path):
    gate = tmp_path / "open"
    async with cluster(2) as c:
        pids = await c.run(os.getpid)
        src = Frames(gated(batches(30, rows=5), gate, which=range(6, 30)))
        step = src.parallel(gated_ids, client=c, max_in_flight=4)
        got = step.sink_to_list()
        src.start()
        try:  # batches 0-5 done, 6-9 running on the workers (waiting at the gate)
            await wait_until(
                lambda: len(got) == 6 and step.stats.in_flight == 4, what="the first results"
            )
            victim = await processing_worker(c, step)
            os.kill(pids[victim], signal.SIGKILL)  # a worker killed in the middle of a batch
        finally:
            gate.touch()
        await src.wait()
        assert [int(df["batch"].item()) for df in got] == list(range(30))
        assert step.stats.workers_lost >= 1 and step.stats.retried >= 1
        assert step.stats.done == 30 and step.stats.lost == 0
        await wait_until(lambda: len(c.cluster.workers) == 2, what="the nanny's restart")


async def test_keyed_state_on_a_killed_worker_stops_the_stream_with_a_clear_error(tmp_path):
    gate = tmp_path / "open"
    async with cluster(2) as c:
        pids = await c.run(os.getpid)
        src = Frames(gated(batches(40, rows=20), gate, which=range(8, 40)))
        step = src.parallel(GatedTotals, client=c, key="key")
        got = step.sink_to_list()
        src.start()
        try:  # batches 0-7 done, the next ones held at the gate by both partitions' states
            await wait_until(lambda: len(got) == 8, what="the first results")
            victim = sorted(pids)[0]
            os.kill(pids[victim], signal.SIGKILL)
        finally:
            gate.touch()
        with pytest.raises(StateError) as info:
            await src.wait()
        assert str(info.value) == (
            f"parallel(GatedTotals): the state of key partition {step._placed.index(victim)} "
            f"lived on worker {victim}, which was lost; keyed state is not replicated, so "
            "results from here on would be wrong. Start the stream again to begin with fresh state"
        )
        assert step.stats.lost == 1 and len(got) == step.stats.done < 40


async def test_close_cancels_what_is_in_flight_and_counts_it(client, tmp_path):
    gate = tmp_path / "open"
    src = Frames(gated(batches(20, rows=5), gate, which=range(2, 20)))
    step = src.parallel(gated_ids, client=client, max_in_flight=2)
    got = step.sink_to_list()
    src.start()
    try:  # batches 0-1 done, 2-3 in flight (at the gate) when the step closes
        await wait_until(lambda: len(got) == 2 and step.stats.in_flight == 2, what="results")
        await step.close()
    finally:
        gate.touch()  # the workers' threads go free for the next tests
    with pytest.raises(StateError) as info:
        await src.wait()
    assert str(info.value) == "parallel(gated_ids) was closed; build a new step to go on"
    assert step.stats.dropped >= 1 and step.stats.done + step.stats.dropped <= 20
    assert step.stats.in_flight == 0


def _closes_over_lock():
    lock = threading.Lock()
    return (lambda df: lock and df), None


def _closes_over_socket():
    sock = socket.socket()
    return (lambda df: sock and df), sock


def _closes_over_file():
    log = open(os.devnull, "w")  # noqa: SIM115 (the point is an open file in the closure)
    return (lambda df: log.write("x") and df), log


FIX = (
    "A function run on a cluster must not hold sockets, locks, open files, clients or streams (a "
    "lambda or closure takes every outside variable it uses along): create such things inside "
    "the function, or pass plain values"
)


@pytest.mark.parametrize(
    ("make", "name", "why"),
    [
        (_closes_over_lock, "_closes_over_lock", "TypeError: cannot pickle '_thread.lock' object"),
        (_closes_over_socket, "_closes_over_socket", "TypeError: cannot pickle 'socket' object"),
        (
            _closes_over_file,
            "_closes_over_file",
            "PicklingError: Cannot pickle files that are not opened for reading: w",
        ),
    ],
)
async def test_an_unpicklable_function_is_refused_before_anything_is_sent(client, make, name, why):
    before = len(client.futures)
    func, resource = make()
    with pytest.raises(ConfigError) as info:
        Stream().parallel(func, client=client)
    if resource is not None:
        resource.close()
    assert str(info.value) == (
        f"func=test_scale.{name}.<locals>.<lambda> cannot be sent to the workers: pickling it "
        f"failed with {why}. {FIX}"
    )
    assert len(client.futures) == before


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_in_flight": 0}, "max_in_flight must be >= 1, not 0; for example max_in_flight=1"),
        ({"retries": -1}, "retries must be >= 0, not -1; for example retries=0"),
        ({"key": 3}, "key must be a column name or a list of them, not 3"),
    ],
)
async def test_bad_arguments_name_the_parameter(client, kwargs, message):
    with pytest.raises(ConfigError) as info:
        Stream().parallel(summarize, client=client, **kwargs)
    assert str(info.value) == message


async def test_a_client_that_is_not_asynchronous_is_refused():
    with pytest.raises(ConfigError, match=r"^client must be an asynchronous distributed.Client"):
        Stream().parallel(summarize, client=None)


async def test_a_missing_key_column_names_the_columns(client):
    src = Frames(batches(2, rows=5))
    step = src.parallel(RunningTotals, client=client, key="sensor")
    with pytest.raises(ConfigError) as info:
        await streamlab.arun(src)
    assert step.stats.submitted == 0
    assert str(info.value) == (
        "key='sensor' is not a column of this stream; its columns are ['batch', 'key', 'value', 'units']"
    )


async def test_cluster_starts_nothing_until_awaited_and_closes_what_it_started():
    c = cluster(1, processes=False)
    assert repr(c) == (
        "<streamlab.scale.cluster: LocalCluster of 1 worker (in this process) x 1 thread, "
        "not started>"
    )
    async with c as client:
        assert len(await client.nthreads()) == 1 and c.dashboard_link.startswith("http")
    assert client.status == "closed" and client.cluster.status.name == "closed"


async def test_cluster_on_a_scheduler_address_leaves_that_cluster_running(client):
    address = client.scheduler.address
    async with cluster(2, address=address) as other:
        assert other is not client and sorted(await other.nthreads()) == sorted(
            await client.nthreads()
        )
        got = await run_through(lambda s: s.parallel(summarize, client=other), batches(3))
        assert [int(df["batch"].iloc[0]) for df in got] == [0, 1, 2]
    assert other.status == "closed" and len(await client.nthreads()) == 2  # still running


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((0,), {}, "n_workers must be >= 1, not 0; for example n_workers=1"),
        (
            (2,),
            {"threads_per_worker": 1.5},
            "threads_per_worker must be an integer, not 1.5; for example threads_per_worker=1",
        ),
        (
            (),
            {"address": "tcp://10.0.0.5:8786", "memory_limit": "1GiB"},
            "memory_limit configure the LocalCluster that cluster() starts; with "
            "address='tcp://10.0.0.5:8786' the cluster exists already: leave them out",
        ),
    ],
)
async def test_bad_cluster_arguments_name_the_parameter(args, kwargs, message):
    with pytest.raises(ConfigError) as info:
        cluster(*args, **kwargs)
    assert str(info.value) == message
