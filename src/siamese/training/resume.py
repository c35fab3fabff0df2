"""Resuming a killed run, so that it ends as if it had never stopped.

At the end of every finished epoch `ResumeState` writes to `RESULTS/resume/`: the trainer's
weights with its optimiser's state (step count included, and so the learning-rate
schedule's position) as `epoch-NNNN.weights.h5`, then `state.json`, which names that file,
the next epoch and the best validation figure so far. Each file is written atomically and
`state.json` last (with the random layers' generator states), so a run killed at any moment finds the complete state of its last
finished epoch. Batches are drawn from (seed, epoch, step), and the state keeps the batch
counter and the order Keras shuffles batches in (Python's `random`, seeded by
`keras.utils.set_random_seed`); the best model is the file the checkpoint wrote, and the
CSV log is cut back to the finished epochs: the resumed run sees what an uninterrupted one
would have seen.
"""

from __future__ import annotations

import csv
import json
import os
import random
import tempfile
from pathlib import Path

import keras
import numpy as np

from siamese.errors import OutputError
from siamese.files import atomic_path, write_json

STATE = "state.json"


class ResumeState(keras.callbacks.Callback):
    """Writes the resume state after each good epoch (after a bad step, nothing: see `StopOnBadLoss`).

    Args:
        folder: where the state goes (`RESULTS/resume`).
        checkpoint: the run's `BestNetworkCheckpoint`, whose best figure and epoch are kept.
        guard: the run's `StopOnBadLoss`.
        early_stopping: the run's `EarlyStopping`, or None; its count of epochs is kept.
        batches: the training batches (`ClassBatches`), whose epoch counter is kept.
    """

    def __init__(self, folder, checkpoint, guard, early_stopping=None, *, batches):
        super().__init__()
        self.folder = Path(folder)
        self.checkpoint = checkpoint
        self.guard = guard
        self.early_stopping = early_stopping
        self.batches = batches
        self.resumed = None  # a state to take up when training begins (after Keras has peeked at the data)

    def on_train_begin(self, logs=None):
        if self.resumed is not None:
            self.batches.epoch = self.resumed["batches_epoch"]
            version, internal, gauss = self.resumed["python_random"]
            random.setstate((version, tuple(internal), gauss))

    def on_epoch_end(self, epoch, logs=None):
        if self.guard.bad is not None:
            return
        name = f"epoch-{epoch + 1:04d}.weights.h5"
        _save_weights(self.model, self.folder / name)
        waited = self.early_stopping.wait if self.early_stopping is not None else 0
        write_json(
            self.folder / STATE,
            {
                "weights": name,
                "next_epoch": epoch + 1,
                "best": _plain(self.checkpoint.best),
                "best_epoch": self.checkpoint.best_epoch,
                "early_stopping_wait": waited,
                "seed_states": [np.asarray(v.value).tolist() for v in _seed_states(self.model)],
                "batches_epoch": self.batches.epoch,
                "python_random": random.getstate(),
            },
        )
        for old in self.folder.glob("epoch-*.weights.h5"):
            if old.name != name:
                old.unlink()


def _seed_states(model) -> list:
    """The random layers' generator states (augmentation, dropout): `save_weights` leaves them out."""
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def _plain(value):
    return None if value is None or not np.isfinite(value) else float(value)


def _save_weights(model, path: Path) -> None:
    """`model.save_weights` (which wants a name ending in .weights.h5) made atomic by a rename."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".saving.", dir=path.parent) as folder:
            model.save_weights(Path(folder) / path.name)
            os.replace(Path(folder) / path.name, path)
    except OSError as error:
        raise OutputError(f"{path}: cannot be written ({error.strerror or error})") from None


def read_state(folder) -> dict | None:
    """The state a killed run left in `folder`, or None when there is none."""
    path = Path(folder) / STATE
    if not path.is_file():
        return None
    state = json.loads(path.read_text())
    return state if (Path(folder) / state["weights"]).is_file() else None


def restore(trainer, folder, state: dict) -> None:
    """Put the saved weights and optimiser state back into a compiled, built trainer."""
    if not trainer.optimizer.built:
        trainer.optimizer.build(trainer.trainable_variables)
    trainer.load_weights(Path(folder) / state["weights"])
    for variable, value in zip(_seed_states(trainer), state["seed_states"], strict=True):
        variable.assign(np.asarray(value, dtype=variable.dtype))


def trim_log(path, epochs: int) -> None:
    """Keep the header and the first `epochs` rows of a CSV log (rows of epochs run again go)."""
    path = Path(path)
    if not path.is_file():
        return
    rows = list(csv.reader(path.read_text().splitlines()))
    kept = [row for row in rows[1:] if row and row[0].isdigit() and int(row[0]) < epochs]
    with atomic_path(path) as temporary, open(temporary, "w", newline="") as handle:
        csv.writer(handle).writerows(rows[:1] + kept)
