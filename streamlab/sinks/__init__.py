"""Sinks that send a stream somewhere: ``to_tcp`` and ``to_udp`` (registered on streamz's
``Stream``, so every node has them)."""

from .net import ToTcp as ToTcp
from .net import ToUdp as ToUdp

__all__ = ["ToTcp", "ToUdp"]
