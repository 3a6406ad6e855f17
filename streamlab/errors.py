"""Errors people can act on.

Every streamlab error is a :class:`StreamlabError` and also the builtin it refines, so
``except ValueError`` keeps working for code that does not know streamlab.

Examples
--------
>>> from streamlab.errors import ConfigError
>>> err = ConfigError("port must be in 0..65535, not 70000; pick a free port such as 9999")
>>> isinstance(err, ValueError), isinstance(err, StreamlabError)
(True, True)
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "ParseError",
    "SourceError",
    "StateError",
    "StreamlabError",
]


class StreamlabError(Exception):
    """Base class of every error streamlab raises on purpose."""


class ConfigError(StreamlabError, ValueError):
    """A bad argument: the message names the parameter, the value, what is allowed and the fix."""


class ParseError(StreamlabError, ValueError):
    """Bytes that cannot become a batch (raised only where no dead-letter stream exists)."""


class SourceError(StreamlabError, ConnectionError):
    """A transport failed in a way the source cannot recover from by itself."""


class StateError(StreamlabError, RuntimeError):
    """An operation that is not valid in the object's current state (e.g. step() while running)."""
