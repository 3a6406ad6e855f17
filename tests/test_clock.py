"""Time that tests can hold: the ManualClock itself, then pacing, lag, pause/step, backoff and
the dashboard's cadence driven by it (no wall-clock sleeps; every wait is on an event), and the
yield after every batch that keeps a slow pipeline from starving the loop."""

from __future__ import annotations

import asyncio
import socket

import numpy as np
import pandas as pd
import pytest

import streamlab
from streamlab.core.clock import LOOP_CLOCK, ManualClock, resolve_clock, wait_until
from streamlab.errors import ConfigError

from support import LineServer


def ten_second_rows(tmp_path, n=5):
    path = tmp_path / "slow.csv"
    times = pd.date_range("2026-01-01", periods=n, freq="10s", tz="UTC")
    pd.DataFrame({"time": times, "x": range(n)}).to_csv(path, index=False)
    return path


# -- the clock ----------------------------------------------------------------------------------
async def test_advance_wakes_the_due_sleepers_in_order_and_no_others():
    clock = ManualClock()
    woke = []

    async def nap(name, seconds):
        await clock.sleep(seconds)
        woke.append((name, clock.now()))

    tasks = [
        asyncio.ensure_future(nap(name, s))
        for name, s in [("c", 3.0), ("a", 1.0), ("b", 2.0), ("a2", 1.0)]
    ]
    await clock.wait_for_sleepers(4)
    assert clock.next_due == 1.0
    clock.advance(2.5)  # a, a2 (same deadline: the order they slept in), then b
    await wait_until(lambda: len(woke) == 3, what="three sleepers awake")
    assert woke == [("a", 2.5), ("a2", 2.5), ("b", 2.5)]
    assert clock.sleepers == 1 and clock.next_due == 3.0
    clock.advance(0.5)
    await asyncio.gather(*tasks)
    assert woke[-1] == ("c", 3.0) and clock.sleepers == 0 and clock.next_due is None


async def test_a_cancelled_sleeper_is_no_longer_counted():
    clock = ManualClock()
    task = asyncio.ensure_future(clock.sleep(5))
    await clock.wait_for_sleepers(1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert clock.sleepers == 0


async def test_time_is_exact_in_nanoseconds_and_wall_moves_with_it():
    clock = ManualClock(start=5.0, wall=1_000.0)
    for _ in range(10):
        clock.advance(0.1)
    assert clock.now() == 6.0 and clock.wall() == 1_001.0
    await clock.sleep(0)  # due now: returns after one turn of the loop
    await clock.sleep_until(1.0)  # in the past
    assert clock.now() == 6.0


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (-1, "seconds must be a finite number >= 0, not -1; time only moves forward"),
        (float("nan"), "seconds must be a finite number >= 0, not nan"),
        ("1s", "seconds must be a finite number >= 0, not '1s'"),
    ],
)
def test_advance_refuses_what_is_not_a_forward_step(bad, message):
    with pytest.raises(ConfigError, match=message):
        ManualClock().advance(bad)


def test_every_source_refuses_a_clock_that_is_not_one():
    with pytest.raises(ConfigError, match="clock must be a clock with now"):
        streamlab.generate("noise", clock="fast")
    with pytest.raises(ConfigError, match="clock=ManualClock"):
        streamlab.from_udp(0, clock=3)
    assert resolve_clock(None) is LOOP_CLOCK
    assert streamlab.from_tcp("127.0.0.1", 9, clock=None).clock is LOOP_CLOCK


async def test_wait_until_names_what_it_waited_for():
    with pytest.raises(TimeoutError, match=r"timed out after 0\.01 s waiting for the moon"):
        await wait_until(lambda: False, timeout=0.01, what="the moon")
    assert await wait_until(lambda: 42) == 42


# -- pacing ---------------------------------------------------------------------------------------
async def test_replay_at_speed_1_leaves_each_row_when_its_time_has_come(tmp_path):
    clock = ManualClock()
    src = streamlab.replay(ten_second_rows(tmp_path), time_column="time", speed=1, clock=clock)
    got = src.sink_to_list()
    src.start()
    await src.wait_rows(1)  # the first row leaves at once: it anchors the schedule
    for k in range(1, 5):
        await clock.wait_for_sleepers(1)
        clock.advance(9.9)
        await clock.wait_for_sleepers(1)  # the source woke, found nothing due, sleeps again
        assert sum(map(len, got)) == k, "a row left before its time"
        clock.advance(0.1)
        await src.wait_rows(k + 1)
    await src.wait()
    assert [len(b) for b in got] == [1, 1, 1, 1, 1]
    assert src.stats.lag == 0.0  # every row left exactly on time


@pytest.mark.parametrize("speed", [2, 0.5])
async def test_speed_scales_the_gaps(tmp_path, speed):
    clock = ManualClock()
    src = streamlab.replay(
        ten_second_rows(tmp_path, 3), time_column="time", speed=speed, clock=clock
    )
    src.start()
    await src.wait_rows(1)
    gap = 10 / speed
    await clock.wait_for_sleepers(1)
    clock.advance(gap - 0.001)
    await clock.wait_for_sleepers(1)
    assert src.stats.rows == 1
    clock.advance(0.001)
    assert await src.wait_rows(2) == 2
    src.stop()
    await src.wait()


async def test_lag_is_how_late_each_batch_left_on_the_clock():
    clock = ManualClock()
    # 2,000 rows a second of event time (0.5 ms apart), at most 20 rows a batch
    src = streamlab.generate("noise", rows=241, rate=2000, speed=1, batch_rows=20, clock=clock)
    lags = []
    src.sink(lambda df: lags.append((len(df), src.stats.lag)))
    src.start()
    await src.wait_rows(1)
    await clock.wait_for_sleepers(1)
    clock.advance(0.010)  # rows 1..20 become due together, the newest exactly now
    await src.wait_rows(21)
    await clock.wait_for_sleepers(1)
    assert lags == [(1, 0.0), (20, 0.0)]
    clock.advance(0.110)  # 220 rows due at once: 11 batches, the first ones late
    await src.wait()
    late = [lag for _, lag in lags[2:]]
    expected = [0.110 - 0.010 * k for k in range(1, 12)]  # row 40 was due at 20 ms, ...
    assert np.allclose(late, expected, atol=1e-9) and late[-1] == pytest.approx(0, abs=1e-9)


async def test_pause_holds_the_replay_however_much_time_passes_and_is_accounted(tmp_path):
    clock = ManualClock()
    src = streamlab.replay(ten_second_rows(tmp_path), time_column="time", speed=1, clock=clock)
    src.start()
    await src.wait_rows(1)
    await clock.wait_for_sleepers(1)
    src.pause()
    clock.advance(100.0)  # ten rows' worth of time
    await wait_until(lambda: src.holding, what="the source waiting at its gate")
    assert src.stats.rows == 1 and src.paused_seconds == 100.0
    src.step(1)  # the next row, now, whatever its time
    await src.wait_rows(2)
    await wait_until(lambda: src.holding, what="the source holding again")
    assert src.stats.rows == 2
    clock.advance(0.5)
    src.resume()
    assert src.paused_seconds == 100.5
    # re-anchored at the resume: the next row leaves now and the one after it 10 s later;
    # the 100 s spent paused do not make the rest burst out to catch up
    await src.wait_rows(3)
    await clock.wait_for_sleepers(1)
    clock.advance(9.999)
    await clock.wait_for_sleepers(1)
    assert src.stats.rows == 3
    clock.advance(0.001)
    await src.wait_rows(4)
    src.stop()
    await src.wait()
    assert src.paused_seconds == 100.5


async def test_a_speed_change_takes_effect_from_the_next_row(tmp_path):
    clock = ManualClock()
    src = streamlab.replay(ten_second_rows(tmp_path), time_column="time", speed=1, clock=clock)
    src.start()
    await src.wait_rows(1)
    await clock.wait_for_sleepers(1)
    clock.advance(4.0)
    src.speed = 10  # re-anchored: the waiting row leaves now, the next one 1 s later
    await src.wait_rows(2)
    await clock.wait_for_sleepers(1)
    clock.advance(0.999)
    await clock.wait_for_sleepers(1)
    assert src.stats.rows == 2
    clock.advance(0.001)
    await src.wait_rows(3)
    src.stop()
    await src.wait()


# -- backoff and lag of live sources --------------------------------------------------------------
async def test_from_tcp_backs_off_on_its_clock_doubling_to_the_cap():
    server = await LineServer([]).start()
    port = server.port
    await server.stop()  # nothing listens: every connect is refused
    clock = ManualClock()
    src = streamlab.from_tcp("127.0.0.1", port, backoff=1, max_backoff=4, clock=clock)
    src.start()
    waits = []
    for _ in range(5):
        await clock.wait_for_sleepers(1)
        waits.append(clock.next_due - clock.now())
        clock.advance(waits[-1])
    assert waits == [1.0, 2.0, 4.0, 4.0, 4.0]
    assert src.running and "ConnectionRefusedError" in src.last_error
    src.stop()
    await src.wait()


async def test_a_live_sources_age_is_read_from_the_clocks_wall_time():
    clock = ManualClock(wall=pd.Timestamp("2026-03-01T12:00:10Z").timestamp())
    src = streamlab.from_udp(0, parse="csv", columns=["time", "x"], time_column="time", clock=clock)
    src.start()
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.sendto(b"2026-03-01T12:00:00Z,1\n2026-03-01T12:00:04Z,2", src.address)
    await src.wait_rows(2)
    assert src.stats.age == 6.0  # the newest event time is 6 s old by the wall clock
    assert src.stats.lag == 0.0  # but it left as soon as it arrived (no clock time passed)
    src.stop()
    await src.wait()
    tx.close()


@pytest.mark.parametrize("kind", ["udp", "tcp"])
async def test_a_live_sources_lag_is_how_long_its_records_waited_since_arrival(kind):
    """Lag is measured from arrival, never from the records' event times: a paused source
    holding records for 3 s is 3 s behind, whatever year the records were stamped in."""
    clock = ManualClock(wall=pd.Timestamp("2026-03-01T12:00:00Z").timestamp())
    opts = {"parse": "csv", "columns": ["time", "x"], "time_column": "time", "clock": clock}
    if kind == "udp":
        src = streamlab.from_udp(0, **opts)
    else:
        src = streamlab.listen_tcp(0, header=False, **opts)
    src.start()
    src.pause()
    if kind == "udp":
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tx.sendto(b"1990-01-01T00:00:00Z,1\n", src.address)
    else:
        tx = socket.create_connection(src.address)
        tx.sendall(b"1990-01-01T00:00:00Z,1\n")
    await wait_until(lambda: src.holding and src.arrived is not None)
    clock.advance(3.0)
    src.resume()
    await src.wait_rows(1)
    assert src.stats.lag == 3.0
    assert src.stats.age > 36 * 365 * 86_400  # the recording is old; that is not lag
    src.stop()
    await src.wait()
    tx.close()


# -- the dashboard's rate (its cadence: test_dashboard.py) ---------------------------------------------------------------------
async def test_dashboard_rate_is_rows_over_clock_time():
    clock = ManualClock()
    src = streamlab.generate("noise", rows=None, rate=1000, speed=1, batch_rows=1000, clock=clock)
    dash = src.dashboard(live=False, clock=clock)
    src.start()
    await src.wait_rows(1)
    dash.update_status()
    rows = src.stats.rows
    await clock.wait_for_sleepers(1)
    clock.advance(0.5)  # 500 more rows of event time become due
    await src.wait_rows(rows + 500)
    assert dash.status()["rows_per_s"] == 1000.0
    src.stop()
    await src.wait()
    dash.close()


# -- no pipeline starves the loop ----------------------------------------------------------------
async def test_a_source_behind_its_pace_still_yields_after_every_batch(tmp_path):
    """A paced replay whose rows are all due (the pipeline is slower than the pace) used to emit
    back to back without yielding: other cells, widgets and Pause waited for the whole file."""
    clock = ManualClock()
    path = tmp_path / "dense.csv"
    times = pd.date_range("2026-01-01", periods=200, freq="10ms", tz="UTC")
    pd.DataFrame({"time": times, "x": range(200)}).to_csv(path, index=False)
    src = streamlab.replay(path, time_column="time", speed=1, max_rows=1, clock=clock)
    other_turns = [0]
    seen_turns = []
    src.sink(lambda df: seen_turns.append(other_turns[0]))

    async def other_cell():
        while src.running or not src.started:
            other_turns[0] += 1
            await asyncio.sleep(0)

    src.start()
    await src.wait_rows(1)
    await clock.wait_for_sleepers(1)
    clock.advance(10.0)  # far behind: all 199 remaining rows are due, one row per batch
    await asyncio.gather(src.wait(), other_cell())
    gaps = np.diff(seen_turns[1:])
    assert len(seen_turns) == 200 and (gaps >= 1).all(), "batches went out back to back"


async def test_pause_takes_effect_within_a_batch_of_a_source_running_flat_out():
    src = streamlab.generate("noise", rows=None, batch_rows=50)
    src.start()
    await src.wait_rows(5_000)
    src.pause()  # from another task, while the source is running as fast as it can
    held = src.stats.rows
    await wait_until(lambda: src.holding, what="the source holding")
    assert src.stats.rows == held  # nothing left after pause() returned
    src.stop()
    await src.wait()
