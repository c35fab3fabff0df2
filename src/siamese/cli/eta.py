"""A line after each training epoch: how long it took and about how long the rest will take.

Hosts of one machine kind differ by 2.5x in speed, so the time to expect is measured on the
run itself: the mean of the epochs this process has finished, times the epochs left.
"""

from __future__ import annotations

import datetime
import sys
import time

import keras


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


class EpochEta(keras.callbacks.Callback):
    """Writes `epoch 3/20 in 21 s; about 6 min 00 s to go (until 14:05)` to `stream` after each epoch."""

    def __init__(self, epochs: int, stream=None):
        super().__init__()
        self.epochs = epochs
        self.stream = stream or sys.stdout
        self.started = self.epoch_start = None
        self.done = 0

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        self.done += 1
        left = (now - self.started) / self.done * (self.epochs - epoch - 1)
        until = (datetime.datetime.now() + datetime.timedelta(seconds=left)).strftime("%H:%M")
        rest = f"about {_duration(left)} to go (until {until})" if epoch + 1 < self.epochs else "done"
        self.stream.write(f"epoch {epoch + 1}/{self.epochs} in {_duration(now - self.epoch_start)}; {rest}\n")
        self.stream.flush()
