"""How long training will take: an estimate from its first steps, then a line after each epoch.

Hosts of one machine kind differ by 2.5x in speed, so the time to expect is measured on the
run itself: first from the mean of its first few steps (after the first, which traces the
graph) times the steps to go; then after each epoch from the mean of the epochs this process
has finished, which includes validation, times the epochs left.
"""

from __future__ import annotations

import datetime
import sys
import time

import keras


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def _until(seconds: float) -> str:
    return (datetime.datetime.now() + datetime.timedelta(seconds=seconds)).strftime("%H:%M")


class EpochEta(keras.callbacks.Callback):
    """Writes `expected: about 4 min 10 s ...` after the first `probe_steps` steps of the run, then
    `epoch 3/20 in 21 s; about 6 min 00 s to go (until 14:05)` to `stream` after each epoch."""

    def __init__(self, epochs: int, stream=None, probe_steps: int = 10):
        super().__init__()
        self.epochs = epochs
        self.stream = stream or sys.stdout
        self.probe_steps = probe_steps
        self.started = self.epoch_start = self.first_step = None
        self.done = self.steps_seen = 0

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = time.perf_counter()
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.steps_seen += 1
        if self.steps_seen == 1:
            self.first_step = time.perf_counter()
            return
        steps = self.params.get("steps") or 0
        probe = min(self.probe_steps, steps - 1)  # a short first epoch: its steps after the first
        if self.steps_seen != probe + 1:
            return
        per_step = (time.perf_counter() - self.first_step) / probe
        left = per_step * (steps * (self.epochs - self.epoch) - batch - 1)
        self.stream.write(
            f"expected: about {_duration(left)} more of training steps (until {_until(left)}), from "
            f"{per_step * 1000:.0f} ms a step over the {probe} after the first; validation after each epoch adds to it\n"
        )
        self.stream.flush()

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        self.done += 1
        left = (now - self.started) / self.done * (self.epochs - epoch - 1)
        rest = f"about {_duration(left)} to go (until {_until(left)})" if epoch + 1 < self.epochs else "done"
        self.stream.write(f"epoch {epoch + 1}/{self.epochs} in {_duration(now - self.epoch_start)}; {rest}\n")
        self.stream.flush()
