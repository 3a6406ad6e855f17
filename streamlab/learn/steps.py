"""``stream.learn(...)`` and ``stream.learn_many(...)``: the streamz nodes around
:class:`~streamlab.learn.prequential.Prequential`.

Labels that arrive after their features: join them first, then learn. When the label
message carries the row's key and event time, ``features.asof_join(labels, on="time",
by="id", tolerance="0s", lateness="30s")`` holds each feature row until the label stream
has passed its time (labels may come up to ``lateness`` out of order), then emits it with
its label, or with a missing label if none came: ``learn`` sends those rows to ``.errors``
(``label 'y' is missing``). Each row is then predicted when its label is there, by a model
that has learned every row joined before it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sklearn.base import clone
from streamz import Stream

from ..core.batch import time_column
from ..core.params import Param
from ..core.registry import register_step
from ..core.step import Step
from ..errors import ConfigError
from .prequential import LearnStats, Prequential

__all__ = ["compare_models", "learn", "learn_many"]


def _check_batch(x: Any) -> None:
    if not isinstance(x, pd.DataFrame):
        raise ConfigError(f"learn takes pandas DataFrame batches, not {type(x).__name__}")


@register_step
class learn(Step, Stream):
    """Test-then-train a scikit-learn estimator on each batch; emit the batch with predictions.

    Each batch is predicted by the model as it was before the batch (in chunks, see
    :mod:`streamlab.learn.prequential`), then learned. Emits the good rows with a
    ``prediction`` column (and ``proba_<class>`` columns for classifiers with
    ``predict_proba``); bad rows go to ``.errors`` with a ``reason`` column (``on_bad=
    "impute"`` fills bad numeric features with their running mean instead). ``.metrics`` holds
    the running prequential metrics, overall and over the last ``window`` rows; ``.stats``
    the counters; ``.model`` the estimator as it is now. ``.metrics_stream`` emits a one-row
    table of the metrics after each batch (for a live chart).

    ``features``: a list of numeric columns (default: the first batch's numeric columns
    except the target and the time column), or one column name given whole to a text or dict
    vectoriser (``transform=HashingVectorizer()``). ``transform``: feature steps (one or a
    list) applied before the model; steps with ``partial_fit`` (``RunningScaler``) learn from
    the features only. ``classes``: all the labels up front, or ``None`` to learn them from
    the stream (a new class rebuilds the model from the last ``memory`` rows; batches before
    it have no ``proba_<new class>`` column: the model gave it 0). Rows that come before the
    model can predict (its first ``partial_fit`` needs two classes, or ``n_clusters`` rows)
    have a missing ``prediction`` and are not scored (``stats.unscored``). ``chunk``: see
    :mod:`streamlab.learn.prequential`; ``memory``: rows kept for rebuilds.

    Examples
    --------
    >>> import pandas as pd
    >>> from streamz import Stream
    >>> from sklearn.linear_model import SGDClassifier
    >>> from streamlab.learn import RunningScaler
    >>> src = Stream()
    >>> node = src.learn(SGDClassifier(loss="log_loss", random_state=0), target="y",
    ...                  features=["x"], transform=RunningScaler(), classes=[0, 1], window=4)
    >>> out, bad = node.sink_to_list(), node.errors.sink_to_list()
    >>> src.emit(pd.DataFrame({"x": [-2.0, 2.0, -1.0, 1.0, None], "y": [0, 1, 0, 1, 1]}))
    >>> src.emit(pd.DataFrame({"x": [-3.0, 3.0, -2.5, 2.5], "y": [0, 1, 0, 1]}))
    >>> out[1][["x", "y", "prediction"]]
         x  y  prediction
    0 -3.0  0           0
    1  3.0  1           1
    2 -2.5  0           0
    3  2.5  1           1
    >>> bad[0]["reason"].tolist()
    ["feature 'x' is missing"]
    >>> {k: node.metrics[k] for k in ["rows", "accuracy", "window_rows", "window_accuracy"]}
    {'rows': 7, 'accuracy': 0.7142857142857143, 'window_rows': 4, 'window_accuracy': 1.0}
    """

    SIDE_OUTPUTS = ("errors", "metrics_stream")

    STATE = ("learner",)

    def __init__(
        self,
        upstream: Stream,
        estimator: Any,
        *,
        target: str | None,
        features: Any = None,
        metrics: Any = None,
        window: int | None = None,
        transform: Any = None,
        classes: Any = None,
        on_bad: str = "dead_letter",
        chunk: int | str | None = "auto",
        memory: int = 10_000,
        stream_name: Any = None,
    ) -> None:
        self.learner = Prequential(
            estimator,
            target=target,
            features=features,
            metrics=metrics,
            window=window,
            transform=transform,
            classes=classes,
            on_bad=on_bad,
            chunk=chunk,
            memory=memory,
        )
        name = stream_name or f"learn({type(estimator).__name__})"
        super().__init__(upstream, stream_name=name)
        self.make_side_outputs(name)

    # -- tuning ----------------------------------------------------------------------------
    def params(self) -> dict[str, Param]:
        """``learning_rate`` when the estimator has one that ``partial_fit`` reads each call
        (``eta0`` of SGD models with a non-"optimal" schedule and of ``Perceptron``, or
        ``learning_rate_init`` of MLPs). It applies from the next chunk learned."""
        if _rate_name(self.learner.estimator) is None:
            return {}
        return {
            "learning_rate": Param(
                "learning_rate",
                help="step size of each partial_fit (the estimator's "
                f"{_rate_name(self.learner.estimator)})",
                low=0,
                low_open=True,
                log=True,
                span=(1e-5, 1.0),
                fix="use a small positive value such as 0.01",
            )
        }

    def _get_learning_rate(self) -> float:
        return self.learner.estimator.get_params()[_rate_name(self.learner.estimator)]

    def _set_learning_rate(self, value: float) -> None:
        if value <= 0:
            raise ConfigError(f"learning_rate must be > 0, not {value!r}; use 0.01 for example")
        name = _rate_name(self.learner.estimator)
        assert name is not None  # params() declares learning_rate only when there is one
        self.learner.estimator.set_params(**{name: value})  # models rebuilt from it keep it
        if self.learner.model is not self.learner.estimator:
            self.learner.model.set_params(**{name: value})

    @property
    def metrics(self) -> dict[str, float]:
        """The running prequential metrics (``window_``-prefixed: over the last rows)."""
        return self.learner.metrics.get()

    @property
    def stats(self) -> LearnStats:
        return self.learner.stats

    @property
    def model(self) -> Any:
        return self.learner.model

    def update(self, x: Any, who: Any = None, metadata: Any = None) -> list:
        _check_batch(x)
        scored, dead = self.learner.update(x)
        results: list = []
        if dead is not None:
            results += self.to_side("errors", dead)
        if scored is not None:
            results += self.forward(scored)
        if self.metrics_stream.downstreams:
            row = {"batch": self.learner.stats.batches, **_when(x), **self.metrics}
            results += self.to_side("metrics_stream", pd.DataFrame([row]))
        return results


@register_step
class learn_many(Step, Stream):
    """Several models on one stream, each test-then-train: emits one metrics table per batch.

    ``models`` maps names to estimators; the other arguments are those of :class:`learn` and
    apply to every model (each gets its own clone of the ``transform`` steps). Each emitted
    table has one row per model: ``batch``, the batch's last event time (``time``, when the
    batch has a time column), ``model``, ``rows`` and the metrics. ``.metrics`` is the latest
    table; ``.errors`` gets the bad rows once (the checks are the same for every model);
    ``.learners`` maps names to the :class:`Prequential` learners.

    Examples
    --------
    >>> import pandas as pd
    >>> from streamz import Stream
    >>> from sklearn.linear_model import SGDRegressor
    >>> src = Stream()
    >>> node = src.learn_many({"sgd": SGDRegressor(random_state=0),
    ...                        "huber": SGDRegressor(loss="huber", random_state=0)},
    ...                       target="y", features=["x"], metrics=["mae"])
    >>> tables = node.sink_to_list()
    >>> for k in range(3):
    ...     src.emit(pd.DataFrame({"x": [0.1 * k, 0.2], "y": [0.2 * k, 0.4]}))
    >>> tables[-1][["batch", "model", "rows"]]
       batch model  rows
    0      3    sgd     5
    1      3  huber     5
    """

    SIDE_OUTPUTS = ("errors",)

    STATE = ("learners", "batches", "_table")

    def __init__(
        self,
        upstream: Stream,
        models: dict[str, Any],
        *,
        target: str | None,
        features: Any = None,
        metrics: Any = None,
        window: int | None = None,
        transform: Any = None,
        classes: Any = None,
        on_bad: str = "dead_letter",
        chunk: int | str | None = "auto",
        memory: int = 10_000,
        stream_name: Any = None,
    ) -> None:
        if not isinstance(models, dict) or not models:
            raise ConfigError(
                f"models must be a non-empty dict of name -> estimator, not {models!r}"
            )
        steps = [] if transform is None else transform
        steps = list(steps) if isinstance(steps, list | tuple) else [steps]
        self.learners = {
            str(name): Prequential(
                est,
                target=target,
                features=features,
                metrics=metrics,
                window=window,
                transform=[clone(t) for t in steps],
                classes=classes,
                on_bad=on_bad,
                chunk=chunk,
                memory=memory,
            )
            for name, est in models.items()
        }
        name = stream_name or f"learn_many({', '.join(self.learners)})"
        super().__init__(upstream, stream_name=name)
        self.make_side_outputs(name)
        self.batches = 0
        self._table: pd.DataFrame | None = None

    @property
    def metrics(self) -> pd.DataFrame | None:
        """The latest metrics table (one row per model)."""
        return self._table

    def update(self, x: Any, who: Any = None, metadata: Any = None) -> list:
        _check_batch(x)
        if not len(x):  # nothing learned, nothing new to say (and no time to name it by)
            return []
        self.batches += 1
        rows: list[dict[str, Any]] = []
        results: list = []
        for i, (name, learner) in enumerate(self.learners.items()):
            _, dead = learner.update(x)
            if i == 0 and dead is not None:
                results += self.to_side("errors", dead)
            rows.append({"batch": self.batches, **_when(x), "model": name, **learner.metrics.get()})
        self._table = pd.DataFrame(rows)
        return results + self.forward(self._table)


def compare_models(
    models: dict[str, Any], stream: Stream, *, target: str | None, **options: Any
) -> learn_many:
    """Run several models side by side on ``stream``: ``stream.learn_many(models, ...)``.

    Examples
    --------
    >>> import pandas as pd
    >>> from streamz import Stream
    >>> from sklearn.linear_model import SGDClassifier, Perceptron
    >>> src = Stream()
    >>> node = compare_models({"logistic": SGDClassifier(loss="log_loss", random_state=0),
    ...                        "perceptron": Perceptron(random_state=0)},
    ...                       src, target="y", features=["x"], classes=[0, 1],
    ...                       metrics=["accuracy"])
    >>> for k in range(4):
    ...     src.emit(pd.DataFrame({"x": [-1.0, 1.0, -2.0, 2.0], "y": [0, 1, 0, 1]}))
    >>> node.metrics[["model", "rows", "accuracy"]]
            model  rows  accuracy
    0    logistic    15  0.933333
    1  perceptron    15  0.933333
    """
    return stream.learn_many(models, target=target, **options)


def _when(x: pd.DataFrame) -> dict[str, Any]:
    col = time_column(x)
    if col is None or col not in x.columns or not len(x):
        return {}
    return {"time": x[col].iloc[-1]}


def _rate_name(estimator: Any) -> str | None:
    """The estimator's learning-rate parameter that ``partial_fit`` honours, if any."""
    params = estimator.get_params(deep=False)
    if "eta0" in params and params.get("learning_rate", "constant") != "optimal":
        return "eta0"
    if "learning_rate_init" in params:
        return "learning_rate_init"
    return None
