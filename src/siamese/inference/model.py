"""A trained model ready for use: embed images, measure distances, verify pairs.

Images are paths or numpy arrays; results are numpy arrays or small dataclasses. The score
(distance) is kept apart from the decision (`same`), which is one comparison against the
model's calibrated threshold, or one you pass.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import keras
import numpy as np

from siamese.data.images import ImageLike, Preprocessing, load_images
from siamese.errors import ModelFileError
from siamese.model.network import SiameseNetwork
from siamese.model.saving import load_network, save_network

DEFAULT_MODEL = Path(__file__).resolve().parents[3] / "models" / "omniglot.keras"


@dataclasses.dataclass(frozen=True)
class Verification:
    """The answer to "same or different?": the distance, the decision and the threshold used."""

    distance: float
    same: bool
    threshold: float


class SiameseModel:
    """A loaded Siamese network with its preprocessing and threshold.

    Args:
        network: the trained `SiameseNetwork`.
        path: where it was loaded from, for messages and `save`.
    """

    def __init__(self, network: SiameseNetwork, *, path: str | os.PathLike | None = None):
        self.network = network
        self.path = Path(path) if path is not None else None
        self.preprocessing = Preprocessing.from_dict(network.preprocessing)

    @property
    def threshold(self) -> float | None:
        return self.network.threshold

    @property
    def embedding_dim(self) -> int:
        return int(self.network.tower.output.shape[-1])

    def embed(self, images: list[ImageLike] | ImageLike, *, batch_size: int = 256) -> np.ndarray:
        """Embeddings, float32 (n, embedding_dim), of paths and/or arrays (one image or many)."""
        batch = load_images(images, self.preprocessing)
        return np.concatenate([
            keras.ops.convert_to_numpy(self.network.tower(batch[i:i + batch_size], training=False))
            for i in range(0, len(batch), batch_size)
        ])

    def distances(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """Distances (n,) between matched rows of two embedding arrays (n, d)."""
        return keras.ops.convert_to_numpy(self.network.distance(np.asarray(first, np.float32), np.asarray(second, np.float32)))

    def distance(self, a: ImageLike, b: ImageLike) -> float:
        """The distance between two images; smaller is more alike."""
        embeddings = self.embed([a, b])
        return float(self.distances(embeddings[:1], embeddings[1:])[0])

    def verify(self, a: ImageLike, b: ImageLike, *, threshold: float | None = None) -> Verification:
        """Same class or not: `distance <= threshold`."""
        threshold = self.threshold if threshold is None else float(threshold)
        if threshold is None:
            raise ModelFileError(f"{self.path or 'model'}: has no calibrated threshold; pass threshold=")
        distance = self.distance(a, b)
        return Verification(distance=distance, same=bool(distance <= threshold), threshold=threshold)

    def save(self, path: str | os.PathLike | None = None) -> Path:
        """Write the model (threshold included) atomically, by default back where it came from."""
        target = path or self.path
        if target is None:
            raise ModelFileError("model: no path to save to; pass one")
        return save_network(self.network, target)


def default_model_path() -> Path:
    """`$SIAMESE_MODEL` if set, else the pretrained Omniglot model shipped in `models/`."""
    return Path(os.environ.get("SIAMESE_MODEL") or DEFAULT_MODEL)


def load_model(path: str | os.PathLike | None = None) -> SiameseModel:
    """Load a saved model (safe_mode on); without a path, the shipped default model."""
    path = Path(path) if path is not None else default_model_path()
    return SiameseModel(load_network(path), path=path)
