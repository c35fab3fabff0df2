"""How many identities the gallery holds, for `/health` and `/metrics`, counted off the request path.

Counting takes the gallery's lock, which a busy service holds for embedding after
embedding; `/health` must answer at once all the same. So it answers the last count and, when
that is older than `max_age` seconds or a write of this process made it stale, a thread of
its own counts again (one at a time) for the next call. `/health` answers 503, so that a load
balancer sends nobody here meanwhile, while the gallery cannot be counted: the last count
failed (its database lost: `GalleryUnavailableError`; a statement timed out or was refused),
or a count has been waiting longer than `stuck_after` seconds (a query stuck on the database
holds the lock, or the database answers no more). The answer never says more than that;
the reason goes to the log.
"""

from __future__ import annotations

import logging
import threading
import time

from siamese.errors import GalleryUnavailableError

logger = logging.getLogger(__name__)


class Census:
    """Args: count: a function that counts (called under `lock`); lock: the gallery's lock;
    on_count: called with every new count (a metrics gauge); max_age: seconds a count serves;
    stuck_after: seconds a count may take before the gallery is reported unavailable."""

    def __init__(self, count, lock, *, on_count=None, max_age: float = 1.0, stuck_after: float = 5.0):
        self._count, self._lock, self._on_count, self.max_age = count, lock, on_count, max_age
        self.stuck_after = stuck_after
        self._counting = threading.Lock()
        self.value, self.when, self.failure, self._started = 0, float("-inf"), None, None
        self._recount()

    def _recount(self) -> None:
        self._started = time.monotonic()
        try:
            with self._lock:
                value = self._count()
            self.value, self.when, self.failure = value, time.monotonic(), None
            if self._on_count is not None:
                self._on_count(value)
        except GalleryUnavailableError as error:
            self.when, self.failure = time.monotonic(), error
        except Exception as error:  # a statement timed out, a right missing, a bug: logged, not shown
            logger.error("counting the gallery's identities failed: %s", error, exc_info=True)
            self.when, self.failure = time.monotonic(), GalleryUnavailableError("the gallery cannot be read now")
        finally:
            self._started = None
            if self._counting.locked():
                self._counting.release()

    def stale(self) -> None:
        """This process changed the gallery: the next call counts again."""
        self.when = float("-inf")

    def current(self) -> int:
        """The last count, at once, or a `GalleryUnavailableError`: the last count's, or one that says a
        count has been waiting too long; a fresh count is started when the last is too old."""
        if time.monotonic() - self.when > self.max_age and self._counting.acquire(blocking=False):
            threading.Thread(target=self._recount, name="siamese-census", daemon=True).start()
        started = self._started
        if started is not None and time.monotonic() - started > self.stuck_after:
            raise GalleryUnavailableError(f"the gallery has not answered for {time.monotonic() - started:.0f} s")
        if self.failure is not None:
            raise self.failure
        return self.value
