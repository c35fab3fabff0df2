"""The training input pipeline: decoded images in memory, class-balanced batches, seeded.

Every image is decoded and resized once, up front (the cache), so each step only gathers a
batch from an array. Batches are `keras.utils.PyDataset`s, which every backend's `fit`
accepts; the draw for step i of epoch e depends only on (seed, e, i). Validation batches
(`per_epoch=False`) are the same every epoch, so their loss is comparable from epoch to epoch.
A dataset's skilled forgeries (signatures), decoded too, join the batches of their signers
as negatives, filled to one count per batch (a size that varied would retrace the training
step for each new size; `ClassBatchSampler`). Training batches are
distorted here (`siamese.data.augmentation`), from the same seeded draw, not in the model.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np

from siamese.data.augmentation import Distortions
from siamese.data.datasets import ImageDataset
from siamese.data.pairs import ClassBatchSampler
from siamese.errors import ConfigError


class ClassBatches(keras.utils.PyDataset):
    """(images, labels) batches for scoring all pairs of a batch; see `ClassBatchSampler`.

    Args:
        images: float32 (n, h, w, c), the decoded dataset.
        dataset: the dataset the images came from (for labels and groups).
        sampler: draws the classes and images of each batch.
        steps: batches per epoch.
        seed: the seed of the draws.
        per_epoch: new batches every epoch (training), or the same ones (validation).
        forgeries: float32 (m, h, w, c), the dataset's decoded forgeries (`load_forgeries`), or None
            (the forgeries, if any, are then left out of the batches).
        augmentation: distorts each batch's images (`Distortions`), or None.
    """

    def __init__(
        self,
        images: np.ndarray,
        dataset: ImageDataset,
        sampler: ClassBatchSampler,
        *,
        steps: int,
        seed: int = 0,
        per_epoch: bool = True,
        forgeries: np.ndarray | None = None,
        augmentation: Distortions | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if steps < 1:
            raise ConfigError(f"steps must be at least 1, got {steps}")
        if forgeries is not None and len(forgeries) != dataset.num_forgeries:
            raise ConfigError(
                f"forgeries must hold the dataset's {dataset.num_forgeries} forgeries, got {len(forgeries)}"
            )
        # The sampler indexes the images followed by the forgeries.
        self.images = images if forgeries is None or not len(forgeries) else np.concatenate([images, forgeries])
        self.dataset = (
            dataset
            if forgeries is not None or not dataset.num_forgeries
            else dataclasses.replace(dataset, forgeries=())
        )
        self.sampler = sampler
        self.steps = steps
        self.seed = seed
        self.per_epoch = per_epoch
        self.augmentation = augmentation
        self.epoch = 0

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, index: int):
        rng = np.random.default_rng((self.seed, self.epoch, index) if self.per_epoch else (self.seed, index))
        indices, labels = self.sampler.sample(self.dataset, rng)
        images = self.images[indices]
        if self.augmentation is not None:
            images = self.augmentation(images, rng)
        return images, labels.astype(np.int32)

    def on_epoch_end(self):
        self.epoch += 1
