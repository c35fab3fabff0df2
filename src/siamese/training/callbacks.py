"""Callbacks: a guard against a NaN or exploding loss, verification on validation pairs each
epoch, and an atomic best checkpoint.

`StopOnBadLoss` comes first and `PairValidation` before the callbacks that read its figures
(checkpoint, early stopping, CSV log): Keras runs callbacks in list order and they share
one `logs` dict. After a bad step the weights are not trusted: validation adds no figures,
so nothing is checkpointed from them.
"""

from __future__ import annotations

import logging

import keras
import numpy as np
from sklearn.metrics import roc_auc_score

from siamese.data.pairs import PairIndices
from siamese.model.network import SiameseNetwork
from siamese.model.saving import load_network, save_network
from siamese.training import distributed
from siamese.training.calibration import ThresholdCalibrator

logger = logging.getLogger(__name__)


def pair_distances(
    network: SiameseNetwork, images: np.ndarray, pairs: PairIndices, batch_size: int = 256
) -> np.ndarray:
    """Distances of index pairs into `images`, each image embedded once."""
    embeddings = distributed.embed(
        network.tower, images, batch_size
    )  # tower.predict, or what stands in for it across processes
    return keras.ops.convert_to_numpy(network.distance(embeddings[pairs.first], embeddings[pairs.second]))


class StopOnBadLoss(keras.callbacks.Callback):
    """Stops training at the first step whose loss is NaN, infinite or above `limit`, and says where."""

    def __init__(self, limit: float = 1e6):
        super().__init__()
        self.limit = limit
        self.bad = None  # (epoch, step, loss) of the first bad step
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if self.bad is None and loss is not None and not (np.isfinite(loss) and abs(loss) <= self.limit):
            self.bad = (self._epoch, batch, float(loss))
            self.model.stop_training = True


class PairValidation(keras.callbacks.Callback):
    """Adds `val_auc`, `val_pair_accuracy` and `val_threshold` to the epoch logs.

    The threshold is the one `calibrator` fits to these pairs (default: the best accuracy);
    the accuracy reported is at that threshold.
    """

    def __init__(
        self,
        network: SiameseNetwork,
        images: np.ndarray,
        pairs: PairIndices,
        *,
        calibrator: ThresholdCalibrator | None = None,
    ):
        super().__init__()
        self.network = network
        self.images = images
        self.pairs = pairs
        self.calibrator = calibrator or ThresholdCalibrator("accuracy")

    def evaluate(self) -> dict:
        """The figures, or {} when the network gives non-finite distances (after a bad step)."""
        distances = pair_distances(self.network, self.images, self.pairs)
        if not np.all(np.isfinite(distances)):
            return {}
        calibrator = self.calibrator.fit(distances, self.pairs.same)
        predicted = distances <= calibrator.threshold_
        return {
            "val_auc": float(roc_auc_score(self.pairs.same, -distances)),
            "val_pair_accuracy": float(np.mean(predicted == self.pairs.same.astype(bool))),
            "val_threshold": calibrator.threshold_,
        }

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs.update(self.evaluate())


class BestNetworkCheckpoint(keras.callbacks.Callback):
    """Saves the network atomically whenever `monitor` improves, threshold included.

    At the end of training the best weights are put back into the network in memory too.
    """

    def __init__(self, network: SiameseNetwork, path, *, monitor: str = "val_auc"):
        super().__init__()
        self.network = network
        self.path = path
        self.monitor = monitor
        self.best = -np.inf
        self.best_epoch = None
        self._best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not value > self.best:
            return
        self.best, self.best_epoch = value, epoch
        self.network.threshold = float(logs["val_threshold"])
        self._best_weights = self.network.get_weights()
        save_network(self.network, self.path)
        logger.info("epoch %d: %s improved to %.4f, saved %s", epoch + 1, self.monitor, value, self.path)

    def on_train_end(self, logs=None):
        if self._best_weights is not None:
            self.network.set_weights(self._best_weights)

    def resume_from(self, best: float | None, best_epoch: int | None) -> None:
        """Take up a killed run's best so far: its figure, its epoch, and its weights (from the saved model)."""
        if best_epoch is None:
            return
        self.best, self.best_epoch = best, best_epoch
        self._best_weights = load_network(self.path).get_weights()


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """`EarlyStopping` that can take up a killed run's best figure and count of epochs without it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._resumed = None

    def resume_from(self, best: float | None, wait: int) -> None:
        self._resumed = (best, wait)

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self._resumed is not None:
            self.best, self.wait = self._resumed
