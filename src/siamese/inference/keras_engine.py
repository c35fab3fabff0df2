"""The Keras engine: the trained `SiameseNetwork` itself (imports Keras, and so TensorFlow).

It is the reference the exported engines are checked against, and the one engine that can
write a .keras file.
"""

from __future__ import annotations

import hashlib
import os

import keras
import numpy as np

from siamese import integrity
from siamese.data.images import Preprocessing
from siamese.model import distances
from siamese.model.network import SiameseNetwork
from siamese.model.saving import load_network, save_network


def distance_spec(layer: keras.layers.Layer) -> dict:
    """The numpy spec of a distance layer (see `siamese.numpy_distances`); its weights for 'learned'."""
    name = distances.name_of(layer)
    if name != "learned":
        return {"name": name}
    kernel, bias = (np.asarray(w, np.float32) for w in layer.dense.get_weights())
    return {"name": name, "kernel": kernel.tolist(), "bias": bias.tolist()}


class KerasEngine:
    """Runs a `SiameseNetwork`: the tower in inference mode, the distance layer as trained."""

    name = "keras"

    def __init__(self, network: SiameseNetwork, *, path: str | os.PathLike | None = None):
        self.network = network
        self.path = path
        self.preprocessing = Preprocessing.from_dict(network.preprocessing)

    @classmethod
    def open(cls, path: str | os.PathLike) -> KerasEngine:
        return cls(load_network(path), path=path)

    @property
    def model_id(self) -> str:
        """SHA-256 of the weights: of `model.weights.h5` as the file records it, else of the arrays."""
        recorded = integrity.recorded_digest(self.path, "model.weights.h5") if self.path is not None else None
        if recorded is not None:
            return recorded
        digest = hashlib.sha256()
        for weights in self.network.get_weights():
            digest.update(np.ascontiguousarray(weights).tobytes())
        return digest.hexdigest()

    @property
    def distance_name(self) -> str:
        return distances.name_of(self.network.distance)

    @property
    def threshold(self) -> float | None:
        return self.network.threshold

    @threshold.setter
    def threshold(self, value: float | None) -> None:
        self.network.threshold = None if value is None else float(value)

    @property
    def open_set(self) -> dict | None:
        return self.network.open_set

    @open_set.setter
    def open_set(self, value: dict | None) -> None:
        self.network.open_set = None if value is None else dict(value)

    @property
    def embedding_dim(self) -> int:
        return int(self.network.tower.output.shape[-1])

    def embed_batch(self, batch: np.ndarray) -> np.ndarray:
        """float32 (n, h, w, c) -> float32 (n, embedding_dim)."""
        return keras.ops.convert_to_numpy(self.network.tower(batch, training=False))

    def distances(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        return keras.ops.convert_to_numpy(
            self.network.distance(np.asarray(first, np.float32), np.asarray(second, np.float32))
        )

    def save_keras(self, path: str | os.PathLike):
        return save_network(self.network, path)
