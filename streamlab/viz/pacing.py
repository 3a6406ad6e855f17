"""How fast the dashboard sends to the page: at most ``fps`` flushes a second
(:func:`refresh_loop`, the dashboard's refresher task), and none while the page is too far
behind (:class:`PagePacer`).

The page answers the number of the newest flush it drew (every ``ACK_EVERY`` at most:
``jupyter_bokeh_compat``); :class:`PagePacer` holds the next flush while the oldest unanswered
one is older than :data:`PAGE_BEHIND`, so a slow page gets fewer, larger updates instead of a
queue. A page that stays behind :data:`PAGE_PATIENCE` longer (a hidden tab draws nothing; a
reloaded one lost the filter) gets one flush per that long until it answers again. A page that
never answered (a frontend without the filter) is not paced.

Examples
--------
>>> class Page:  # what the dashboard's BokehModel reports: seconds the page is behind
...     lag = 0.0
...     def behind(self, now):
...         return self.lag
>>> page, pacer = Page(), PagePacer()
>>> pacer.ready(page, now=0.0)
True
>>> page.lag = 0.6  # the page is behind: hold ...
>>> pacer.ready(page, now=1.0), pacer.ready(page, now=2.9), pacer.held
(False, False, 2)
>>> pacer.ready(page, now=3.0)  # ... until PAGE_PATIENCE has passed: then one anyway
True
"""

from __future__ import annotations

from typing import Any

__all__ = ["IDLE_SECONDS", "PAGE_BEHIND", "PAGE_PATIENCE", "PagePacer", "refresh_loop"]

#: a dashboard without streamlab sources stops refreshing after this long without data (the
#: next batch starts it again)
IDLE_SECONDS = 2.0

#: seconds the oldest flush the page has not said it drew may wait before the next is held
PAGE_BEHIND = 0.5
#: a page that stays behind this long gets the next flush anyway, then one per this long
PAGE_PATIENCE = 2.0


class PagePacer:
    """Whether the next flush may go to the page (see the module); ``held`` counts the frames
    it said no."""

    def __init__(self) -> None:
        self.held = 0
        self._held_since: float | None = None

    def ready(self, page: Any, now: float) -> bool:
        """``page``: the shown BokehModel (``behind(now)``), or ``None`` when not shown."""
        if page is None or page.behind(now) <= PAGE_BEHIND:
            self._held_since = None
            return True
        if self._held_since is None:
            self._held_since = now
        if now - self._held_since >= PAGE_PATIENCE:
            self._held_since = now  # the page is silent: one flush now, the next in as long
            return True
        self.held += 1
        return False


async def refresh_loop(dash: Any) -> None:
    """Flush ``dash`` at most ``fps`` times a second (when the page is ready) and update its
    status every ``status_every``, until it is closed, or a moment after its sources finished
    (a last refresh), or, fed by plain streamz nodes, :data:`IDLE_SECONDS` without data."""
    period = 1.0 / dash.fps
    next_status = 0.0
    idle_since = None
    clock = dash.clock
    due = clock.now()
    while not dash.closed:
        # a fixed cadence: the flush's own time is not added to the period (after an overrun,
        # start again from now rather than bursting to catch up)
        due = max(due + period, clock.now())
        await clock.sleep(due - clock.now())
        if dash.pacer.ready(dash.bokeh, clock.now()):
            dash.flush()
        now = clock.now()
        if now >= next_status:
            dash.update_status()
            next_status = now + dash.status_every
        if dash.sources:  # ends a moment after the sources finished (a last flush)
            idle = all(s.started and not s.running for s in dash.sources)
            patience = 2 * period
        else:  # fed by plain streamz nodes: rests when nothing came for a while
            idle = not any(p.pending_rows for p in dash.plots)
            patience = IDLE_SECONDS
        if not idle:
            idle_since = None
            continue
        idle_since = now if idle_since is None else idle_since
        if now - idle_since > patience:
            dash.refresh()
            return
