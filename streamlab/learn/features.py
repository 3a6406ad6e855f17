"""From a batch to model input: pick the features and the label, find bad rows, say why.

Checks, vectorised per column (per value only for the rows of an ``object`` column that are
not numbers):

- a feature column the batch does not have: ``feature 'x' is missing (no such column)``;
- a missing value (None, NaN, NA): ``feature 'x' is missing``;
- an infinite one: ``feature 'x' is infinite``;
- a value of the wrong type: ``feature 'x' is not a number: 'abc'`` (numeric features),
  ``feature 'text' is not text: 3`` (a text column for a vectoriser), ``... is not a dict``;
- the label: ``label 'y' is missing``, ``label 'y' is not a number: 'abc'`` (regression),
  ``label 'y' is infinite``, ``label 'y' is 'z', not one of classes=['a', 'b']``.

A row takes the reason of its first bad feature (in ``features`` order), else of its label.
With ``on_bad="impute"`` a bad *numeric* feature is filled with that feature's running mean
(over the valid values seen so far, this batch included) and the row is kept and counted; a
row is still dead-lettered when its label is bad, when the bad feature is text or a dict, or
when there is no valid value yet to take a mean of (`` (nothing to impute from yet)``).
"""

from __future__ import annotations

import difflib
import numbers
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..core.batch import column_arrays, time_column
from ..errors import ConfigError

__all__ = ["Checked", "FeatureCheck", "check_columns", "class_codes", "raw_kind"]

ON_BAD = ("dead_letter", "impute")


def check_columns(x: object, step: str, **columns: object) -> None:
    """Raise if ``x`` is not a DataFrame or lacks one of ``columns`` (``None`` means unused).

    Examples
    --------
    >>> check_columns(pd.DataFrame({"value": [1]}), "detect_drift", column="valeu")
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: column='valeu' is not a column of this stream; its columns are ['value']. Did you mean 'value'?
    """
    if not isinstance(x, pd.DataFrame):
        raise ConfigError(f"{step} takes pandas DataFrame batches, not {type(x).__name__}")
    for what, c in columns.items():
        if c is not None and c not in x.columns:
            names = [str(n) for n in x.columns]
            close = difflib.get_close_matches(str(c), names, n=1, cutoff=0.6)
            raise ConfigError(
                f"{what}={c!r} is not a column of this stream; its columns are "
                f"{list(x.columns)}" + (f". Did you mean {close[0]!r}?" if close else "")
            )


def raw_kind(transform: list) -> str | None:
    """What the first feature step takes whole: ``"text"`` (a text vectoriser),
    ``"dict"`` (``FeatureHasher``), ``"tokens"`` (``FeatureHasher`` with
    ``input_type="string"`` or ``"pair"``), or ``None`` (numeric columns)."""
    if not transform:
        return None
    first = transform[0]
    if hasattr(first, "build_analyzer"):
        return "text"
    kind = getattr(first, "input_type", None)
    if kind == "dict":
        return "dict"
    if kind in ("string", "pair"):
        return "tokens"
    return None


@dataclass
class Checked:
    """The outcome of checking one batch."""

    keep: np.ndarray  # positions of the rows that go on (to the model)
    X: np.ndarray  # their features: 2-D float, or 1-D object for a vectoriser
    y: np.ndarray | None  # their labels (None for clustering)
    dead: np.ndarray  # positions of the dead-lettered rows
    reasons: list[str]  # one per dead row
    imputed: int = 0
    kinds: Counter = field(default_factory=Counter)


def class_codes(classes: pd.Index, values) -> np.ndarray:
    """The position of each of ``values`` in ``classes`` (-1 where it is not there), as
    ``classes.get_indexer(values)`` gives it. For a few classes of the values' own kind it
    compares per class instead: ``get_indexer`` costs ~50 µs a call on bool or object labels,
    paid several times per batch by a learner.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> class_codes(pd.Index(["b", "a"]), np.array(["a", "c", "b"], dtype=object)).tolist()
    [1, -1, 0]
    >>> class_codes(pd.Index([False, True]), np.array([1, 0])).tolist()  # as get_indexer
    [-1, -1]
    """
    values = np.asarray(values)
    kind = np.asarray(classes).dtype.kind
    if len(classes) > 16 or values.ndim != 1 or values.dtype.kind != kind or kind not in "biufO":
        return classes.get_indexer(values)
    codes = np.full(len(values), -1, dtype=np.intp)
    for k, c in enumerate(classes):
        codes[values == c] = k  # classes are unique: at most one matches
    return codes


def _is_missing(values: np.ndarray) -> np.ndarray:
    return pd.isna(values) if values.dtype == object else np.zeros(len(values), bool)


class FeatureCheck:
    """Validates batches for one learner (see the module docstring).

    Examples
    --------
    >>> import pandas as pd
    >>> fc = FeatureCheck(target="y", features=["a", "b"], task="regression")
    >>> c = fc.check(pd.DataFrame({"a": [1.0, float("nan"), 3.0], "b": [1, 2, "x"], "y": [1, 2, 3]}))
    >>> c.keep.tolist(), c.X.tolist(), c.reasons
    ([0], [[1.0, 1.0]], ["feature 'a' is missing", "feature 'b' is not a number: 'x'"])
    """

    def __init__(self, *, target, features, task, raw=None, classes=None, on_bad="dead_letter"):
        self.target = target
        self.task = task  # "classification" | "regression" | "clustering"
        self.raw = raw
        if raw is not None and not isinstance(features, str):
            raise ConfigError(
                f"the first transform step takes one {raw} column whole: pass features='name' "
                f"(a single column name), not features={features!r}"
            )
        if isinstance(features, str):
            features = features if raw is not None else [features]
        elif features is not None:
            features = list(features)
            if not features or not all(isinstance(f, str) for f in features):
                raise ConfigError(
                    f"features must be a column name or a non-empty list of them, not {features!r}"
                )
            if target is not None and target in features:
                raise ConfigError(f"target={target!r} is also in features={features!r}")
        self.features = features  # None until the first batch when not given
        self.classes = None if classes is None else list(classes)
        self._class_index = None if classes is None else pd.Index(self.classes)
        self.on_bad = on_bad
        self._where: tuple | None = None  # (the columns, positions of the features in them)
        self._sum: np.ndarray | None = None  # running sums / counts of valid values (impute)
        self._count: np.ndarray | None = None

    # -- the columns ------------------------------------------------------------------------
    def _resolve(self, df: pd.DataFrame) -> None:
        skip = {self.target, time_column(df)}
        cols = [
            c
            for c, dtype in df.dtypes.items()
            if c not in skip
            and (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))
        ]
        if not cols:
            raise ConfigError(
                f"features=None found no numeric column besides target={self.target!r} in "
                f"{list(df.columns)}; name them with features=[...]"
            )
        self.features = cols

    def check(self, df: pd.DataFrame) -> Checked:
        """Split a batch into rows to learn (with their X, y) and dead rows with reasons."""
        if self.features is None:
            self._resolve(df)
        n = len(df)
        why = _Reasons(n)
        if self.raw is not None:
            X = self._raw(df, why)
            fixable = np.zeros((n, 1), bool)
        else:
            X, fixable = self._numeric(df, why)
        label = _Reasons(n)
        y = self._label(df, label)
        done = np.zeros(n, bool)
        if self.on_bad == "impute" and self.raw is None:
            done = self._impute(X, fixable, why.any() & ~label.any(), why)
        first_kind = why.kind[done]
        why.clear(done)
        why.take(label)
        bad = why.any()
        kinds = Counter(why.kind[bad].tolist()) + Counter(first_kind.tolist())
        imputed = int(done.sum())
        if not bad.any():
            return Checked(np.arange(n), X, y, np.arange(0), [], imputed, kinds)
        keep, dead = np.flatnonzero(~bad), np.flatnonzero(bad)
        return Checked(
            keep,
            X[keep],
            None if y is None else y[keep],
            dead,
            why.text[dead].tolist(),
            imputed,
            kinds,
        )

    def _positions(self, df) -> list[int] | None:
        """Where the features are in ``df`` (remembered while the columns stay the same),
        or ``None`` if one is missing or a name is not unique."""
        key = tuple(df.columns)
        if self._where is None or self._where[0] != key:
            pos = None
            where = {c: i for i, c in enumerate(key)}
            if len(where) == len(key) and all(f in where for f in self.features):
                pos = [where[f] for f in self.features]
            self._where = (key, pos)
        return self._where[1]

    def _numeric(self, df, why):
        n = len(df)
        pos = self._positions(df)
        if pos is not None:  # the common case: plain, finite numbers
            arrays = column_arrays(df, pos)
            if all(isinstance(a, np.ndarray) and a.dtype.kind in "biuf" for a in arrays):
                X = np.column_stack(arrays).astype(float, copy=False)
                if np.isfinite(X).all():
                    return X, np.zeros((n, len(self.features)), bool)
        X = np.empty((n, len(self.features)))
        bad_cells = np.zeros((n, len(self.features)), bool)
        for j, col in enumerate(self.features):
            if col not in df.columns:
                X[:, j] = np.nan
                bad_cells[:, j] = True
                why.note(
                    bad_cells[:, j],
                    f"feature {col!r} is missing (no such column)",
                    "missing column",
                )
                continue
            X[:, j] = _numbers(df[col], f"feature {col!r}", why, bad_cells[:, j])
        return X, bad_cells

    def _raw(self, df, why):
        col = self.features
        if col not in df.columns:
            why.note(
                np.ones(len(df), bool),
                f"feature {col!r} is missing (no such column)",
                "missing column",
            )
            return np.full(len(df), None, dtype=object)
        values = df[col].to_numpy(dtype=object)
        missing = pd.isna(values)
        why.note(missing, f"feature {col!r} is missing", "missing")
        want, what = {
            "text": (str, "text"),
            "dict": (Mapping, "a dict"),
            "tokens": ((list, tuple), "a list"),
        }[self.raw]
        wrong = ~missing & ~np.fromiter((isinstance(v, want) for v in values), bool, len(values))
        why.each(wrong, lambda i: f"feature {col!r} is not {what}: {values[i]!r}", "wrong type")
        return values

    def _label(self, df, why):
        n = len(df)
        if self.task == "clustering":
            return None
        name = self.target
        if name not in df.columns:
            why.note(
                np.ones(n, bool), f"label {name!r} is missing (no such column)", "missing label"
            )
            return np.full(n, None, dtype=object)
        if self.task == "regression":
            return _numbers(df[name], f"label {name!r}", why, np.zeros(n, bool), label=True)
        y = df[name].to_numpy()
        missing = pd.isna(y) if y.dtype.kind in "fOUSmM" else np.zeros(n, bool)
        why.note(missing, f"label {name!r} is missing", "missing label")
        if self._class_index is not None:
            unseen = ~missing & (class_codes(self._class_index, y) < 0)
            why.each(
                unseen,
                lambda i: f"label {name!r} is {y[i]!r}, not one of classes={self.classes!r}",
                "unseen label",
            )
        return y

    def _impute(self, X, bad_cells, fix, why) -> np.ndarray:
        good = ~bad_cells
        sums = np.where(good, X, 0.0).sum(axis=0)
        counts = good.sum(axis=0)
        self._sum = sums if self._sum is None else self._sum + sums
        self._count = counts if self._count is None else self._count + counts
        if not fix.any():
            return fix
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = self._sum / self._count
        rows = np.flatnonzero(fix)
        cells = bad_cells[rows]
        possible = ~(cells & (self._count == 0)).any(axis=1)
        for i in rows[~possible]:
            why.text[i] = f"{why.text[i]} (nothing to impute from yet)"
        rows = rows[possible]
        r, c = np.nonzero(bad_cells[rows])
        X[rows[r], c] = mean[c]
        done = np.zeros(len(fix), bool)
        done[rows] = True
        return done


class _Reasons:
    """The first problem of each row: its text and its kind (for the counters)."""

    def __init__(self, n: int) -> None:
        self.text = np.full(n, None, dtype=object)
        self.kind = np.full(n, None, dtype=object)
        self.bad = np.zeros(n, bool)

    def any(self) -> np.ndarray:
        return self.bad

    def note(self, mask: np.ndarray, text: str, kind: str) -> None:
        """Give ``text`` to the rows in ``mask`` that have no reason yet."""
        if mask.any():
            new = mask & ~self.bad
            self.text[new] = text
            self.kind[new] = kind
            self.bad |= new

    def each(self, mask: np.ndarray, text, kind: str) -> None:
        """Like :meth:`note`, with a text made per row by ``text(i)`` (for the few bad ones)."""
        for i in np.flatnonzero(mask & ~self.bad):
            self.text[i] = text(i)
            self.kind[i] = kind
            self.bad[i] = True

    def clear(self, mask: np.ndarray) -> None:
        self.text[mask] = self.kind[mask] = None
        self.bad &= ~mask

    def take(self, other: _Reasons) -> None:
        """Rows without a reason here take ``other``'s."""
        free = ~self.bad & other.bad
        if free.any():
            self.text[free] = other.text[free]
            self.kind[free] = other.kind[free]
            self.bad |= free


def _numbers(s: pd.Series, what: str, why: _Reasons, bad, *, label=False) -> np.ndarray:
    """A column as floats; marks (in ``bad``) and explains missing, infinite, non-numbers."""
    if s.dtype.kind in "biuf":
        v = s.to_numpy(dtype=float)
        wrong = None
    elif pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        v = s.to_numpy(dtype=float, na_value=np.nan)  # nullable Int64 / Float64 / boolean
        wrong = None
    else:
        raw = s.to_numpy(dtype=object)
        num = np.fromiter((isinstance(x, numbers.Real) for x in raw), bool, len(raw))
        v = np.full(len(raw), np.nan)
        if num.any():
            v[num] = raw[num].astype(float)
        wrong = ~num & ~pd.isna(raw)
    finite = np.isfinite(v)
    if finite.all():
        return v
    missing = np.isnan(v) if wrong is None else np.isnan(v) & ~wrong
    why.note(missing, f"{what} is missing", "missing label" if label else "missing")
    why.note(np.isinf(v), f"{what} is infinite", "bad label" if label else "infinite")
    if wrong is not None:
        why.each(
            wrong,
            lambda i: f"{what} is not a number: {raw[i]!r}",
            "bad label" if label else "wrong type",
        )
    bad |= ~finite
    return v
