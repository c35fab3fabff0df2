"""Pairs and batches drawn from a labelled dataset with a seed.

Label convention, used everywhere in siamese: `same = 1` for two images of one class,
`same = 0` for two different classes.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from siamese.data.datasets import ImageDataset
from siamese.errors import DatasetError


@dataclasses.dataclass(frozen=True)
class PairIndices:
    """Pairs as indices into a dataset."""

    first: np.ndarray
    second: np.ndarray
    same: np.ndarray

    def __len__(self) -> int:
        return len(self.same)


class PairSampler:
    """Draws balanced same / different pairs from a dataset, reproducibly.

    Args:
        pairs: how many pairs; half same, half different.
        same_group_negatives: draw each different pair from one group (the same alphabet),
            which is what the one-shot test asks the model to tell apart.
        seed: the draw is a function of the seed and the dataset alone.
    """

    def __init__(self, pairs: int = 1000, *, same_group_negatives: bool = False, seed: int = 0):
        if pairs < 2:
            raise ValueError(f"pairs must be at least 2, got {pairs}")
        self.pairs = pairs
        self.same_group_negatives = same_group_negatives
        self.seed = seed

    def sample(self, dataset: ImageDataset) -> PairIndices:
        rng = np.random.default_rng(self.seed)
        by_class = dataset.class_indices
        multi = [c for c, idx in enumerate(by_class) if len(idx) >= 2]
        if not multi or dataset.num_classes < 2:
            raise DatasetError(f"{dataset.origin}: pairs need 2 or more classes and a class with 2 or more images, found {dataset.num_classes} class(es)")
        n_same = self.pairs // 2
        first, second, same = [], [], []
        for c in rng.choice(multi, size=n_same):
            a, b = rng.choice(by_class[c], size=2, replace=False)
            first.append(a), second.append(b), same.append(1)
        groups = np.array(dataset.groups)
        for _ in range(self.pairs - n_same):
            c1 = rng.integers(dataset.num_classes)
            candidates = np.flatnonzero(groups == groups[c1]) if self.same_group_negatives else None
            if candidates is None or len(candidates) < 2:
                candidates = np.arange(dataset.num_classes)
            c2 = c1
            while c2 == c1:
                c2 = rng.choice(candidates)
            first.append(rng.choice(by_class[c1])), second.append(rng.choice(by_class[c2])), same.append(0)
        order = rng.permutation(self.pairs)
        return PairIndices(
            first=np.array(first, dtype=np.int64)[order],
            second=np.array(second, dtype=np.int64)[order],
            same=np.array(same, dtype=np.int64)[order],
        )


class ClassBatchSampler:
    """Endless batches of `classes_per_batch` classes x `examples_per_class` images.

    Every batch holds several images of each of its classes, so scoring all pairs of the
    batch yields same pairs as well as different ones. With `same_group_fraction`, that
    share of the classes comes from one group (an alphabet), giving hard negatives.
    """

    def __init__(self, classes_per_batch: int = 16, examples_per_class: int = 4, *, same_group_fraction: float = 0.5, seed: int = 0):
        if classes_per_batch < 2:
            raise ValueError(f"classes_per_batch must be at least 2, got {classes_per_batch}")
        if examples_per_class < 2:
            raise ValueError(f"examples_per_class must be at least 2, got {examples_per_class}")
        if not 0.0 <= same_group_fraction <= 1.0:
            raise ValueError(f"same_group_fraction must be in [0, 1], got {same_group_fraction}")
        self.classes_per_batch = classes_per_batch
        self.examples_per_class = examples_per_class
        self.same_group_fraction = same_group_fraction
        self.seed = seed

    @property
    def batch_size(self) -> int:
        return self.classes_per_batch * self.examples_per_class

    def draw(self, dataset: ImageDataset, rng: np.random.Generator):
        """One batch: (indices, labels) arrays of length `batch_size`."""
        by_class = dataset.class_indices
        eligible = np.flatnonzero(dataset.class_sizes >= 2)  # classes that give a same pair
        if len(eligible) < 2:
            raise DatasetError(f"{dataset.origin}: batches need 2 or more classes with 2 or more images, found {len(eligible)}")
        per_batch = min(self.classes_per_batch, len(eligible))
        groups = np.asarray(dataset.groups)
        n_group = int(round(per_batch * self.same_group_fraction))
        chosen = np.array([], dtype=np.int64)
        if n_group:
            members = eligible[groups[eligible] == rng.choice(np.unique(groups[eligible]))]
            chosen = rng.choice(members, size=min(n_group, len(members)), replace=False)
        rest = np.setdiff1d(eligible, chosen)
        chosen = np.concatenate([chosen, rng.choice(rest, size=per_batch - len(chosen), replace=False)])
        indices = [rng.choice(by_class[c], size=self.examples_per_class, replace=len(by_class[c]) < self.examples_per_class) for c in chosen]
        labels = np.repeat(chosen, self.examples_per_class)
        return np.concatenate(indices), labels
