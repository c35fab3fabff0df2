"""Callbacks: verification on validation pairs each epoch, and an atomic best checkpoint.

`PairValidation` must come before the callbacks that read its figures (checkpoint, early
stopping, CSV log): Keras runs callbacks in list order and they share one `logs` dict.
"""

from __future__ import annotations

import logging

import keras
import numpy as np
from sklearn.metrics import roc_auc_score

from siamese.data.pairs import PairIndices
from siamese.model.network import SiameseNetwork
from siamese.model.saving import save_network
from siamese.training.calibration import ThresholdCalibrator

logger = logging.getLogger(__name__)


def pair_distances(network: SiameseNetwork, images: np.ndarray, pairs: PairIndices, batch_size: int = 256) -> np.ndarray:
    """Distances of index pairs into `images`, each image embedded once."""
    embeddings = network.tower.predict(images, batch_size=batch_size, verbose=0)
    return keras.ops.convert_to_numpy(network.distance(embeddings[pairs.first], embeddings[pairs.second]))


class PairValidation(keras.callbacks.Callback):
    """Adds `val_auc`, `val_pair_accuracy` and `val_threshold` to the epoch logs.

    The threshold is the one that gives the best accuracy on these pairs; the accuracy
    reported is at that threshold.
    """

    def __init__(self, network: SiameseNetwork, images: np.ndarray, pairs: PairIndices):
        super().__init__()
        self.network = network
        self.images = images
        self.pairs = pairs

    def evaluate(self) -> dict:
        distances = pair_distances(self.network, self.images, self.pairs)
        calibrator = ThresholdCalibrator("accuracy").fit(distances, self.pairs.same)
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
