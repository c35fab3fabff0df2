"""The distances of `siamese.registry.DISTANCES` in numpy, for engines that run the tower without Keras (ONNX Runtime).

Each matches its Keras layer in `siamese.model.distances` to float32 round-off: the same
`safe_sqrt` floor, the same unit scaling, the same sign of the learned head. Smaller is
more alike. A distance travels inside an exported model as a small dict (its "spec"):

    {"name": "euclidean"}
    {"name": "learned", "kernel": [[w1], ..., [wd]], "bias": [b]}   # the head's Dense weights
"""

from __future__ import annotations

import dataclasses

import numpy as np

from siamese.registry import DISTANCES

_EPSILON = 1e-12


def _safe_sqrt(x: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(x, _EPSILON))


def _unit(x: np.ndarray) -> np.ndarray:
    return x / _safe_sqrt(np.sum(np.square(x), axis=-1, keepdims=True))


@dataclasses.dataclass(frozen=True, eq=False)
class NumpyDistance:
    """d(a, b) for matched rows of two (n, d) float32 arrays -> (n,); see the module docstring.

    Args:
        name: euclidean, manhattan, cosine or learned.
        kernel: (d, 1) weights of the learned head (learned only).
        bias: (1,) bias of the learned head (learned only).
    """

    name: str
    kernel: np.ndarray | None = None
    bias: np.ndarray | None = None

    def __post_init__(self):
        DISTANCES.check(self.name)
        if (self.name == "learned") != (self.kernel is not None and self.bias is not None):
            raise ValueError(f"distance {self.name!r}: kernel and bias go with 'learned' and only with it")

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
        if self.name == "euclidean":
            return _safe_sqrt(np.sum(np.square(a - b), axis=-1))
        if self.name == "manhattan":
            return np.sum(np.abs(a - b), axis=-1)
        if self.name == "cosine":
            return np.maximum(1.0 - np.sum(_unit(a) * _unit(b), axis=-1), 0.0) + 0.0  # no -0.0000 for identical images
        logits = (np.abs(a - b) @ self.kernel + self.bias)[..., 0]
        return 0.5 * (1.0 + np.tanh(-0.5 * logits))  # sigmoid(-logits), without overflow

    def to_spec(self) -> dict:
        if self.name != "learned":
            return {"name": self.name}
        return {"name": self.name, "kernel": self.kernel.tolist(), "bias": self.bias.tolist()}

    @classmethod
    def from_spec(cls, spec: dict) -> NumpyDistance:
        if spec.get("name") != "learned":
            return cls(spec.get("name"))
        return cls("learned", np.asarray(spec["kernel"], np.float32), np.asarray(spec["bias"], np.float32))
