"""More classes for free: each quarter turn of a character is a new character.

A "b" turned upside down is not a "b"; for handwritten symbols a rotated class is a new
class the network must tell apart from the original. Vinyals et al. (2016) and Santoro et
al. (2016) multiplied Omniglot's training classes by four this way. Use it for data whose
classes change meaning under rotation (characters), not for faces or photographs.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from siamese.data.datasets import ImageDataset
from siamese.errors import ConfigError


def add_rotated_classes(dataset: ImageDataset, images: np.ndarray, turns: tuple = (1, 2, 3)):
    """Return (dataset, images) with each class repeated, rotated by k * 90 degrees, as a new class.

    Args:
        dataset: the training dataset; `images` holds its decoded images, (n, h, w, c), square.
        turns: quarter turns to add (1 = 90 degrees counter-clockwise).

    A rotated class keeps its group with the turn appended (`Greek@90`), so negatives drawn
    from the same group stay within one alphabet and one orientation.
    """
    if images.shape[1] != images.shape[2]:
        raise ConfigError(f"rotated classes need square images, got {images.shape[1]}x{images.shape[2]}")
    if any(t not in (1, 2, 3) for t in turns):
        raise ConfigError(f"turns must be among 1, 2, 3, got {turns!r}")
    stacked = [images] + [np.rot90(images, k, axes=(1, 2)) for k in turns]
    return rotated_dataset(dataset, turns), np.ascontiguousarray(np.concatenate(stacked))


def rotated_dataset(dataset: ImageDataset, turns: tuple = (1, 2, 3)) -> ImageDataset:
    """The dataset with each class repeated per turn, as `add_rotated_classes` grows it: the
    images of turn k (in the order of `turns`) follow those of the turns before, each turn
    `len(dataset)` long. The images themselves are the caller's to turn."""
    n = dataset.num_classes
    return dataclasses.replace(
        dataset,
        members=dataset.members * (1 + len(turns)),
        labels=np.concatenate([dataset.labels + i * n for i in range(1 + len(turns))]),
        classes=dataset.classes + tuple(f"{c}@{90 * k}" for k in turns for c in dataset.classes),
        groups=dataset.groups + tuple(f"{g}@{90 * k}" for k in turns for g in dataset.groups),
    )
