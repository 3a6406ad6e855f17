"""The bookkeeping of ``stream.parallel`` (scale/fanout.py), driven with plain objects: no
cluster, no event loop."""

from __future__ import annotations

import pandas as pd
import pytest

from streamlab.errors import ConfigError, StateError
from streamlab.scale.fanout import FanOut, combine, count_lost_workers, split_by_key


class Job:
    def __init__(self, name: str) -> None:
        self.name = name
        self.finished = False

    def done(self) -> bool:
        return self.finished


def released(fan: FanOut, finish_order: list[str], jobs: dict[str, Job]) -> list[str]:
    """Finish the jobs one at a time in ``finish_order``; what left after each, in order."""
    out = []
    for name in finish_order:
        jobs[name].finished = True
        while (job := fan.pop_ready()) is not None:
            out.append(job.name)
    return out


@pytest.mark.parametrize(
    ("ordered", "finish_order", "expected"),
    [
        (True, ["c", "a", "b"], ["a", "b", "c"]),  # c waits for a and b
        (True, ["a", "b", "c"], ["a", "b", "c"]),
        (False, ["c", "a", "b"], ["c", "a", "b"]),  # as they complete
        (False, ["b", "c", "a"], ["b", "c", "a"]),
    ],
)
def test_results_leave_in_input_order_or_as_they_complete(ordered, finish_order, expected):
    fan: FanOut[Job] = FanOut(3, ordered=ordered)
    jobs = {n: Job(n) for n in "abc"}
    for job in jobs.values():
        fan.started(job)
    assert released(fan, finish_order, jobs) == expected
    assert (fan.stats.submitted, fan.stats.in_flight, fan.stats.peak_in_flight) == (3, 0, 3)


def test_held_batches_wait_for_room_and_are_submitted_oldest_first():
    fan: FanOut[Job] = FanOut(1, ordered=True)
    first = Job("first")
    fan.started(first)
    assert not fan.admits()
    fan.hold("x1", "room1", name="p")
    assert not fan.admits()  # something is held: a new batch queues behind it
    assert list(fan.unheld()) == []  # no room yet
    first.finished = True
    assert fan.pop_ready() is first
    submitted = []
    for batch, room in fan.unheld():
        submitted.append((batch, room))
        fan.started(Job(batch))  # fills the one place: the generator stops after this one
    assert submitted == [("x1", "room1")] and fan.stats.waits == 1


def test_a_producer_that_does_not_wait_is_refused():
    fan: FanOut[Job] = FanOut(2, ordered=True)
    fan.started(Job("a")), fan.started(Job("b"))
    fan.hold("x1", None, name="parallel(f)")
    fan.hold("x2", None, name="parallel(f)")
    with pytest.raises(StateError, match=r"^parallel\(f\): 2 batches are already held back"):
        fan.hold("x3", None, name="parallel(f)")


def test_discard_counts_what_was_dropped_and_hands_back_jobs_and_waiters():
    fan: FanOut[Job] = FanOut(2, ordered=True)
    a, b = Job("a"), Job("b")
    fan.started(a), fan.started(b)
    fan.hold("x", "room", name="p")
    assert fan.discard() == ([a, b], ["room"])
    assert (fan.stats.dropped, fan.stats.in_flight, len(fan.held)) == (3, 0, 0)


def test_finished_counts_per_worker():
    fan: FanOut[Job] = FanOut(2, ordered=True)
    assert fan.finished([("w1", 1), ("w2", 2), ("w1", 3)]) == [1, 2, 3]
    assert fan.finished([("w2", None)]) == [None]
    assert fan.stats.per_worker == {"w1": 2, "w2": 2} and fan.stats.done == 2


def test_key_partitions_keep_each_keys_rows_together_and_in_order():
    df = pd.DataFrame({"k": list("abcabcaab"), "v": range(9)})
    parts = list(split_by_key(df, ["k"], 3))
    assert sum(len(p) for _, p in parts) == len(df)
    for _, p in parts:
        assert p["v"].is_monotonic_increasing
    where = {k: i for i, p in parts for k in p["k"]}
    assert all(set(p["k"]) == {k for k, i in where.items() if i == j} for j, p in parts)
    back = combine([p for _, p in parts], keyed=True)
    assert sorted(back["v"]) == list(range(9))


def test_a_missing_key_column_is_named():
    with pytest.raises(ConfigError, match=r"^key='sensor' is not a column of this stream"):
        list(split_by_key(pd.DataFrame({"x": [1]}), ["sensor"], 2))


def test_lost_workers_are_counted_once_and_only_our_tasks():
    stats = FanOut(1, ordered=True).stats
    log = [
        (1.0, {"action": "remove-worker", "processing-tasks": ["ours-1", "theirs-1"]}),
        (2.0, "not a dict"),
        (3.0, {"action": "remove-worker", "lost-computed-tasks": ["ours-2", "ours-3"]}),
    ]
    seen = count_lost_workers(log, since=0.0, prefix="ours-", stats=stats)
    assert (seen, stats.workers_lost, stats.retried) == (3.0, 2, 3)
    again = count_lost_workers(log, since=seen, prefix="ours-", stats=stats)  # read before
    assert (again, stats.workers_lost, stats.retried) == (3.0, 2, 3)
