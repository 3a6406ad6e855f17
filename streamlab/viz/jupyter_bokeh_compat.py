"""Every use of jupyter_bokeh's private API in streamlab, and the versions it was verified on.

jupyter_bokeh's ``BokehModel`` is the ipywidget that shows a bokeh layout in JupyterLab and
Notebook 7 and sends the kernel's document changes to the page. streamlab overrides two of its
private methods:

``_sync_model`` (one way)
    jupyter_bokeh echoes to the kernel the events its own patches caused in the page, and the
    echo is stale: after a flush that added two renderers (say the anomaly markers, then the
    line) the page sends back ``figure.renderers = [markers]``; applying it drops the line's
    renderer and its ColumnDataSource from the document, so that series never updates again.
    The dashboard needs nothing from the page's document (zoom and pan stay in the page), so
    only bokeh events such as ``document_ready`` (``MessageSent``) are applied.

``BokehView._change_event``, in the page (nothing sent back)
    jupyter_bokeh's view sends every change of its BokehJS document to the kernel, including
    the ones its own patches caused: bokeh marks those ``event.sync = false`` (not to be sent
    back: bokeh's server client drops them) and jupyter_bokeh sends them anyway. So every
    flush came back from the page as big as it went (every streamed array, as JSON), and the
    page's automatic ranges added a message per range per render. The kernel woke for each
    (JupyterLab redrew its busy/idle favicon each time) and the Pause click waited in the
    kernel's queue behind them. :data:`PAGE_FILTER_JS`, put on the page with BokehJS, wraps
    the document's ``on_change`` where the callback is jupyter_bokeh's ``_change_event`` and
    the document's root carries :data:`ONE_WAY_TAG`: only bokeh events (``MessageSent``, what
    ``_sync_model`` applies) reach the kernel. Any other callback, or jupyter_bokeh's for a
    document that is not a dashboard's, is left as it is. Verified on the lab extension of
    :data:`VERIFIED_ON` (``on_change(e => this._change_event(e))``); where the callback reads
    otherwise nothing is wrapped (the public behaviour). :attr:`OneWayBokehModel.page_events`
    counts what still arrives.

    The same filter answers each flush: the kernel ends every ``PATCH-DOC`` it sends with a
    bokeh message carrying the flush's number (:data:`FLUSH_SEQ`), and the page sends that
    number back (:data:`FLUSH_ACK`) on an animation frame after it drew it: the newest number,
    at most every :data:`ACK_EVERY` seconds. ``OneWayBokehModel.behind(now)`` is how long the
    oldest flush not yet answered has waited; the dashboard holds its flushes while the page
    is too far behind (see ``Dashboard``), so a slow page gets fewer, larger updates instead
    of a queue. A page that never answered is not waited for.

``_document_patched`` (one message per flush, arrays inline)
    jupyter_bokeh sends each document event as its own ``PATCH-DOC`` (three comm messages and
    two per binary buffer). Inside :meth:`OneWayBokehModel.one_message` the data events of a
    whole flush (streamed, patched or replaced columns of every plot of a dashboard) are held
    and sent as one ``PATCH-DOC``, which BokehJS applies in one go: the same events in the same
    order, in fewer messages. A change of the layout (a new series' renderer, legend item)
    first sends what was held, then goes alone: BokehJS builds the views of new models
    between patches, and a patch that both adds a renderer and refers to its legend failed
    in the page ("cannot find a view for Legend"). The message is built as bokeh's
    ``patch_doc.create`` builds it but with the arrays inline (:func:`inline_patch`; bokeh's
    ``Serializer``, ``PatchJson`` and ``Document.models.synced_references`` /
    ``flush_synced``, verified on :data:`BOKEH_VERIFIED_ON`).

Verified on
    :data:`VERIFIED_ON`: both methods have the signatures and the message layout (header,
    metadata, content, then a header and a payload per buffer) used here. On any other
    version nothing is held: each event goes as jupyter_bokeh sends it (the public behaviour),
    and ``_sync_model`` is still narrowed (a method that is not there is not called).

Examples
--------
>>> model = one_way_bokeh_model()
>>> model.__name__, batching_verified()  # both CI environments are verified versions
('OneWayBokehModel', True)
"""

from __future__ import annotations

import collections
import contextlib
import functools
import json
import time
from collections.abc import Iterator
from typing import Any

__all__ = ["BOKEH_VERIFIED_ON", "VERIFIED_ON", "batching_verified", "inline_patch"]
__all__ += ["FLUSH_ACK", "FLUSH_SEQ", "ONE_WAY_TAG", "PAGE_FILTER_JS", "one_way_bokeh_model"]

#: the tag on the root of every layout a dashboard shows: the page's filter keys on it
ONE_WAY_TAG = "streamlab-one-way"
#: the bokeh message that ends each flush (its number), and the page's answer (the number drawn)
FLUSH_SEQ, FLUSH_ACK = "streamlab_seq", "streamlab_ack"
#: seconds between two answers of the page (each is a kernel request: JupyterLab redraws its
#: busy/idle favicon for it; one per frame cost the page more than it saved)
ACK_EVERY = 0.25

#: Put on the page once, after BokehJS (see the module): waits for BokehJS (at most 10 s),
#: then wraps ``Document.prototype.on_change`` once per page.
PAGE_FILTER_JS = """\
(function streamlabOneWay(tries) {
  const B = window.Bokeh;
  if (!B || !B.require) {
    if (tries > 0) setTimeout(() => streamlabOneWay(tries - 1), 50);
    return;
  }
  if (B.__streamlab_one_way) return;
  const Document = B.require("document").Document;
  const MessageSentEvent = B.require("document/events").MessageSentEvent;
  const on_change = Document.prototype.on_change;
  const ours = (doc) => doc.roots().some((r) => (r.tags || []).includes("__TAG__"));
  Document.prototype.on_change = function (callback, allow_batches) {
    if (String(callback).includes("_change_event(")) {
      const doc = this, inner = callback;
      let seq = 0, asked = false;
      // each flush ends with its number: answer the newest one drawn, at most every
      // __EVERY__ ms (each answer wakes the kernel), on an animation frame (a hidden page draws
      // nothing and does not answer)
      this.on_message("__SEQ__", (n) => {
        seq = n;
        if (asked) return;
        asked = true;
        setTimeout(() => requestAnimationFrame(() => {
          asked = false;
          inner(new MessageSentEvent(doc, "__ACK__", seq));
        }), __EVERY__);
      });
      callback = (event) => {
        if (event.kind === "MessageSent" || !ours(doc)) inner(event);
      };
    }
    return on_change.call(this, callback, allow_batches);
  };
  B.__streamlab_one_way = true;
})(200);
"""
PAGE_FILTER_JS = (
    PAGE_FILTER_JS.replace("__TAG__", ONE_WAY_TAG)
    .replace("__SEQ__", FLUSH_SEQ)
    .replace("__ACK__", FLUSH_ACK)
    .replace("__EVERY__", str(round(ACK_EVERY * 1000)))
)

#: bokeh releases (major.minor) whose PATCH-DOC construction :func:`inline_patch` mirrors
BOKEH_VERIFIED_ON = ("3.5", "3.6", "3.7", "3.8", "3.9")

#: jupyter_bokeh releases whose ``_document_patched`` message layout was read and tested.
VERIFIED_ON = ("4.0.0", "4.0.1", "4.0.2", "4.0.3", "4.0.4", "4.0.5", "4.1.0")


def batching_verified() -> bool:
    """Whether the installed jupyter_bokeh and bokeh are ones the one-message flush was
    verified on."""
    from importlib.metadata import version

    bokeh = ".".join(version("bokeh").split(".")[:2])
    return version("jupyter_bokeh") in VERIFIED_ON and bokeh in BOKEH_VERIFIED_ON


def inline_patch(events: list) -> Any:
    """A ``PATCH-DOC`` message for ``events`` (of one document) with its arrays inline
    (base64 in the JSON) instead of as binary buffers: bokeh's own ``patch_doc.create``
    with the serializer's ``deferred=False``. jupyter_bokeh sends each buffer as two comm
    messages, and the Jupyter server counts every comm message against its IOPub rate
    limit (1,000 messages/s by default, over which it drops them: the page would miss
    patches); inline, a flush of any number of series is three messages.

    Examples
    --------
    >>> import numpy as np
    >>> from bokeh.document import Document
    >>> from bokeh.models import ColumnDataSource
    >>> doc, src = Document(), ColumnDataSource({"x": np.arange(3.0)})
    >>> doc.add_root(src)
    >>> seen = []
    >>> doc.on_change(lambda e: seen.append(e))
    >>> src.stream({"x": np.arange(5.0)})
    >>> msg = inline_patch(seen)
    >>> msg.header["num_buffers"] if "num_buffers" in msg.header else 0, len(msg.buffers)
    (0, 0)
    """
    from bokeh.core.serialization import Serializer
    from bokeh.protocol.messages.patch_doc import PatchJson, patch_doc

    [doc] = {event.document for event in events}
    serializer = Serializer(references=doc.models.synced_references, deferred=False)
    content = PatchJson(events=serializer.encode(events))
    doc.models.flush_synced(lambda model: not serializer.has_ref(model))
    return patch_doc(patch_doc.create_header(), {}, content)


@functools.cache
def one_way_bokeh_model() -> type:
    """jupyter_bokeh's ``BokehModel``, one way, with :meth:`one_message` (see the module)."""
    from bokeh.document.events import (
        ColumnDataChangedEvent,
        ColumnsPatchedEvent,
        ColumnsStreamedEvent,
        MessageSentEvent,
    )
    from jupyter_bokeh import BokehModel

    DATA_EVENTS = (ColumnsStreamedEvent, ColumnsPatchedEvent, ColumnDataChangedEvent)

    batching = batching_verified()

    class OneWayBokehModel(BokehModel):
        _held: list | None = None
        page_events = 0  # messages the page sent (only bokeh events, with the page's filter)
        sent = 0  # flushes sent, numbered
        acked = 0  # the newest flush the page said it drew
        acks = 0  # the page's answers (0: this page does not answer; nothing is paced)
        clock: Any = None  # when flushes leave (the dashboard's clock; None: time.monotonic)
        _sent_at: collections.deque | None = None  # (number, time) of unanswered flushes

        def _now(self) -> float:
            return time.monotonic() if self.clock is None else self.clock.now()

        def behind(self, now: float) -> float:
            """Seconds the oldest flush the page has not answered has waited (0 if the page
            never answers: a frontend without the page filter)."""
            if not self.acks or not self._sent_at:
                return 0.0
            return max(0.0, now - self._sent_at[0][1])

        def close(self) -> None:
            # jupyter_bokeh's close is not idempotent (a second one, e.g. Widget.__del__ after
            # Dashboard.close, raises KeyError from the document's remove_on_change)
            if not getattr(self, "_closed", False):
                self._closed = True
                super().close()

        def _sync_model(self, model: Any, content: dict, buffers: Any) -> None:
            self.page_events += 1
            if content.get("kind") != "MessageSent":
                return
            if content.get("msg_type") == FLUSH_ACK:
                seq = content.get("msg_data")
                if isinstance(seq, int) and 0 < seq <= self.sent:
                    self.acks += 1
                    self.acked = max(self.acked, seq)
                    while self._sent_at and self._sent_at[0][0] <= self.acked:
                        self._sent_at.popleft()
                return
            super()._sync_model(model, content, buffers)

        def _document_patched(self, event: Any) -> None:
            if self._held is not None and event.setter is not self:
                if isinstance(event, DATA_EVENTS):
                    self._held.append(event)
                    return
                if self._held:  # a change of the layout goes alone, after what came before
                    events, self._held = self._held, []
                    self._send_patch(events)
            super()._document_patched(event)

        @contextlib.contextmanager
        def one_message(self) -> Iterator[None]:
            """Hold the document events made inside; send them as one ``PATCH-DOC``."""
            if not batching or self._held is not None:
                yield
                return
            self._held = []
            try:
                yield
            finally:
                events, self._held = self._held, None
                if events:
                    self._send_patch(events)

        def _send_patch(self, events: list) -> None:
            self.sent += 1  # the flush's number goes last: the page answers it once drawn
            if self._sent_at is None:
                self._sent_at = collections.deque(maxlen=10_000)  # (a page that never answers)
            self._sent_at.append((self.sent, self._now()))
            events = [*events, MessageSentEvent(events[0].document, FLUSH_SEQ, self.sent)]
            msg = inline_patch(events)
            self.send({"msg": "patch", "payload": msg.header_json})
            self.send({"msg": "patch", "payload": msg.metadata_json})
            self.send({"msg": "patch", "payload": msg.content_json})
            for buffer in msg.buffers:
                self.send({"msg": "patch", "payload": json.dumps(buffer.ref)})
                self.send({"msg": "patch"}, [buffer.to_bytes()])

    return OneWayBokehModel
