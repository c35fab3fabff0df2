"""The distances of `siamese.registry.DISTANCES` in numpy: the one home of their maths outside Keras.

The ONNX engine scores pairs with these (the tower runs without Keras), evaluation uses the
Euclidean one as its default, and the gallery's index turns FAISS's scores into the same
distances. It imports only numpy and the registry, so every room can use it.

Each twin matches its Keras layer in `siamese.model.distances` to float32 round-off: the
same `safe_sqrt` floor, the same unit scaling, the same sign of the learned head. Smaller
is more alike. The maths runs in the precision it is given (float32 rows stay float32,
float64 stay float64); `NumpyDistance` casts to float32, as the Keras layers compute.

A distance travels inside an exported model as a small dict (its "spec"):

    {"name": "euclidean"}
    {"name": "learned", "kernel": [[w1], ..., [wd]], "bias": [b]}   # the head's Dense weights

A new distance: its Keras layer, its function here (in `TWINS`) and its name in the registry.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from siamese.registry import DISTANCES

_EPSILON = 1e-12


def safe_sqrt(x: np.ndarray) -> np.ndarray:
    """sqrt with the Keras layers' floor: identical rows are 1e-6 apart, as the model says."""
    return np.sqrt(np.maximum(x, _EPSILON))


def unit(x: np.ndarray) -> np.ndarray:
    """Rows (..., d) scaled to length 1; an all-zero row stays zero."""
    return x / safe_sqrt(np.sum(np.square(x), axis=-1, keepdims=True))


def euclidean_from_squared(squared: np.ndarray) -> np.ndarray:
    """||a - b||_2 from ||a - b||_2^2 (FAISS's L2 score)."""
    return safe_sqrt(squared)


def cosine_from_similarity(similarity: np.ndarray) -> np.ndarray:
    """1 - cos from cos (FAISS's inner product of unit rows), clamped at 0 against round-off;
    + 0.0 turns -0.0 into 0.0, so nothing prints as -0.0000."""
    return np.maximum(1.0 - similarity, 0.0) + 0.0


def euclidean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """||a - b||_2 of matched rows, (n, d), (n, d) -> (n,)."""
    return euclidean_from_squared(np.sum(np.square(a - b), axis=-1))


def manhattan(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """||a - b||_1 of matched rows, (n, d), (n, d) -> (n,)."""
    return np.sum(np.abs(a - b), axis=-1)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1 - cos(a, b) of matched rows, (n, d), (n, d) -> (n,), in [0, 2]."""
    return cosine_from_similarity(np.sum(unit(a) * unit(b), axis=-1))


def learned(a: np.ndarray, b: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """sigmoid(-(|a - b| . kernel + bias)) of matched rows: the learned head's p(different) as a
    distance in [0, 1]; kernel (d, 1), bias (1,)."""
    logits = (np.abs(a - b) @ kernel + bias)[..., 0]
    return 0.5 * (1.0 + np.tanh(-0.5 * logits))  # sigmoid(-logits), without overflow


# One twin per registered distance; a registry name without one fails NumpyDistance and its test.
TWINS = {"euclidean": euclidean, "manhattan": manhattan, "cosine": cosine, "learned": learned}


@dataclasses.dataclass(frozen=True, eq=False)
class NumpyDistance:
    """d(a, b) for matched rows of two (n, d) arrays -> (n,) float32; see the module docstring.

    Args:
        name: a name of `siamese.registry.DISTANCES`.
        kernel: (d, 1) weights of the learned head (learned only).
        bias: (1,) bias of the learned head (learned only).
    """

    name: str
    kernel: np.ndarray | None = None
    bias: np.ndarray | None = None

    def __post_init__(self):
        DISTANCES.check(self.name)
        if self.name not in TWINS:
            raise ValueError(f"distance {self.name!r} has no numpy twin in siamese.numpy_distances")
        if (self.name == "learned") != (self.kernel is not None and self.bias is not None):
            raise ValueError(f"distance {self.name!r}: kernel and bias go with 'learned' and only with it")

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
        if self.name == "learned":
            return learned(a, b, self.kernel, self.bias)
        return TWINS[self.name](a, b)

    def to_spec(self) -> dict:
        if self.name != "learned":
            return {"name": self.name}
        return {"name": self.name, "kernel": self.kernel.tolist(), "bias": self.bias.tolist()}

    @classmethod
    def from_spec(cls, spec: dict) -> NumpyDistance:
        if spec.get("name") != "learned":
            return cls(spec.get("name"))
        return cls("learned", np.asarray(spec["kernel"], np.float32), np.asarray(spec["bias"], np.float32))
