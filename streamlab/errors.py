"""Errors people can act on: every error class streamlab raises on purpose, in one place.

Every streamlab error is a :class:`StreamlabError` and also the builtin it refines, so
``except ValueError`` keeps working for code that does not know streamlab. The message stays
one readable line; the same facts are also attributes, for code that handles the error:
``param`` (the parameter or column at fault), ``value`` (what it was given; :data:`UNSET`
when there is none) and ``hint`` (what to do instead, with an accepted example).

Examples
--------
>>> from streamlab.errors import ConfigError
>>> err = ConfigError(
...     "port must be in 0..65535, not 70000", param="port", value=70000,
...     hint="pick a free port such as 9999")
>>> print(err)
port must be in 0..65535, not 70000; pick a free port such as 9999
>>> err.param, err.value, err.hint
('port', 70000, 'pick a free port such as 9999')
>>> isinstance(err, ValueError), isinstance(err, StreamlabError)
(True, True)
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "UNSET",
    "BatchRejected",
    "CodecError",
    "CodecLimitError",
    "ConfigError",
    "ParseError",
    "RegistrationError",
    "SourceError",
    "StateError",
    "StoreError",
    "StreamlabError",
]


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"

    def __reduce__(self) -> str:  # one UNSET, across pickling too
        return "UNSET"


#: ``value`` of an error that concerns no particular value
UNSET: Any = _Unset()


class StreamlabError(Exception):
    """Base class of every error streamlab raises on purpose.

    ``message`` says what is wrong; ``hint`` (added after a semicolon unless the message
    already ends with it) says what to do. ``param`` and ``value`` name what was at fault.

    >>> import streamlab
    >>> try:
    ...     streamlab.generate("sine", rows=-5)
    ... except StreamlabError as err:
    ...     print(err.param, err.value)
    rows -5
    """

    def __init__(
        self, message: str, *, param: str | None = None, value: Any = UNSET, hint: str = ""
    ) -> None:
        text = f"{message}; {hint}" if hint and not message.endswith(hint) else message
        super().__init__(text)
        self.param = param
        self.value = value
        self.hint = hint

    def __reduce__(
        self,
    ) -> tuple[Any, ...]:  # picklable across processes (dask workers) with its attributes
        return (_rebuild, (type(self), str(self), self.param, self.value, self.hint))


def _rebuild(
    cls: type[StreamlabError], text: str, param: str | None, value: Any, hint: str
) -> StreamlabError:
    err = cls.__new__(cls)
    Exception.__init__(err, text)
    err.param, err.value, err.hint = param, value, hint
    return err


class ConfigError(StreamlabError, ValueError):
    """A bad argument: the message names the parameter, the value, what is allowed and the fix.

    >>> import streamlab
    >>> streamlab.generate("sine", speed=-1)
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: speed must be >= 0, not -1; use speed=1 for the recorded timing, speed=10 for ten times faster, speed=0 for as fast as possible
    """


class ParseError(StreamlabError, ValueError):
    """Bytes that cannot become a batch, from a parser called directly on bytes
    (``streamlab.parse.parse_bytes``). Inside a pipeline bad records are dead letters instead:
    nothing is raised there.

    >>> from streamlab.parse import parse_bytes
    >>> parse_bytes(b'{"x": 1}\\n{oops\\n', "jsonl")
    Traceback (most recent call last):
    ...
    streamlab.errors.ParseError: 1 bad record in 'bytes'; ...
    """


class SourceError(StreamlabError, ConnectionError):
    """A transport failed in a way the source cannot recover from by itself.

    >>> issubclass(SourceError, ConnectionError)  # ``except ConnectionError`` catches it
    True
    """


class StateError(StreamlabError, RuntimeError):
    """An operation that is not valid in the object's current state.

    >>> import asyncio, streamlab
    >>> async def main():  # run() blocks, so it refuses to run inside an event loop
    ...     streamlab.run(streamlab.generate("sine", rows=10))
    >>> asyncio.run(main())
    Traceback (most recent call last):
    ...
    streamlab.errors.StateError: streamlab.run() blocks, and an event loop is already running here...
    """


class RegistrationError(StreamlabError, TypeError):
    """A step cannot be put on ``streamz.Stream``: the name is taken by streamz or a plugin.

    >>> from streamlab.core.registry import register_step
    >>> register_step(lambda self: self, name="filter")
    Traceback (most recent call last):
    ...
    streamlab.errors.RegistrationError: cannot register stream.filter from ...: streamz.Stream already has filter (from streamz.core); choose another name, e.g. 'my_filter'
    """


class StoreError(StreamlabError, OSError):
    """The database cannot be written or read; the message says why and what to do.

    >>> issubclass(StoreError, OSError)  # ``except OSError`` catches it
    True
    """


class BatchRejected(StoreError):
    """A batch a store's schema policy refuses whole (a column changed type, Python objects):
    it goes to the sink's ``.errors`` with this reason; nothing of it is written.

    >>> issubclass(BatchRejected, StoreError)
    True
    """


class CodecError(StreamlabError, ValueError):
    """Bytes that this codec cannot decode (corrupt, truncated, or another codec's).

    >>> from streamlab.compress import codec
    >>> codec("zlib").decode_frame(b"not a frame")
    Traceback (most recent call last):
    ...
    streamlab.errors.CodecError: ...
    """


class CodecLimitError(CodecError):
    """Bytes that would decode to more than ``max_decoded``: refused before or while decoding.

    >>> import zlib
    >>> from streamlab.compress.inflate import inflate_zlib
    >>> inflate_zlib(zlib.compress(bytes(10_000)), 1_000, "zlib")
    Traceback (most recent call last):
    ...
    streamlab.errors.CodecLimitError: ...
    """
