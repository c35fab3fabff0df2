"""Resume state in process, on any backend: the weights and the optimiser's state written after an
epoch, put back into a fresh trainer, give the very step the first trainer takes next.

(The whole killed-and-resumed run, through the CLI, is tests/reliability/test_interrupted_training.py.)
"""

from types import SimpleNamespace

import keras
import numpy as np

from siamese.model import EuclideanDistance, build_tower, losses
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
