"""A progress line for long jobs: `done/total images` on stderr, rewritten in place."""

from __future__ import annotations

import sys
import time


class Progress:
    """Called as `progress(done, total)`; writes only on a terminal and only for `minimum` images or more."""

    def __init__(self, stream=None, *, label: str = "embedding", minimum: int = 1000):
        self.stream = stream or sys.stderr
        self.label = label
        self.minimum = minimum
        self.start = time.perf_counter()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if total < self.minimum or not self.stream.isatty():
            return
        rate = done / max(time.perf_counter() - self.start, 1e-9)
        self.stream.write(f"\r{self.label} {done}/{total} images ({100 * done / total:.0f}%, {rate:.0f} images/s)")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
