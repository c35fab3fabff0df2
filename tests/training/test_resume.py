"""Resume state in process, on any backend: the weights and the optimiser's state written after an
epoch, put back into a fresh trainer, give the very step the first trainer takes next.

A run with early-stopping patience, stopped in the middle of an epoch and resumed, stops where
the same run uninterrupted stops. (The whole killed-and-resumed run, through the CLI, is
tests/reliability/test_interrupted_training.py.)
"""

from types import SimpleNamespace

import keras
import numpy as np
import pytest

from siamese.model import EuclideanDistance, build_tower, losses
from siamese.training import TrainConfig, train
from siamese.training.resume import STATE, ResumeState, read_state, restore
from siamese.training.trainer import PairwiseTrainer

LABELS = np.repeat(np.arange(3), 2).astype("int32")


def _batch(seed):
    return np.random.default_rng(seed).random((6, 12, 12, 1)).astype("float32"), LABELS


def _trainer(seed):
    """A compiled trainer whose tower's initial weights depend on `seed`, under a decaying Adam."""
    keras.utils.set_random_seed(seed)
    tower = build_tower((12, 12, 1), filters=(4, 8), embedding_dim=6)
    trainer = PairwiseTrainer(tower, EuclideanDistance(), losses.get("contrastive", margin=0.8, reducer="mean"))
    schedule = keras.optimizers.schedules.CosineDecay(0.01, decay_steps=10, alpha=0.05)
    trainer.compile(optimizer=keras.optimizers.Adam(schedule))
    return trainer


def _weights(trainer):
    return [keras.ops.convert_to_numpy(v) for v in trainer.tower.weights]


def test_restored_weights_and_optimiser_take_the_same_next_step(tmp_path):
    first = _trainer(seed=0)
    for step in range(3):
        first.train_on_batch(*_batch(step))
    saver = ResumeState(
        tmp_path, SimpleNamespace(best=0.75, best_epoch=0), SimpleNamespace(bad=None), batches=SimpleNamespace(epoch=1)
    )
    saver.set_model(first)
    saver.on_epoch_end(0)
    saved = _weights(first)
    state = read_state(tmp_path)
    assert state["next_epoch"] == 1 and state["best"] == 0.75 and (tmp_path / STATE).is_file()

    second = _trainer(seed=1)  # other initial weights, a fresh optimiser
    restore(second, tmp_path, state)
    assert int(keras.ops.convert_to_numpy(second.optimizer.iterations)) == 3  # the schedule's position came back
    assert all(np.array_equal(a, b) for a, b in zip(saved, _weights(second)))
    first.train_on_batch(*_batch(3))
    second.train_on_batch(*_batch(3))
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(_weights(first), _weights(second)))

    # The same weights under a fresh optimiser (no moments, step 0) take another step: the check can fail.
    third = _trainer(seed=1)
    third.tower.set_weights(saved)
    third.train_on_batch(*_batch(3))
    assert not all(np.allclose(a, b, atol=1e-6) for a, b in zip(_weights(first), _weights(third)))


class _Killed(Exception):
    """Stands in for SIGKILL: raised inside an epoch, after the epoch before it was saved."""


class _KillInEpoch(keras.callbacks.Callback):
    """Raises `_Killed` at the first step of epoch `epoch` (0-based)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch, self.current = epoch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.epoch:
            raise _Killed


def test_a_killed_run_with_patience_stops_where_the_uninterrupted_run_stops(shapes_dir, tmp_path):
    """Early stopping's best figure and its count of epochs without a better one (Keras's `best`
    and `wait`, which `EarlyStopping.on_train_begin` resets) come back on resume. A learning rate
    of 1e-9 keeps validation AUC flat, so with patience 2 a run stops after its 3rd epoch; killed
    in that epoch and resumed, it must stop there too (with `wait` reset it would run a 4th, with
    `best` reset a 5th)."""
    config = TrainConfig.from_settings(
        image_size=(16, 16),
        filters=(8, 8),
        embedding_dim=8,
        epochs=8,
        steps_per_epoch=2,
        classes_per_batch=4,
        examples_per_class=2,
        validation_pairs=40,
        augment=False,
        batchnorm=False,
        learning_rate=1e-9,
        patience=2,
    )
    whole = train(
        shapes_dir, model_path=tmp_path / "whole.keras", config=config, results_dir=tmp_path / "whole", verbose=0
    )
    assert whole.metrics["epochs_run"] == 3 and whole.metrics["best_epoch"] == 1

    killed = dict(model_path=tmp_path / "killed.keras", config=config, results_dir=tmp_path / "killed", verbose=0)
    with pytest.raises(_Killed):
        train(shapes_dir, **killed, callbacks=(_KillInEpoch(2),))
    state = read_state(tmp_path / "killed" / "resume")
    assert state["next_epoch"] == 2 and state["early_stopping_wait"] == 1 and state["best_epoch"] == 0
    assert state["best"] == pytest.approx(whole.history["val_auc"][0])

    resumed = train(shapes_dir, **killed, resume=True)
    assert resumed.metrics["resumed_at_epoch"] == 3 and resumed.metrics["epochs_run"] == 3
    assert resumed.metrics["best_epoch"] == 1 and resumed.history["val_auc"] == whole.history["val_auc"][2:]
    history = (tmp_path / "killed" / "history.csv").read_text()
    assert history == (tmp_path / "whole" / "history.csv").read_text()
