"""Per-key rate limits: "60/minute" for each API key, over it a 429 with `Retry-After`.

Counted with the `limits` library (the `service` extra) in a moving window, in the memory of
the process: under `siamese serve --workers N` each worker counts on its own, so a key may
make up to N times the rate in all (the load balancer's own limits, or fewer workers, where
that matters). Only requests with a valid key are counted, by the key's name.
"""

from __future__ import annotations

import math
import time

from siamese.errors import ConfigError


class RateLimit:
    """Args: rate: `limits` notation, e.g. "60/minute", "10/second", "1000/hour"."""

    def __init__(self, rate: str):
        try:
            from limits import parse, storage, strategies
        except ImportError:
            raise ConfigError("a rate limit needs the `limits` package: pip install 'siamese[service]'") from None
        try:
            self.item = parse(rate)
        except ValueError:
            raise ConfigError(f"rate {rate!r}: not a rate; write it as COUNT/PERIOD, e.g. 60/minute") from None
        self.rate = rate
        self._limiter = strategies.MovingWindowRateLimiter(storage.MemoryStorage())

    def retry_after(self, key_name: str) -> int | None:
        """Count one request of `key_name`: None when it is within the rate, else the seconds to wait."""
        if self._limiter.hit(self.item, key_name):
            return None
        reset, _ = self._limiter.get_window_stats(self.item, key_name)
        return max(1, math.ceil(reset - time.time()))
