"""The dashboard without a kernel: widgets drive the steps, plots hold what they should
(checked against pandas / numpy on the same rows), updates are coalesced, rollover bounds the
page, dead letters show, and a saved report opens offline."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import SGDClassifier

import streamlab
from streamlab.compress.lossy import lttb
from streamlab.core.clock import ManualClock, wait_until
from streamlab.errors import ConfigError
from streamlab.viz import Dashboard, counters, histogram, line, metric, table

from support import Kernel


def test_import_streamlab_does_not_load_bokeh_or_widgets():
    code = textwrap.dedent("""
        import sys, streamlab
        print("bokeh" in sys.modules, "ipywidgets" in sys.modules)
        d = streamlab.generate("noise", rows=10).dashboard()
        print(type(d).__name__, "bokeh" in sys.modules, streamlab.Dashboard is type(d))
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[:2] == ["False False", "Dashboard True True"]


def test_every_row_reaches_the_plot_when_under_the_point_budget():
    src = streamlab.generate("sine", rows=1500, batch_rows=100, seed=3)
    rows = src.sink_to_list()
    dash = src.dashboard(line("value", rollover=1000, max_points=2000), live=False)
    streamlab.run(src)
    dash.refresh()
    df = pd.concat(rows, ignore_index=True)
    data = dash.plots[0].sources["value"].data
    # rollover keeps the newest 1,000 points; the flush had <= 2,000 rows: no LTTB
    np.testing.assert_array_equal(data["y"], df["value"].to_numpy()[-1000:])
    np.testing.assert_array_equal(data["x"], df["time"].astype("int64").to_numpy()[-1000:] / 1e6)
    assert dash.status()["rows"] == 1500 and dash.status()["state"] == "finished"


def test_a_long_flush_is_cut_down_with_lttb_and_keeps_the_ends():
    src = streamlab.generate("random_walk", rows=100_000, batch_rows=10_000, seed=1)
    rows = src.sink_to_list()
    dash = src.dashboard(line("value", max_points=400, rollover=5000), live=False)
    streamlab.run(src)
    dash.refresh()  # one flush of 100,000 rows
    df = pd.concat(rows, ignore_index=True)
    x = df["time"].astype("int64").to_numpy() / 1e6
    y = df["value"].to_numpy()
    data = dash.plots[0].sources["value"].data
    assert len(data["x"]) == 400
    assert data["x"][0] == x[0] and data["x"][-1] == x[-1]
    # every point drawn is a row, in order: the rows tsdownsample's LTTB keeps
    keep = np.searchsorted(x, data["x"])
    np.testing.assert_array_equal(x[keep], data["x"])
    np.testing.assert_array_equal(y[keep], data["y"])
    assert np.all(np.diff(keep) > 0)
    # ... which are the paper's LTTB (streamlab's reference implementation) but where float
    # rounding puts a bucket boundary one row apart
    paper = lttb(x, y, 400)
    assert len(np.intersect1d(keep, paper)) >= 0.95 * 400


def test_one_series_per_key_and_too_many_keys_are_counted_not_drawn():
    src = streamlab.generate("noise", rows=3000, keys=5, batch_rows=300)
    rows = src.sink_to_list()
    dash = src.dashboard(line("value", by="key", max_series=3, max_points=1000), live=False)
    streamlab.run(src)
    dash.refresh()
    df = pd.concat(rows, ignore_index=True)
    p = dash.plots[0]
    assert len(p.sources) == 3 and len(p.hidden_keys) == 2
    for name, cds in p.sources.items():
        key = name.split("[")[1].rstrip("]")
        np.testing.assert_array_equal(
            cds.data["y"], df.loc[df["key"].astype(str) == key, "value"].to_numpy()
        )
    assert "2 keys not drawn" in dash.status_line.value


def test_anomaly_markers_come_from_every_row_not_the_downsampled_line():
    src = streamlab.generate("noise", rows=50_000, batch_rows=5000, anomaly_rate=0.002, seed=5)
    scored = src.robust_zscore("value", window=200)
    rows = scored.sink_to_list()
    dash = scored.dashboard(line("value", max_points=100, rollover=50_000), live=False)
    streamlab.run(src)
    dash.refresh()
    df = pd.concat(rows, ignore_index=True)
    marks = dash.plots[0].marks["value_rz_anomaly"].data
    flagged = df[df["value_rz_anomaly"]]
    assert len(flagged) > 50
    np.testing.assert_array_equal(marks["y"], flagged["value"].to_numpy())
    assert len(dash.plots[0].sources["value"].data["x"]) == 100  # the line itself: LTTB


def test_histogram_and_table_match_pandas():
    src = streamlab.generate("noise", rows=5000, batch_rows=700, seed=2)
    rows = src.sink_to_list()
    dash = src.dashboard([histogram("value", bins=20, window=3000), table(rows=5)], live=False)
    streamlab.run(src)
    dash.refresh()
    df = pd.concat(rows, ignore_index=True)
    counts, edges = np.histogram(df["value"].to_numpy()[-3000:], bins=20)
    h = dash.plots[0].source.data
    np.testing.assert_array_equal(h["count"], counts)
    np.testing.assert_allclose(h["left"], edges[:-1])
    t = dash.plots[1].source.data
    newest = df.iloc[::-1].head(5)
    np.testing.assert_array_equal(t["value"], newest["value"].to_numpy())
    assert t["time"] == [ts.isoformat() for ts in newest["time"]]


def test_metric_curve_follows_the_learner():
    src = streamlab.generate("noise", rows=20_000, batch_rows=1000, anomaly_rate=0.05, seed=1)
    node = src.learn(
        SGDClassifier(loss="log_loss", random_state=0),
        target="is_anomaly",
        features=["value"],
        classes=[False, True],
    )
    seen = []
    node.sink(lambda df: seen.append(node.metrics["accuracy"]))
    dash = node.dashboard([metric(node, ["accuracy"])])
    dash.refresh()  # before any row: nothing to draw
    assert dash.plots[0].updates == 0
    streamlab.run(src)
    dash.refresh()
    data = dash.plots[0].source.data
    assert data["rows"][-1] == node.metrics["rows"] == 19_999  # the first row: no model yet
    assert data["accuracy"][-1] == pytest.approx(node.metrics["accuracy"])
    assert data["accuracy"][-1] == pytest.approx(seen[-1])


@pytest.mark.parametrize("speed", [3_000_000, 1e-4, 2_000.0])
def test_a_slider_holds_any_value_set_in_code(speed):
    """A speed set in code beyond the slider's span widens the slider instead of being clamped
    (a clamped slider showed 1000.0 and sent 1000 back to the source at the next drag)."""
    src = streamlab.generate("noise", rows=10, speed=speed)
    built = src.dashboard(controls=True).controls["speed"].widget  # built around the value
    assert built.value == pytest.approx(speed) and src.speed == speed
    src.speed = 1.0
    c = src.dashboard(controls=True).controls["speed"]
    src.set_param("speed", speed)  # set after the slider was built
    assert c.widget.value == pytest.approx(speed) and src.speed == speed
    assert 10**c.widget.min <= speed <= 10**c.widget.max
    c.widget.value = c.widget.value  # a no-op drag sends nothing different back
    assert src.speed == speed


def test_an_int_slider_holds_any_value_set_in_code():
    src = streamlab.generate("noise", rows=10)
    roll = src.rolling(50, agg={"value": "mean"})
    c = roll.dashboard(controls=True).controls["window"]
    high = c.widget.max
    roll.set_param("window", high * 3)
    assert c.widget.value == high * 3 == roll.get_param("window")
    assert c.widget.max >= high * 3


def test_widgets_drive_the_steps_and_refusals_are_shown():
    src = streamlab.generate("noise", rows=10, speed=1)
    roll = src.rolling("10s", agg={"value": "mean"})
    z = roll.robust_zscore("value_mean")
    packed = z.compress("zlib")
    dash = packed.dashboard(line("value"), controls=True)
    dash_z = z.dashboard()
    c = dash.controls
    assert list(c) == ["speed", "window", "threshold", "codec"]
    c["speed"].widget.value = 25.0
    assert src.speed == 25.0
    c["speed"].zero.value = True  # "as fast as possible"
    assert src.speed == 0.0
    c["threshold"].widget.value = 2.5
    assert z.threshold == 2.5
    c["codec"].widget.value = "lzma"
    assert packed.codec.name == "lzma"
    c["window"].widget.value = "30s"
    assert roll.span == pd.Timedelta("30s")
    c["window"].widget.value = "thirty seconds"  # refused: the step keeps 30s
    assert roll.span == pd.Timedelta("30s") and c["window"].widget.value == "30s"
    assert "window must be a row count" in dash.message.value
    z.set_param("threshold", 6.0)  # code moves the sliders of both dashboards
    assert c["threshold"].widget.value == 6.0
    assert dash_z.controls["threshold"].widget.value == 6.0
    assert dash.plots[0].updates == 0 and dash_z.plots[0].updates == 0


async def advance_until_the_refresher_ends(dash, clock, step) -> int:
    """Advance ``clock`` a frame at a time until the dashboard's refresher has ended (it ends
    a moment, on its clock, after the stream); return how many frames that took."""
    frames = 0
    while dash.running:
        await wait_until(lambda: clock.sleepers or not dash.running, what="the refresher")
        if dash.running:
            assert frames < 1000, "the refresher did not end after the stream"
            clock.advance(step)
            frames += 1
    return frames


async def test_buttons_pause_step_play_and_stop_a_running_replay():
    clock = ManualClock()  # the source's pace and the refresher's frames: time held by the test
    src = streamlab.generate("noise", rate=2000, speed=1, batch_rows=20, clock=clock)
    dash = src.dashboard(clock=clock)
    b = dash.buttons
    b["Play"].click()  # starts the source (not started yet)
    await src.wait_rows(1)
    assert src.running and dash.status()["state"] == "running"
    b["Pause"].click()
    held = src.stats.rows
    clock.advance(1.0)  # a second of the replay's time passes while paused
    await wait_until(lambda: src.holding, what="the source holding at its gate")
    assert src.stats.rows == held and dash.status()["state"] == "paused"
    b["Step"].click()
    await src.wait_rows(held + dash.step_rows)
    await wait_until(lambda: src.holding, what="the source holding after the step")
    assert src.stats.rows == held + dash.step_rows
    b["Play"].click()  # the waiting row leaves now (the pace re-anchors on it)...
    await src.wait_rows(held + dash.step_rows + 1)
    await clock.wait_for_sleepers(2)  # (the source and the refresher)
    clock.advance(0.05)  # ... and 100 more become due 50 ms later
    await src.wait_rows(held + dash.step_rows + 101)
    assert src.paused_seconds == 1.0
    b["Stop"].click()
    await src.wait()
    assert not src.running and dash.status()["state"] == "finished"
    await advance_until_the_refresher_ends(dash, clock, 1 / dash.fps)
    assert not dash.running  # the refresher ended with the stream
    dash.close()


async def test_updates_are_coalesced_whatever_the_input_rate():
    clock = ManualClock()  # the refresher's frames
    src = streamlab.generate("noise", rows=400_000, batch_rows=200)  # as fast as possible
    dash = src.dashboard(line("value", rollover=3000), fps=20, clock=clock)
    src.start()
    frames = 0
    for rows in range(20_000, 400_001, 20_000):  # a frame every 100 batches
        await src.wait_rows(rows)
        await clock.wait_for_sleepers(1)
        clock.advance(1 / 20)
        frames += 1
    await src.wait()
    frames += await advance_until_the_refresher_ends(dash, clock, 1 / 20)
    assert src.stats.rows == 400_000 and src.stats.batches >= 2000
    assert 1 <= dash.flushes <= frames < 40  # at most one flush a frame, not one a batch
    assert len(dash.plots[0].sources["value"].data["x"]) == 3000  # rollover
    assert not dash.running


async def test_a_page_that_is_behind_gets_fewer_larger_updates():
    from streamz import Stream

    from streamlab.viz.jupyter_bokeh_compat import FLUSH_ACK
    from streamlab.viz.pacing import PAGE_BEHIND, PAGE_PATIENCE

    clock = ManualClock()  # the refresher's frames and the flushes' send times
    src = Stream()
    dash = src.dashboard(line("v", rollover=10_000), fps=20, clock=clock)
    page = dash._bokeh_model()  # as when shown; the page's answers are played by the test
    shown = dash.plots[0].sources

    def answer(seq: int) -> None:  # what the page filter sends: the newest flush it drew
        page._sync_model(page, {"event": "jsevent", "kind": "MessageSent",
                                "msg_type": FLUSH_ACK, "msg_data": seq}, [])  # fmt: skip

    async def frame(rows: int = 10) -> None:
        src.emit(pd.DataFrame({"v": np.arange(rows, dtype="float64")}))
        await clock.wait_for_sleepers(1)
        clock.advance(1 / 20)
        await clock.wait_for_sleepers(1)  # the refresher ran that frame and sleeps again

    for _ in range(30):  # 1.5 s: a page that never answered is never waited for
        await frame()
    assert (page.sent, dash.pacer.held) == (30, 0)
    answer(30)
    behind_frames = round(PAGE_BEHIND * 20)
    for _ in range(behind_frames + 1):  # the page draws nothing more: flushes go on while
        await frame()  # the oldest unanswered one is up to PAGE_BEHIND old ...
    sent = page.sent
    assert sent == 30 + behind_frames + 1 and dash.pacer.held == 0
    await frame()
    await frame()  # ... then they wait, their rows with them
    assert (page.sent, dash.pacer.held, dash.plots[0].pending_rows) == (sent, 2, 20)
    answer(page.sent)  # the page caught up: one update with the rows of three frames
    await frame()
    assert (page.sent, dash.plots[0].pending_rows) == (sent + 1, 0)
    assert len(shown["v"].data["y"]) == 10 * (sent + 3)  # every frame's rows, none lost
    frames, sent_on = int((PAGE_BEHIND + 2 * PAGE_PATIENCE) * 20) + 4, []
    for i in range(frames):  # a page that stops answering: flushes go on for PAGE_BEHIND,
        n = page.sent  # then one per PAGE_PATIENCE
        await frame(1)
        if page.sent > n:
            sent_on.append(i)
    gaps = [b - a for a, b in itertools.pairwise(sent_on)]
    long = [g for g in gaps if g > 1]
    assert len(long) == 2 and all(abs(g - PAGE_PATIENCE * 20) <= 1 for g in long), gaps
    assert gaps.index(long[0]) >= behind_frames - 1, gaps  # it went on for PAGE_BEHIND first
    total = 10 * (sent + 3) + frames
    assert len(shown["v"].data["y"]) + dash.plots[0].pending_rows == total  # none lost
    acked = page.acked
    answer(page.sent + 1)  # an answer from the future or nowhere changes nothing
    answer(0)
    assert page.acked == acked
    dash.close()


async def test_play_and_step_answer_with_the_first_batch_not_the_next_frame():
    clock = ManualClock()  # the source's pace and the refresher's frames: never advanced here
    src = streamlab.generate("noise", rate=2000, speed=0, batch_rows=20, clock=clock)
    dash = src.dashboard(line("value"), clock=clock)
    dash._bokeh_model()  # shown
    src.pause()
    dash.play()  # starts it: the first batch is sent as it arrives
    await wait_until(lambda: dash.flushes == 1, what="the flush of Play's first batch")
    assert dash.plots[0].updates == 1 and clock.now() == 0.0
    dash.pause()
    sent = dash.flushes
    dash.step()
    await wait_until(lambda: dash.flushes == sent + 1, what="the flush of Step's batch")
    assert clock.now() == 0.0
    dash.stop()
    await src.wait()
    dash.close()


def test_dead_letters_and_bad_counts_are_shown(tmp_path):
    path = tmp_path / "r.csv"
    lines = ["time,value"] + [f"2026-01-01T00:00:{i:02d}Z,{i}" for i in range(50)]
    lines[10] = "2026-01-01T00:00:09Z,not-a-number"
    lines[20] = "garbage"
    path.write_text("\n".join(lines) + "\n")
    src = streamlab.replay(path, speed=0, time_column="time")
    dash = src.dashboard()
    streamlab.run(src)
    dash.refresh()
    assert dash.status()["bad"] == src.stats.bad == 2
    assert dash.status()["progress"] == 1.0 and dash.progress.value == 1.0
    assert "garbage" in dash.dead_view.value and "not-a-number" in dash.dead_view.value
    assert "bad 2" in dash.status_line.value


def test_save_writes_an_offline_snapshot(tmp_path):
    src = streamlab.generate("sine", rows=2000, batch_rows=500)
    dash = src.dashboard([line("value"), histogram("value"), table()], title="Sine")
    streamlab.run(src)
    out = dash.save(tmp_path / "report.html")
    text = out.read_text()
    assert "Sine" in text and "rows 2,000" in text
    assert "cdn.bokeh.org" not in text and "https://" not in text.split("<body>")[0]
    assert len(text) > 500_000 and "Bokeh.embed" in text  # BokehJS itself is inline
    live = dash.plots[0].sources["value"].data["y"]
    assert str(round(float(live[-1]), 6))[:6] in text  # the data is in the page


def test_close_detaches_and_bad_arguments_name_the_fix():
    src = streamlab.generate("noise", rows=10)
    before = len(src.downstreams)
    dash = src.dashboard()
    assert len(src.downstreams) == before + 1
    dash.close()
    assert len(src.downstreams) == before and dash.closed
    with pytest.raises(ConfigError, match="dashboard needs a streamz node"):
        Dashboard(pd.DataFrame())
    with pytest.raises(ConfigError, match="plots= takes plots"):
        src.dashboard([42])
    with pytest.raises(ConfigError, match="fps must be <= 120, not 1000"):
        src.dashboard(fps=1000)
    with pytest.raises(ConfigError, match=r"column\(s\) \['nope'\] to plot are not in the batch"):
        d = src.dashboard(line("nope"))
        streamlab.run(src)
        d.refresh()


def test_rerunning_a_cell_replaces_its_dashboard_and_other_cells_run_meanwhile():
    with Kernel() as k:
        cell = (
            "import streamlab\n"
            "src = streamlab.generate('noise', speed=1, rate=2000, batch_rows=20)\n"
            "dash = src.dashboard()\n"
            "dash.play()\n"
            "made = globals().setdefault('made', []); made.append(dash)\n"
        )
        k.run(cell, "cell-A")
        k.run(  # another cell runs (and waits) while the stream runs and the page refreshes
            "from streamlab.core.clock import wait_until\n"
            "await wait_until(lambda: made[0].flushes > 3 and made[0].status()['rows'] > 200)",
            "cell-B",
        )
        assert k.value("[(d.closed, d.running) for d in made]") == [(False, True)]
        k.run(cell, "cell-A")  # the same cell again: the old dashboard and source stop
        k.run("await made[0].sources[0].wait(); await made[1].sources[0].wait_rows(1)", "cell-B")
        assert k.value("[(d.closed, d.running) for d in made]") == [(True, False), (False, True)]
        assert k.value("[d.sources[0].running for d in made]") == [False, True]
        k.run("made[1].stop(); await made[1].sources[0].wait(); await made[1].wait()", "cell-B")
        assert k.value("[d.running for d in made]") == [False, False]  # nothing left running


async def test_lag_is_behind_schedule_for_replays_and_none_when_unpaced():
    clock = ManualClock()
    src = streamlab.generate("noise", rows=601, rate=2000, speed=1, batch_rows=20, clock=clock)
    src.start()
    while src.running:  # the replay's time moves 10 ms (20 rows) at a time, as the test says
        await wait_until(lambda: clock.sleepers or not src.running, what="the replay")
        clock.advance(0.01)
    await src.wait()
    assert src.stats.lag == 0.0  # on schedule (not the months since the data's timestamps)
    fast = streamlab.generate("noise", rows=600)
    await streamlab.arun(fast)
    assert fast.stats.lag is None  # speed=0: no schedule to be behind


def test_a_dashboard_shown_before_any_data_fits_its_axis_and_adds_markers():
    from bokeh.models import BasicTickFormatter, DatetimeTickFormatter
    from streamz import Stream

    src = streamlab.generate("noise", rows=20_000, batch_rows=2000, anomaly_rate=0.005, seed=2)
    scored = src.robust_zscore("value", window=100)
    dash = scored.dashboard(live=False)
    dash._bokeh_model()  # what showing it in a notebook does, before any row
    streamlab.run(src)
    dash.refresh()
    p = dash.plots[0]
    assert isinstance(p.model.xaxis[0].formatter, DatetimeTickFormatter)
    assert len(p.marks["value_rz_anomaly"].data["x"]) > 20
    assert p.model.title.text.startswith("value")
    plain = Stream()
    d2 = plain.dashboard(line("y"), live=False)
    d2._bokeh_model()
    plain.emit(pd.DataFrame({"y": [5.0, 6.0, 7.0]}))
    d2.refresh()
    assert isinstance(d2.plots[0].model.xaxis[0].formatter, BasicTickFormatter)
    assert d2.plots[0].sources["y"].data["x"].tolist() == [0.0, 1.0, 2.0]


async def test_a_dashboard_on_plain_streamz_nodes_rests_when_idle_and_wakes_on_data(monkeypatch):
    from streamz import Stream

    monkeypatch.setattr(sys.modules["streamlab.viz.pacing"], "IDLE_SECONDS", 0.2)
    clock = ManualClock()
    plain = Stream()
    dash = plain.dashboard(line("y"), fps=30, clock=clock)  # in a running loop: refreshing
    plain.emit(pd.DataFrame({"y": [1.0, 2.0]}))
    await clock.wait_for_sleepers(1)
    clock.advance(1 / dash.fps)  # the next frame: the rows reach the plot

    def ys() -> list:
        cds = dash.plots[0].sources.get("y")
        return [] if cds is None else list(cds.data["y"])

    await wait_until(lambda: len(ys()) == 2, what="the first frame")
    assert dash.running
    frames = await advance_until_the_refresher_ends(dash, clock, 1 / dash.fps)
    assert frames == 7  # 0.2 s without data at 30 fps: it rests (no timer left behind)
    plain.emit(pd.DataFrame({"y": [3.0]}))
    assert dash.running  # the next batch wakes it
    await clock.wait_for_sleepers(1)
    clock.advance(1 / dash.fps)
    await wait_until(lambda: len(ys()) == 3, what="a frame")
    assert ys() == [1.0, 2.0, 3.0]
    dash.close()
    assert not dash.running


def test_compression_ratio_curves_one_per_codec():
    src = streamlab.generate("random_walk", rows=6000, batch_rows=1000, seed=4)
    cmp = src.compare(["zlib", "timeseries"])
    rows = cmp.sink_to_list()
    dash = src.dashboard([line("ratio", by="codec", on=cmp)], live=False)
    streamlab.run(src)
    dash.refresh()
    df = pd.concat(rows, ignore_index=True)
    for codec in ("zlib", "timeseries"):
        got = dash.plots[0].sources[f"ratio [{codec}]"].data["y"]
        np.testing.assert_array_equal(got, df.loc[df["codec"] == codec, "ratio"].to_numpy())
    assert len(got) == src.stats.batches  # one point per batch


def test_bokehjs_goes_to_the_page_inline_once_unless_forced(monkeypatch):
    import bokeh.io
    from bokeh.resources import INLINE

    module = sys.modules["streamlab.viz.layout"]
    calls = []
    monkeypatch.setattr(bokeh.io, "output_notebook", lambda *a, **k: calls.append((a, k)))
    monkeypatch.setattr(module, "_BOKEHJS_SHOWN", False)
    module.ensure_bokehjs()
    module.ensure_bokehjs()
    assert calls == [((INLINE,), {"hide_banner": True})]  # inline: never from a CDN
    module.ensure_bokehjs(force=True)
    assert len(calls) == 2


def test_save_snapshots_metric_and_counter_plots(tmp_path):
    src = streamlab.generate("noise", rows=5000, batch_rows=500, anomaly_rate=0.05, seed=1)
    node = src.learn(
        SGDClassifier(loss="log_loss", random_state=0),
        target="is_anomaly",
        features=["value"],
        classes=[False, True],
    )
    dash = node.dashboard([metric(node, ["accuracy"]), counters(src)], live=False)
    streamlab.run(src)
    text = dash.save(tmp_path / "r.html").read_text()
    acc = dash.plots[0].source.data["accuracy"][-1]
    assert f"{acc:.6f}"[:7] in text  # the metric curve's last point is in the page
    assert '"5,000"' in text  # the source's row counter, as the table shows it


def _patches(model):
    """Record what a BokehModel sends to the page: the PATCH-DOC messages, each as its list
    of events (the content's ``events``)."""
    sent = []

    def send(content, buffers=None):
        sent.append((content, buffers))

    model.send = send
    return sent


def _events(sent):
    docs = []
    for content, _ in sent:
        payload = content.get("payload")
        if payload is None:
            continue
        body = json.loads(payload)
        if isinstance(body, dict) and "events" in body:
            docs.append(body["events"])
    return docs


def test_a_flush_sends_every_plots_data_as_one_message():
    """The data of one flush (two series, the markers and a histogram) reach the page as one
    PATCH-DOC, the same events in the same order as jupyter_bokeh's one message per event.
    A flush that changes the layout (the first: it adds the series) sends that change alone."""

    def build():
        src = streamlab.generate("noise", rows=4000, batch_rows=4000, anomaly_rate=0.01, seed=3)
        roll = src.rolling(20, agg={"value": "mean"})
        scored = roll.robust_zscore("value", window=50)
        dash = scored.dashboard([line(["value", "value_mean"]), histogram("value")], live=False)
        rows = scored.sink_to_list()
        streamlab.run(src)
        dash._bokeh_model()
        return dash, rows[-1]

    held, last = build()
    sent = _patches(held.bokeh)
    assert held.flush() == 2  # the first flush: new renderers, legend items, then data
    first = _events(sent)
    assert len(first) > 1 and any(e["kind"] == "ModelChanged" for m in first for e in m)
    sent.clear()
    for p in held.plots:
        p.push(last)
    assert held.flush() == 2
    one = _events(sent)
    # three comm messages for the whole flush (header, metadata, content: arrays inline),
    # where jupyter_bokeh sends three per event and two more per array
    assert len(sent) == 3 and all(buffers is None for _, buffers in sent)
    plain, last = build()
    for p in plain.plots:
        p.flush()
    sent = _patches(plain.bokeh)
    for p in plain.plots:  # as jupyter_bokeh sends them: one message per event
        p.push(last)
        p.flush()
    each = _events(sent)
    # the held message ends with the flush's number (the page answers it once drawn)
    *data, seq = one[0]
    assert seq == {"kind": "MessageSent", "msg_type": "streamlab_seq", "msg_data": held.bokeh.sent}
    assert len(one) == 1 and len(each) == len(data) >= 3
    assert len(sent) > 3 * len(each)  # the arrays as binary buffers, two messages each

    def shape(e):
        return e["kind"], e.get("attr"), e.get("rollover")

    assert [shape(e) for e in data] == [shape(m[0]) for m in each]
    assert (
        held.plots[1].source.data["count"].tolist() == plain.plots[1].source.data["count"].tolist()
    )
