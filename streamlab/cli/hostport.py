"""``HOST:PORT`` arguments of the command line."""

from __future__ import annotations

from ..core.checks import check_port
from ..errors import ConfigError

__all__ = ["parse_hostport"]


def parse_hostport(text: str, *, what: str = "--udp") -> tuple[str, int]:
    """``"127.0.0.1:9999"`` -> ``("127.0.0.1", 9999)``.

    Examples
    --------
    >>> parse_hostport("127.0.0.1:9999")
    ('127.0.0.1', 9999)
    >>> parse_hostport("9999")
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: --udp needs HOST:PORT such as 127.0.0.1:9999, not '9999'
    """
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(f"{what} needs HOST:PORT such as 127.0.0.1:9999, not {text!r}")
    return host.strip("[]"), check_port(what + " port", int(port), allow_zero=False)
