"""The one switch over every private fast path: ``STREAMLAB_FASTPATH``.

streamlab uses a few private APIs of other libraries where they are much cheaper than the
public ones (``core/pandas_compat``, ``learn/sklearn_private``), each on verified versions only.
``STREAMLAB_FASTPATH=0`` (or ``false``, ``no``, ``off``) turns all of them off: the public paths
run, with the same results. Unset, empty, ``1``, ``true``, ``yes`` or ``on`` leave them on; any
other value is refused, so a typo cannot silently leave them on.

Examples
--------
>>> fastpath_disabled("0"), fastpath_disabled("") is None
('disabled by STREAMLAB_FASTPATH=0', True)
>>> fastpath_disabled("of")
Traceback (most recent call last):
...
streamlab.errors.ConfigError: STREAMLAB_FASTPATH='of' is not one of 0, 1 (also false/true, no/yes, off/on); set STREAMLAB_FASTPATH=0 to turn the private fast paths off
"""

from __future__ import annotations

import os

from ..errors import ConfigError

__all__ = ["ENV_VAR", "fastpath_disabled"]

ENV_VAR = "STREAMLAB_FASTPATH"
_OFF = ("0", "false", "no", "off")
_ON = ("", "1", "true", "yes", "on")


def fastpath_disabled(value: str | None = None) -> str | None:
    """Why the private fast paths may not run (``None``: they may), from ``value`` or, if it is
    ``None``, the environment now."""
    raw = os.environ.get(ENV_VAR, "") if value is None else value
    word = raw.strip().lower()
    if word in _OFF:
        return f"disabled by {ENV_VAR}={raw}"
    if word not in _ON:
        raise ConfigError(
            f"{ENV_VAR}={raw!r} is not one of 0, 1 (also false/true, no/yes, off/on)",
            param=ENV_VAR,
            value=raw,
            hint=f"set {ENV_VAR}=0 to turn the private fast paths off",
        )
    return None
