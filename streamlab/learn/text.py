"""Text stream classification: ``label<TAB>text`` lines, hashed words, logistic regression.

The shape of Spark Structured Streaming's socket examples, in a notebook: a text source
(``streamlab.listen_tcp(port, parse="text")`` or ``from_tcp``) gives a ``line`` column;
:class:`LabelledLines` splits each line at the first separator into ``label`` and ``text``
(a line without one goes to ``.errors``); ``stream.learn`` with a ``HashingVectorizer``
classifies the text test-then-train; ``stream.aggregate(..., output="complete")`` keeps the
per-class table (rows seen, prequential accuracy) that a live chart can show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import SGDClassifier
from streamz import Stream

from ..core.stats import StepStats
from ..core.step import Step
from ..errors import ConfigError
from ..ops import running  # noqa: F401  (registers stream.aggregate)
from .steps import learn

__all__ = ["LabelledLines", "LinesStats", "TextClassifier", "split_labelled", "text_classifier"]


def split_labelled(
    df: pd.DataFrame, *, column: str = "line", sep: str = "\t"
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Split each line at the first ``sep`` into ``label`` and ``text``; return
    ``(rows, bad)`` where ``bad`` holds the lines without ``sep`` (or with an empty label),
    with a ``reason``.

    Examples
    --------
    >>> import pandas as pd
    >>> rows, bad = split_labelled(pd.DataFrame({"line": ["spam\\tWIN NOW", "oops", "ham\\thi\\tthere"]}))
    >>> rows
      label         text
    0  spam      WIN NOW
    2   ham  hi\\tthere
    >>> bad["reason"].tolist()
    ["no tab in the line: expected 'label<TAB>text'"]
    """
    if column not in df.columns:
        raise ConfigError(
            f"column={column!r} is not a column of this stream; its columns are {list(df.columns)}"
        )
    parts = df[column].astype(str).str.split(sep, n=1, expand=True)
    if parts.shape[1] < 2:
        parts[1] = None
    label, text = parts[0], parts[1]
    ok = text.notna().to_numpy() & (label.str.len() > 0).to_numpy()
    rows = pd.DataFrame({"label": label[ok], "text": text[ok]})
    rows.attrs = dict(df.attrs)
    bad = None
    if not ok.all():
        what = "tab" if sep == "\t" else repr(sep)
        shown = "<TAB>" if sep == "\t" else sep
        bad = df[~ok].assign(
            reason=np.where(
                text[~ok].isna(),
                f"no {what} in the line: expected 'label{shown}text'",
                "empty label",
            )
        )
    return rows, bad


@dataclass
class LinesStats(StepStats):
    """Counters of :class:`LabelledLines`: lines seen, ``bad`` lines (sent to ``.errors``).

    Examples
    --------
    >>> LinesStats(rows=3, bad=1).as_dict()
    {'rows': 3, 'bad': 1}
    """

    rows: int = 0
    bad: int = 0


class LabelledLines(Step, Stream):
    """A stream step: :func:`split_labelled` on each batch; bad lines go to ``.errors`` and
    are counted (``stats``: :class:`LinesStats`).

    Examples
    --------
    >>> import pandas as pd
    >>> from streamz import Stream
    >>> src = Stream()
    >>> node = LabelledLines(src)
    >>> rows, bad = node.sink_to_list(), node.errors.sink_to_list()
    >>> src.emit(pd.DataFrame({"line": ["a\\tone", "two"]}))
    >>> rows[0]["label"].tolist(), bad[0]["line"].tolist(), node.bad
    (['a'], ['two'], 1)
    >>> node.stats
    LinesStats(rows=2, bad=1)
    """

    SIDE_OUTPUTS = ("errors",)

    def __init__(
        self, upstream: Stream, *, column: str = "line", sep: str = "\t", stream_name: Any = None
    ) -> None:
        name = stream_name or "labelled_lines"
        super().__init__(upstream, stream_name=name)
        self.column, self.sep = column, sep
        self.make_side_outputs(name)
        self.stats = LinesStats()

    @property
    def bad(self) -> int:
        """Bad lines so far (``stats.bad``)."""
        return self.stats.bad

    def update(self, x: Any, who: Any = None, metadata: Any = None) -> list:
        rows, bad = split_labelled(x, column=self.column, sep=self.sep)
        out: list = []
        self.stats.rows += len(x)
        if bad is not None:
            self.stats.bad += len(bad)
            out += self.to_side("errors", bad)
        if len(rows):
            out += self.forward(rows)
        return out


@dataclass
class TextClassifier:
    """The nodes of :func:`text_classifier`: ``parsed`` (label, text), ``learner`` (the
    ``learn`` node: predictions, ``.metrics``), ``counts`` (per class: ``label``, ``rows``,
    ``accuracy``, the whole table after each batch) and ``errors`` (bad lines and bad rows).

    Examples
    --------
    >>> import pandas as pd
    >>> from streamz import Stream
    >>> src = Stream()
    >>> tc = text_classifier(src, classes=["ham", "spam"])
    >>> type(tc.parsed).__name__, type(tc.learner).__name__
    ('LabelledLines', 'learn')
    >>> bad = tc.errors.sink_to_list()
    >>> src.emit(pd.DataFrame({"line": ["spam\\twin now", "no tab here"]}))
    >>> tc.parsed.emit(pd.DataFrame({"label": ["ham"], "text": [None]}))  # past the parser
    >>> [frame["reason"].tolist() for frame in bad]
    [["no tab in the line: expected 'label<TAB>text'"], ["feature 'text' is missing"]]
    """

    parsed: LabelledLines
    learner: learn
    counts: Stream
    errors: Stream


def _marked(df: pd.DataFrame) -> pd.DataFrame:
    scored = df["prediction"].notna().to_numpy()
    hit = (df["prediction"].to_numpy() == df["label"].to_numpy()).astype(float)
    return pd.DataFrame({"label": df["label"], "rows": 1, "correct": np.where(scored, hit, np.nan)})


def text_classifier(
    stream: Stream,
    *,
    estimator: Any = None,
    classes: list[Any] | None = None,
    n_features: int = 2**18,
    window: int | None = 1000,
    column: str = "line",
    sep: str = "\t",
) -> TextClassifier:
    """Classify ``label<TAB>text`` lines test-then-train; keep per-class counts and accuracy.

    ``estimator`` defaults to ``SGDClassifier(loss="log_loss")`` (logistic regression by
    SGD); features are ``HashingVectorizer(n_features=...)`` of the text (stateless, so
    new words need no refit). ``classes=None`` learns the labels from the stream.

    Examples
    --------
    >>> import pandas as pd
    >>> from streamz import Stream
    >>> src = Stream()
    >>> tc = text_classifier(src, classes=["ham", "spam"])
    >>> table = tc.counts.sink_to_list()
    >>> lines = ["spam\\twin cash now", "ham\\tlunch at noon?", "spam\\tcash prize win"] * 20
    >>> for i in range(0, 60, 10):
    ...     src.emit(pd.DataFrame({"line": lines[i : i + 10]}))
    >>> table[-1]
      label  rows  accuracy
    0   ham    20      0.95
    1  spam    40      1.00
    >>> round(tc.learner.metrics["accuracy"], 3)  # 59 rows scored: the first came too early
    0.983
    """
    parsed = LabelledLines(stream, column=column, sep=sep)
    learner = parsed.learn(
        estimator if estimator is not None else SGDClassifier(loss="log_loss", random_state=0),
        target="label",
        features="text",
        transform=HashingVectorizer(n_features=n_features),
        classes=classes,
        window=window,
    )
    counts = (
        learner.map(_marked)
        .aggregate({"rows": ["sum"], "correct": ["mean"]}, key="label", output="complete")
        .map(lambda d: d.rename(columns={"rows_sum": "rows", "correct_mean": "accuracy"}))
    )
    errors = Stream(stream_name="text_classifier.errors")
    parsed.errors.connect(errors)
    learner.errors.connect(errors)
    return TextClassifier(parsed=parsed, learner=learner, counts=counts, errors=errors)
