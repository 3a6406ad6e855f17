"""Argument checks whose messages name the parameter, the value, what is allowed and the fix."""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from typing import Any

import pandas as pd

from ..errors import ConfigError

__all__ = ["check_choice", "check_duration", "check_number", "check_port"]


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
        return value
    listed = ", ".join(repr(a) for a in allowed)
    msg = f"{name}={value!r} is not one of {listed}."
    if isinstance(value, str):
        close = difflib.get_close_matches(value, allowed, n=1, cutoff=0.5)
        if close:
            msg += f" Did you mean {close[0]!r}?"
    raise ConfigError(msg)


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    integer: bool = False,
    fix: str = "",
) -> Any:
    """Check that ``value`` is a finite number within bounds; return it.

    Examples
    --------
    >>> check_number("speed", 2.5, low=0)
    2.5
    >>> check_number("speed", -1, low=0, fix="use speed=0 for as fast as possible")
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: speed must be >= 0, not -1; use speed=0 for as fast as possible
    >>> check_number("max_rows", 0, low=0, low_open=True, integer=True)
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: max_rows must be > 0, not 0
    """
    tail = f"; {fix}" if fix else ""
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{name} must be {kind}, not {value!r}{tail}")
    if integer and not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, not {value!r}{tail}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{name} must be finite, not {value!r}{tail}")
    if low is not None and (value <= low if low_open else value < low):
        raise ConfigError(f"{name} must be {'>' if low_open else '>='} {low}, not {value!r}{tail}")
    if high is not None and value > high:
        raise ConfigError(f"{name} must be <= {high}, not {value!r}{tail}")
    return value


def check_port(name: str, value: Any, *, allow_zero: bool = True) -> int:
    """Check a TCP/UDP port number.

    Examples
    --------
    >>> check_port("port", 9999)
    9999
    >>> check_port("port", 70000)
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: port must be in 0..65535, not 70000; pick a free port such as 9999 (0 lets the system choose)
    """
    low = 0 if allow_zero else 1
    fix = "pick a free port such as 9999" + (" (0 lets the system choose)" if allow_zero else "")
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 65535:
        raise ConfigError(f"{name} must be in {low}..65535, not {value!r}; {fix}")
    return value


def check_duration(
    name: str, value: Any, *, allow_zero: bool = False, examples: str = "'30s', '5min' or '1h'"
) -> pd.Timedelta:
    """A duration (``'5min'``, a ``timedelta``) that is positive (or >= 0 with ``allow_zero``).

    Examples
    --------
    >>> check_duration("size", "90s")
    Timedelta('0 days 00:01:30')
    >>> check_duration("size", "soon")
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: size must be a duration > 0 such as '30s', '5min' or '1h', not 'soon'
    """
    try:
        delta = pd.Timedelta(value) if not isinstance(value, bool) else pd.NaT
    except (ValueError, TypeError):
        delta = pd.NaT
    zero = pd.Timedelta(0)
    if delta is pd.NaT or delta < zero or (delta == zero and not allow_zero):
        low = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{name} must be a duration {low} such as {examples}, not {value!r}")
    return delta
