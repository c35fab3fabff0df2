"""Images already embedded: what a gallery takes in place of images, so that decoding, face
detection and the network run before its lock is taken (`Gallery.prepare`, or the service's uploads)."""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Embedded:
    """Embeddings (n, dim) float32 `vectors` made by the gallery's model, taken by `Gallery.enroll`,
    `identify` and `verify_claim` in place of the images."""

    vectors: np.ndarray
