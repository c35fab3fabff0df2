"""Distorted copies of one image, for test-time augmentation.

One example per class is all a one-shot model has; comparing a query with a few slightly
rotated, sheared, zoomed and shifted copies of that example, and averaging the distances,
makes the comparison less sensitive to how that one example happened to be drawn. These
are the affine distortions of training (Koch et al. 2015), in OpenCV, on uint8 images, so
they run before the model's own preprocessing and need no Keras.
"""

from __future__ import annotations

import cv2
import numpy as np

from siamese.data.augmentation import random_affine
from siamese.errors import ConfigError


def affine_variants(
    image: np.ndarray,
    count: int,
    *,
    seed: int = 0,
    rotation: float = 10.0,
    shear: float = 0.1,
    zoom: float = 0.1,
    shift: float = 0.05,
) -> list:
    """`count` randomly distorted copies of `image` (uint8, (h, w) or (h, w, c)), seeded.

    Args:
        rotation: largest rotation, degrees. shear, zoom, shift: largest shear, relative
            zoom and shift (a fraction of the size). The border repeats the edge pixels,
            which is the paper (or the background) for the images this is meant for.
    """
    if count < 0:
        raise ConfigError(f"count must be zero or positive, got {count}")
    rng = np.random.default_rng(seed)
    height, width = image.shape[:2]
    variants = []
    for _ in range(count):
        matrix = random_affine(rng, height, width, rotation=rotation, shear=shear, zoom=zoom, shift=shift)
        warped = cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        variants.append(warped.reshape(image.shape))
    return variants
