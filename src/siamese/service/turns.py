"""A lock granted in the order it was asked for: the gallery's, under load.

`threading.Lock` promises no order: with dozens of request threads waiting on the gallery,
a thread may lose the race again and again, and its request waits seconds while others,
later, are answered in milliseconds (the service's p99 went from 0.9 s to 4 s that way). Here
each waiter takes a turn, and a release hands the lock straight to the first in line. With
`holders` above one it is a first-come, first-served semaphore (the service's turns to
decode and embed, one per core).
"""

from __future__ import annotations

import collections
import threading


class TurnLock:
    """A first-come, first-served lock (`with lock:`, or `acquire` / `release`) for `holders` at once."""

    def __init__(self, holders: int = 1):
        self._guard = threading.Lock()
        self._waiting: collections.deque[threading.Event] = collections.deque()
        self._free = holders

    def acquire(self, blocking: bool = True) -> bool:
        with self._guard:
            if self._free and not self._waiting:
                self._free -= 1
                return True
            if not blocking:
                return False
            turn = threading.Event()
            self._waiting.append(turn)
        turn.wait()  # set by the release that hands the lock over: held from here
        return True

    def release(self) -> None:
        with self._guard:
            if self._waiting:
                self._waiting.popleft().set()
            else:
                self._free += 1

    def __enter__(self) -> TurnLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
