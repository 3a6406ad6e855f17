"""The one-event-loop rules: import starts nothing; sources run on the running loop; a notebook
cell run again replaces what it started (checked in a real ipykernel)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import streamlab
from streamlab.errors import StateError

from support import Kernel, wait_until


def test_import_starts_nothing_and_running_leaves_no_thread():
    code = textwrap.dedent("""
        import threading, streamz.core, streamlab
        print(threading.active_count(), len(streamz.core._io_loops))
        src = streamlab.generate("sine", rows=10_000)
        src.timed_window  # streamz operators are there
        n = src.map(len).sink_to_list()
        streamlab.run(src)
        print(threading.active_count(), len(streamz.core._io_loops), sum(n))
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[:2] == ["1 0", "1 0 10000"]


def test_start_without_a_loop_says_what_to_do():
    src = streamlab.generate("noise", rows=1)
    with pytest.raises(
        StateError,
        match=r"start\(\) needs a running event loop: in a script "
        r"call streamlab.run\(source\)",
    ):
        src.start()


async def test_run_inside_a_running_loop_says_what_to_do():
    src = streamlab.generate("noise", rows=1)
    with pytest.raises(
        StateError,
        match=r"call source.start\(\) instead, or `await "
        r"streamlab.arun\(...\)`",
    ):
        streamlab.run(src)


async def test_a_source_built_in_a_running_loop_runs_streamz_timers_on_it():
    src = streamlab.generate("noise", rows=5000, batch_rows=100)
    windows = src.timed_window(0.01).sink_to_list()
    await streamlab.arun(src)
    # the last window fires on streamz's timer, on this loop, after the source has ended
    await wait_until(lambda: sum(len(b) for w in windows for b in w) == 5000, what="timers")


def test_a_downstream_error_stops_the_source_and_is_raised():
    src = streamlab.generate("noise", rows=100, batch_rows=10)

    def boom(df):
        raise ZeroDivisionError("user code failed")

    src.sink(boom)
    with pytest.raises(ZeroDivisionError, match="user code failed"):
        streamlab.run(src)


def test_rerunning_a_notebook_cell_replaces_its_source():
    with Kernel() as k:
        cell = (
            "import streamlab\n"
            "src = streamlab.generate('sine', speed=1, rate=100)\n"
            "src.start()\n"
            "sources = globals().setdefault('sources', []); sources.append(src)\n"
        )
        k.run(cell, "cell-A")
        k.run("await sources[0].wait_rows(10)", "cell-B")  # another cell runs meanwhile
        assert k.value("[s.running for s in sources]") == [True]
        k.run(cell, "cell-A")  # the same cell again
        k.run("await sources[0].wait(); await sources[1].wait_rows(10)", "cell-B")
        assert k.value("[s.running for s in sources]") == [False, True]
        k.run(cell, "cell-C")  # another cell: both run
        k.run("await sources[2].wait_rows(10)", "cell-B")
        assert k.value("[s.running for s in sources]") == [False, True, True]
        assert k.value("sources[1].stats.rows > 0")


def test_import_stays_light_and_learning_steps_load_on_first_use():
    code = textwrap.dedent("""
        import sys, streamlab
        from streamz import Stream
        print("sklearn" in sys.modules)
        from sklearn.linear_model import SGDRegressor
        step = Stream().learn(SGDRegressor(), target="y", features=["x"])
        print(type(step).__module__, "sklearn" in sys.modules, streamlab.learn.__name__)
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[:2] == ["False", "streamlab.learn.steps True streamlab.learn"]
