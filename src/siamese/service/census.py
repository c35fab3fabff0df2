"""How many identities the gallery holds, for `/health` and `/metrics`, counted off the request path.

Counting takes the gallery's lock, which a busy service holds for embedding after
embedding; `/health` must answer at once all the same. So it answers the last count and, when
that is older than `max_age` seconds or a write of this process made it stale, a thread of
its own counts again (one at a time) for the next call. A gallery that cannot be reached
(`GalleryUnavailableError`: its database is down) makes `/health` answer 503 from the count
that found it so until a count succeeds again, so a load balancer sends nobody there meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time

from siamese.errors import GalleryUnavailableError

logger = logging.getLogger(__name__)


class Census:
    """Args: count: a function that counts (called under `lock`); lock: the gallery's lock;
    on_count: called with every new count (a metrics gauge); max_age: seconds a count serves."""

    def __init__(self, count, lock, *, on_count=None, max_age: float = 1.0):
        self._count, self._lock, self._on_count, self.max_age = count, lock, on_count, max_age
        self._counting = threading.Lock()
        self.value, self.when, self.failure = 0, float("-inf"), None
        self._recount()

    def _recount(self) -> None:
        try:
            with self._lock:
                value = self._count()
            self.value, self.when, self.failure = value, time.monotonic(), None
            if self._on_count is not None:
                self._on_count(value)
        except GalleryUnavailableError as error:
            self.when, self.failure = time.monotonic(), error
        except Exception:  # a gallery that cannot be read now is counted again at the next call
            logger.exception("counting the gallery's identities failed")
        finally:
            if self._counting.locked():
                self._counting.release()

    def stale(self) -> None:
        """This process changed the gallery: the next call counts again."""
        self.when = float("-inf")

    def current(self) -> int:
        """The last count, at once, or the last count's `GalleryUnavailableError`; a fresh one
        is started when it is too old."""
        if time.monotonic() - self.when > self.max_age and self._counting.acquire(blocking=False):
            threading.Thread(target=self._recount, name="siamese-census", daemon=True).start()
        if self.failure is not None:
            raise self.failure
        return self.value
