"""Argument checks whose messages name the parameter, the value, what is allowed and the fix."""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable
from typing import Any, cast

import numpy as np
import pandas as pd

from ..errors import ConfigError

__all__ = [
    "check_choice",
    "check_duration",
    "check_number",
    "check_port",
    "is_bool",
    "is_integer",
    "is_number_text",
    "is_real",
    "shown",
]


def check_choice(name: str, value: Any, allowed: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise with a close-match suggestion.

    Examples
    --------
    >>> check_choice("format", "csv", ["csv", "jsonl"])
    'csv'
    >>> check_choice("format", "cvs", ["csv", "jsonl", "text"])
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: format='cvs' is not one of 'csv', 'jsonl', 'text'. Did you mean 'csv'?
    """
    allowed = list(allowed)
    if value in allowed:
        return cast(str, value)
    listed = ", ".join(repr(a) for a in allowed)
    msg = f"{name}={value!r} is not one of {listed}."
    hint = f"for example {name}={allowed[0]!r}" if allowed else ""
    if isinstance(value, str):
        close = difflib.get_close_matches(value, allowed, n=1, cutoff=0.5)
        if close:
            hint = f"Did you mean {close[0]!r}?"
            msg += f" {hint}"
    err = ConfigError(msg, param=name, value=value)
    err.hint = hint
    raise err


def shown(value: Any) -> str:
    """``repr`` of a value for a message; numpy scalars as the Python number they hold.

    Examples
    --------
    >>> import numpy as np
    >>> shown(np.int64(3)), shown(np.float32(0.5)), shown("3")
    ('3', '0.5', "'3'")
    """
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def is_bool(value: Any) -> bool:
    """``True``/``False``, Python's or numpy's: refused where a number is meant.

    >>> import numpy as np
    >>> is_bool(True), is_bool(np.bool_(False)), is_bool(1)
    (True, True, False)
    """
    return isinstance(value, bool | np.bool_)


def is_integer(value: Any) -> bool:
    """An integer, Python's or numpy's; not ``True``/``False``, and not a ``numpy.timedelta64``
    (numpy makes it an integer type: ``isinstance(np.timedelta64(1, "h"), numbers.Integral)``).

    Examples
    --------
    >>> import numpy as np
    >>> is_integer(np.int32(5)), is_integer(True), is_integer(np.timedelta64(1, "h"))
    (True, False, False)
    """
    return (
        isinstance(value, numbers.Integral)
        and not is_bool(value)
        and not isinstance(value, np.timedelta64)
    )


def is_real(value: Any) -> bool:
    """A real number, Python's or numpy's (integers too); not a bool, not a duration.

    >>> import numpy as np
    >>> is_real(2), is_real(np.float32(0.5)), is_real(True), is_real("3")
    (True, True, False, False)
    """
    return (
        isinstance(value, numbers.Real)
        and not is_bool(value)
        and not isinstance(value, np.timedelta64)
    )


def _has_example(name: str, fix: str) -> bool:
    return any(s in fix for s in (f"{name}=", "e.g.", "such as", "for example"))


def _example(low: float | None, high: float | None, low_open: bool, integer: bool) -> int | float:
    """A value inside the bounds, for a message that has no better example."""
    if integer:
        if low is not None:
            return math.floor(low) + 1 if low_open else math.ceil(low)
        return 0 if high is None else min(0, math.floor(high))
    if low is not None and high is not None:
        return (low + high) / 2 if low_open else float(low)
    if low is not None:
        return low + 1.0 if low_open else float(low)
    return 1.0 if high is None else float(min(high, 1.0))


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    integer: bool = False,
    fix: str = "",
    example: Any = None,
) -> int | float:
    """Check that ``value`` is a finite number within bounds; return it as a plain Python number.

    Python and numpy numbers are alike (``numbers.Integral`` / ``numbers.Real``: a size computed
    with numpy is a size); ``True`` and ``False`` are refused where a number is meant, and so
    are NaN and infinities. The result is an ``int`` (``integer=True``, or an integral value) or
    a ``float``, never a numpy scalar. A refusal names the parameter, the value and an accepted
    example: ``example`` if given, else the one in ``fix``, else one made from the bounds.

    Examples
    --------
    >>> import numpy as np
    >>> check_number("speed", 2.5, low=0)
    2.5
    >>> check_number("max_rows", np.int64(500), low=1, integer=True)
    500
    >>> check_number("speed", -1, low=0, fix="use speed=0 for as fast as possible")
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: speed must be >= 0, not -1; use speed=0 for as fast as possible
    >>> check_number("max_rows", 0, low=0, low_open=True, integer=True)
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: max_rows must be > 0, not 0; for example max_rows=1
    >>> check_number("max_rows", True, low=1, integer=True, example=100_000)
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: max_rows must be an integer, not True; for example max_rows=100000
    >>> check_number("threshold", np.float64("nan"), low=0, low_open=True)
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: threshold must be finite, not nan; for example threshold=1.0
    """
    if fix and _has_example(name, fix) and example is None:
        hint = fix
    else:
        ex = _example(low, high, low_open, integer) if example is None else example
        hint = (f"{fix}; " if fix else "") + f"for example {name}={shown(ex)}"

    def refuse(what: str) -> ConfigError:
        return ConfigError(
            f"{name} must be {what}, not {shown(value)}", param=name, value=value, hint=hint
        )

    kind = "an integer" if integer else "a number"
    if not is_real(value):
        raise refuse(kind)
    if is_integer(value):
        plain: int | float = int(value)
    elif integer:
        raise refuse("an integer")
    else:
        try:
            plain = float(value)
        except OverflowError:
            plain = math.inf
        if not math.isfinite(plain):
            raise refuse("finite")
    if low is not None and (plain <= low if low_open else plain < low):
        raise refuse(f"{'>' if low_open else '>='} {shown(low)}")
    if high is not None and plain > high:
        raise refuse(f"<= {shown(high)}")
    return plain


def check_port(name: str, value: Any, *, allow_zero: bool = True) -> int:
    """Check a TCP/UDP port number (Python or numpy integer); return it as an ``int``.

    Examples
    --------
    >>> import numpy as np
    >>> check_port("port", np.int32(9999))
    9999
    >>> check_port("port", 70000)
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: port must be in 0..65535, not 70000; pick a free port such as 9999 (0 lets the system choose)
    """
    low = 0 if allow_zero else 1
    fix = "pick a free port such as 9999" + (" (0 lets the system choose)" if allow_zero else "")
    if not is_integer(value) or not low <= int(value) <= 65535:
        raise ConfigError(
            f"{name} must be in {low}..65535, not {shown(value)}", param=name, value=value, hint=fix
        )
    return int(value)


def check_duration(
    name: str, value: Any, *, allow_zero: bool = False, examples: str = "'30s', '5min' or '1h'"
) -> pd.Timedelta:
    """A duration (``'5min'``, a ``timedelta``, a ``numpy.timedelta64``) that is positive (or
    >= 0 with ``allow_zero``).

    A bare number (``30``, ``"30"``) has no unit (pandas would read nanoseconds) and is refused,
    except a zero where zero is allowed.

    Examples
    --------
    >>> check_duration("size", "90s")
    Timedelta('0 days 00:01:30')
    >>> check_duration("size", "soon")
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: size must be a duration > 0 such as '30s', '5min' or '1h', not 'soon'
    >>> check_duration("gap", 30)
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: gap must be a duration > 0 such as '30s', '5min' or '1h', not 30 (a number has no unit: write '30s' or '30ms')
    """
    low = ">= 0" if allow_zero else "> 0"
    msg = f"{name} must be a duration {low} such as {examples}, not {shown(value)}"
    if is_bool(value):
        raise ConfigError(msg, param=name, value=value)
    bare = is_real(value) or (isinstance(value, str) and is_number_text(value))
    if bare:
        number = value if is_real(value) else float(value)
        if not (allow_zero and number == 0):
            raise ConfigError(
                f"{msg} (a number has no unit: write '{value}s' or '{value}ms')",
                param=name,
                value=value,
            )
    try:
        delta = pd.Timedelta(value)
    except (ValueError, TypeError, OverflowError):
        delta = pd.NaT
    zero = pd.Timedelta(0)
    if delta is pd.NaT or delta < zero or (delta == zero and not allow_zero):
        raise ConfigError(msg, param=name, value=value)
    return delta


def is_number_text(text: str) -> bool:
    """Whether ``text`` reads as a bare number (``"30"``, ``"1e3"``, ``"nan"``): no unit.

    >>> is_number_text("1e3"), is_number_text("30s")
    (True, False)
    """
    try:
        float(text)
    except ValueError:
        return False
    return True
