"""Column types kept as promised: every value either fits the column's type exactly or its
record is a dead letter whose reason names the column, the value and the type.

This is the one place where parsed values meet a column type, for declared types
(``dtypes={"n": "int64"}``) and for the types a stream's first batch fixed alike:

- integers (``int64``, ``uint8``..., nullable ``Int64``): integer values in the type's range,
  and whole floats up to 2**53 (where a float is still exact). Not: a fraction, inf, a number
  out of range (never wrapped), a boolean, text that is not a number;
- floats (``float64``, ``float32``, ``Float64``): any number (``float32``: within its range),
  and numeric text. Not: a boolean, other text;
- booleans (``bool``, ``boolean``): ``True``/``False`` and the text ``true``/``false`` in any case;
- text (``str``, ``string``, ``object``), ``category`` (declared categories: only those) and
  datetimes (``datetime64[ns]``, ``datetime64[ns, UTC]``: ISO 8601 text or datetimes).

A missing value (empty field, JSON ``null``, a missing key) is taken by types that have one:
floats (NaN), the nullable types (``Int64``, ``Float64``, ``boolean``, ``string``), text,
categories and datetimes (NaT). ``int64`` and ``bool`` have none, so a missing value there is
a dead letter whose reason suggests the nullable type.

Plain numpy and pandas: no stream, no socket. Vectorised except where values are Python
objects already (JSON) or a batch holds text that is not a plain number.

Examples
--------
>>> s = pd.Series([1, 2**70, True, None, "7", 2.5], dtype=object)
>>> values, bad, why = coerce(s, np.dtype("int64"), column="n")
>>> values[~bad].tolist(), [why(i) for i in np.flatnonzero(bad)]  # doctest: +NORMALIZE_WHITESPACE
([1, 7], ["column 'n': 1180591620717411303424 is out of range for int64",
          "column 'n': True is a boolean, not an int64",
          "column 'n': missing value, and int64 has none (declare 'Int64' to allow missing values)",
          "column 'n': 2.5 is not a whole number, not an int64"])
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionDtype

__all__ = ["MAX_SHOWN", "coerce", "family", "show", "takes_missing"]

#: A value quoted in a reason is cut to this many characters (a 1 MB field is not a 1 MB reason).
MAX_SHOWN = 80
_EXACT = 2**53  # floats below this are exact integers (from 2**53 on, maybe not)
_INT_TEXT = re.compile(r"\s*[+-]?\d+\s*")
_SHORT_INT = r"\s*[+-]?\d{1,18}\s*"  # always fits int64
_TRUE, _FALSE = "true", "false"


def show(value) -> str:
    """``repr`` of a value for a reason, at most :data:`MAX_SHOWN` characters.

    Examples
    --------
    >>> show("x" * 100)
    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'... (102 characters)"
    >>> show(np.float64(1.5))
    '1.5'
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str | bytes) and len(value) > MAX_SHOWN:
        text = repr(value[: MAX_SHOWN - 10])
        return f"{text}... ({len(repr(value))} characters)"
    text = repr(value)
    return (
        text if len(text) <= MAX_SHOWN else f"{text[: MAX_SHOWN - 10]}... ({len(text)} characters)"
    )


def family(dtype) -> str:
    """``"int"``, ``"float"``, ``"bool"``, ``"datetime"``, ``"category"`` or ``"text"``.

    Examples
    --------
    >>> [family(pd.api.types.pandas_dtype(t)) for t in ("Int64", "float32", "boolean", "str")]
    ['int', 'float', 'bool', 'text']
    """
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if isinstance(dtype, pd.DatetimeTZDtype) or getattr(dtype, "kind", "") == "M":
        return "datetime"
    return "text"


def takes_missing(dtype) -> bool:
    """True if the type has a missing value (NaN, NA or NaT): numpy ints and bools have none."""
    return not (isinstance(dtype, np.dtype) and dtype.kind in "iub")


def _name(dtype) -> str:
    return str(dtype)


def _article(dtype) -> str:
    name = _name(dtype)
    return f"an {name}" if name[0].lower() in "aeiou" else f"a {name}"


Why = Callable[[int], str]


def coerce(series: pd.Series, want, *, column) -> tuple[pd.Series, np.ndarray, Why]:
    """``series`` as type ``want``: ``(values, bad, why)``.

    ``values`` has type ``want`` (bad rows hold a placeholder, so drop them), ``bad`` marks the
    values that do not fit, ``why(i)`` is the reason for bad row ``i`` (naming the column, the
    value and the type; built only for the rows that are bad).
    """
    kind = family(want)
    missing = series.isna().to_numpy()
    if kind == "int":
        values, bad, why = _to_int(series, want, missing)
    elif kind == "float":
        values, bad, why = _to_float(series, want, missing)
    elif kind == "bool":
        values, bad, why = _to_bool(series, want, missing)
    elif kind == "datetime":
        values, bad, why = _to_datetime(series, want, missing)
    elif kind == "category":
        values, bad, why = _to_category(series, want, missing)
    else:
        return (
            series.astype(want) if series.dtype != want else series,
            np.zeros(len(series), bool),
            _none,
        )
    if not takes_missing(want) and missing.any():
        bad = bad | missing
        inner = why

        def why(i: int, inner=inner) -> str:
            if missing[i]:
                nullable = {"int": "Int64", "bool": "boolean"}.get(kind, "a nullable type")
                return (
                    f"missing value, and {_name(want)} has none "
                    f"(declare {nullable!r} to allow missing values)"
                )
            return inner(i)

    original = series.to_numpy(dtype=object)
    return (
        pd.Series(values, index=series.index, name=series.name),
        bad,
        lambda i: f"column {column!r}: {why(i) if missing[i] else _says(original[i], why(i))}",
    )


def _none(i: int) -> str:  # pragma: no cover - never called: nothing is bad
    raise AssertionError(i)


def _says(value, reason: str) -> str:
    return f"{show(value)} {reason}"


# -- integers ------------------------------------------------------------------------------------
def _int_info(want) -> np.iinfo:
    numpy_type = want.numpy_dtype if isinstance(want, ExtensionDtype) else want
    return np.iinfo(numpy_type)


def _to_int(series: pd.Series, want, missing: np.ndarray):
    info = _int_info(want)
    n = len(series)
    have = series.dtype
    placeholder = np.zeros(n, dtype=info.dtype)
    reasons: dict[int, str] = {}
    bad = np.zeros(n, bool)
    out_of_range = f"is out of range for {_name(want)}"
    if have.kind in "iu":  # numpy or nullable integers: a range check, exact
        numpy_type = have.numpy_dtype if isinstance(have, ExtensionDtype) else have
        v = (
            series.to_numpy(dtype=numpy_type, na_value=0)
            if missing.any()
            else series.to_numpy(numpy_type)
        )
        src = np.iinfo(numpy_type)
        low = np.zeros(n, bool) if src.min >= info.min else v < info.min
        high = np.zeros(n, bool) if src.max <= info.max else v > info.max
        bad = low | high
        placeholder = np.where(bad, 0, v).astype(info.dtype)
        return _with_missing(placeholder, want, missing), bad, lambda i: out_of_range
    if have.kind == "f":
        v = series.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            whole = np.isfinite(v) & (v == np.floor(v))
            exact = whole & (np.abs(v) < _EXACT)
            fits = exact & (v >= info.min) & (v <= info.max)
        bad = ~fits & ~missing
        placeholder = np.where(fits, v, 0).astype(info.dtype)

        def why(i: int) -> str:
            if not whole[i]:
                return f"is not a whole number, not {_article(want)}"
            if not exact[i]:
                return f"is a float too large to be an exact integer, not {_article(want)}"
            return out_of_range

        return _with_missing(placeholder, want, missing), bad, why
    if have.kind == "b":
        bad = ~missing
        return (
            _with_missing(placeholder, want, missing),
            bad,
            lambda i: f"is a boolean, not {_article(want)}",
        )
    # Python objects or text: text that is plainly a short integer is converted in one go
    values = series.to_numpy(dtype=object)
    todo = ~missing
    if pd.api.types.is_string_dtype(have) and todo.any():
        text = series[todo].astype(str)
        short = text.str.fullmatch(_SHORT_INT).to_numpy(dtype=bool)
        if short.any():
            rows = np.flatnonzero(todo)[short]
            as_int = text[short].str.strip().astype("int64").to_numpy()
            ok = (as_int >= info.min) & (as_int <= info.max)
            placeholder[rows[ok]] = as_int[ok]
            bad[rows[~ok]] = True
            for r in rows[~ok].tolist():
                reasons[r] = out_of_range
            todo[rows] = False
    for i in np.flatnonzero(todo).tolist():
        value, reason = _int_of(values[i], info, want)
        if reason is None:
            placeholder[i] = value
        else:
            bad[i] = True
            reasons[i] = reason
    return _with_missing(placeholder, want, missing), bad, reasons.__getitem__


def _int_of(v, info: np.iinfo, want) -> tuple[int, str | None]:
    """One Python value as an integer of the type, or the reason it is not one."""
    if isinstance(v, bool | np.bool_):
        return 0, f"is a boolean, not {_article(want)}"
    if isinstance(v, numbers.Integral):
        n = int(v)
    elif isinstance(v, numbers.Real):
        f = float(v)
        if not (np.isfinite(f) and f == np.floor(f)):
            return 0, f"is not a whole number, not {_article(want)}"
        if abs(f) >= _EXACT:
            return 0, f"is a float too large to be an exact integer, not {_article(want)}"
        n = int(f)
    elif isinstance(v, str):
        if _INT_TEXT.fullmatch(v):
            n = int(v)
        else:
            try:
                f = float(v)
            except ValueError:
                return 0, f"is not a valid {_name(want)}"
            return _int_of(f, info, want)
    else:
        return 0, f"is {type(v).__name__}, not {_article(want)}"
    if not info.min <= n <= info.max:
        return 0, f"is out of range for {_name(want)}"
    return n, None


def _with_missing(values: np.ndarray, want, missing: np.ndarray):
    """The values as ``want``; for a nullable type, missing rows become NA."""
    if isinstance(want, ExtensionDtype):
        return pd.array(values, dtype=want) if not missing.any() else _masked(values, want, missing)
    return values


def _masked(values: np.ndarray, want, missing: np.ndarray):
    arr = pd.array(values, dtype=want)
    arr[missing] = pd.NA
    return arr


# -- floats --------------------------------------------------------------------------------------
def _to_float(series: pd.Series, want, missing: np.ndarray):
    numpy_type = want.numpy_dtype if isinstance(want, ExtensionDtype) else want
    n = len(series)
    have = series.dtype
    not_number = f"is not a valid {_name(want)}"
    if have.kind == "b":
        return (
            _with_missing(np.zeros(n, numpy_type), want, missing),
            ~missing,
            lambda i: f"is a boolean, not {_article(want)}",
        )
    is_bool = np.zeros(n, bool)
    if have.kind in "iuf":
        v = series.to_numpy(dtype="float64", na_value=np.nan)
        bad = np.zeros(n, bool)
    else:  # Python objects or text
        values = series.to_numpy(dtype=object)
        if have == np.dtype(object):  # JSON values: true is not a number
            is_bool = np.fromiter((isinstance(x, bool | np.bool_) for x in values), bool, n)
        text = pd.Series(np.where(is_bool, None, values), dtype=object)
        try:
            v = pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        except OverflowError:  # an integer beyond any float: one by one, then out of range
            v = np.fromiter((_float_of(x) for x in text), "float64", n)
        bad = (np.isnan(v) & ~missing) | is_bool
    with np.errstate(over="ignore", invalid="ignore"):
        overflow = np.isfinite(v) & ~np.isfinite(v.astype(numpy_type))
    if have == np.dtype(object) and np.isinf(v).any():  # an integer beyond every float
        overflow |= np.isinf(v) & np.fromiter((_is_int(x) for x in values), bool, n)
    bad |= overflow

    def why(i: int) -> str:
        if is_bool[i]:
            return f"is a boolean, not {_article(want)}"
        if overflow[i]:
            return f"is out of range for {_name(want)}"
        return not_number

    return _float_out(v, bad, want, numpy_type, missing), bad, why


def _is_int(x) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool | np.bool_)


def _float_of(x) -> float:
    """One Python value as a float (an integer beyond any float as inf), NaN if not a number."""
    try:
        return float(x) if isinstance(x, numbers.Real | str) else np.nan
    except OverflowError:
        return np.inf if x > 0 else -np.inf
    except ValueError:
        return np.nan


def _float_out(v: np.ndarray, bad: np.ndarray, want, numpy_type, missing: np.ndarray):
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.where(bad, 0.0, v).astype(numpy_type)
    if isinstance(want, ExtensionDtype):
        return _masked(out, want, missing)
    return out


# -- booleans ------------------------------------------------------------------------------------
def _to_bool(series: pd.Series, want, missing: np.ndarray):
    n = len(series)
    have = series.dtype
    if have.kind == "b":
        v = series.to_numpy(dtype=bool, na_value=False)
        return _with_missing(v, want, missing), np.zeros(n, bool), _none
    values = series.to_numpy(dtype=object)
    out = np.zeros(n, bool)
    bad = ~missing
    if have.kind == "O":
        is_bool = np.fromiter((isinstance(x, bool | np.bool_) for x in values), bool, n)
        out[is_bool] = values[is_bool].astype(bool)
        is_text = np.fromiter((isinstance(x, str) for x in values), bool, n)
        if is_text.any():
            words = pd.Series(values[is_text], dtype=object).str.strip().str.lower().to_numpy()
            out[is_text] = words == _TRUE
            is_text[is_text] = (words == _TRUE) | (words == _FALSE)
        bad = ~missing & ~is_bool & ~is_text
    return (
        _with_missing(out, want, missing),
        bad,
        lambda i: f"is not a valid {_name(want)} (true or false)",
    )


# -- datetimes and categories --------------------------------------------------------------------
def _to_datetime(series: pd.Series, want, missing: np.ndarray):
    tz = getattr(want, "tz", None)
    if series.dtype.kind == "M":
        t = series
        if tz is not None and getattr(t.dt, "tz", None) is None:
            t = t.dt.tz_localize(tz)
    else:
        fmt = "ISO8601" if pd.api.types.is_string_dtype(series.dtype) else None
        t = pd.to_datetime(series, utc=tz is not None, errors="coerce", format=fmt)
    bad = t.isna().to_numpy() & ~missing
    t = t.astype(want) if t.dtype != want else t
    return t.to_numpy() if tz is None else t.array, bad, lambda i: f"is not a valid {_name(want)}"


def _to_category(series: pd.Series, want: pd.CategoricalDtype, missing: np.ndarray):
    if want.categories is None:  # plain "category": every value is one
        return series.astype(want).array, np.zeros(len(series), bool), _none
    bad = ~series.isin(want.categories).to_numpy() & ~missing  # not a declared category
    values = pd.Categorical(series.where(~bad), dtype=want)
    shown = ", ".join(map(show, list(want.categories)[:10]))
    return values, bad, lambda i: f"is not one of the declared categories ({shown})"
