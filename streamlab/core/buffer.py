"""Bounded buffers with a stated policy: block the producer, or drop and count."""

from __future__ import annotations

import asyncio
import collections
from typing import Generic, TypeVar

from .checks import check_choice, check_number

__all__ = ["POLICIES", "BoundedBuffer"]

T = TypeVar("T")

#: ``block``: ``put`` waits for room (back-pressure to the producer).
#: ``drop_oldest``: the oldest item makes room and is counted in ``dropped``.
#: ``drop_newest``: the new item is refused and counted in ``dropped``.
POLICIES = ("block", "drop_oldest", "drop_newest")


class BoundedBuffer(Generic[T]):
    """An asyncio FIFO of at most ``maxsize`` items.

    Examples
    --------
    >>> import asyncio
    >>> async def demo():
    ...     buf = BoundedBuffer(2, policy="drop_oldest")
    ...     for i in range(5):
    ...         await buf.put(i)
    ...     return [buf.get_nowait() for _ in range(len(buf))], buf.dropped
    >>> asyncio.run(demo())
    ([3, 4], 3)
    """

    def __init__(self, maxsize: int, *, policy: str = "block") -> None:
        self.maxsize = check_number("maxsize", maxsize, low=0, low_open=True, integer=True)
        self.policy = check_choice("policy", policy, POLICIES)
        self.dropped = 0
        self._items: collections.deque[T] = collections.deque()
        self._not_empty = asyncio.Event()
        self._not_full = asyncio.Event()
        self._not_full.set()

    def __len__(self) -> int:
        return len(self._items)

    def put_nowait(self, item: T) -> bool:
        """Add without waiting. Returns False when the item was refused (``drop_newest``) or
        when a ``block`` buffer is full (the caller must then wait with :meth:`put`)."""
        if len(self._items) >= self.maxsize:
            if self.policy == "drop_oldest":
                self._items.popleft()
                self.dropped += 1
            elif self.policy == "drop_newest":
                self.dropped += 1
                return False
            else:
                return False
        self._items.append(item)
        self._not_empty.set()
        if len(self._items) >= self.maxsize:
            self._not_full.clear()
        return True

    async def put(self, item: T) -> None:
        while not self.put_nowait(item):
            if self.policy == "drop_newest":
                return
            await self._not_full.wait()

    def get_nowait(self) -> T:
        item = self._items.popleft()
        if not self._items:
            self._not_empty.clear()
        self._not_full.set()
        return item

    def drain(self) -> list[T]:
        """Take everything buffered now."""
        items = list(self._items)
        self._items.clear()
        self._not_empty.clear()
        self._not_full.set()
        return items

    async def get(self) -> T:
        while not self._items:
            await self._not_empty.wait()
        return self.get_nowait()

    async def wait_not_empty(self) -> None:
        while not self._items:
            await self._not_empty.wait()
