"""Pairs and batches drawn from a labelled dataset with a seed.

Label convention, used everywhere in siamese: `same = 1` for two images of one class,
`same = 0` for two different classes.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from siamese.data.datasets import ImageDataset
from siamese.errors import ConfigError, DatasetError


@dataclasses.dataclass(frozen=True)
class PairIndices:
    """Pairs as indices into a dataset."""

    first: np.ndarray
    second: np.ndarray
    same: np.ndarray

    def __len__(self) -> int:
        return len(self.same)


class PairSampler:
    """Samples balanced same / different pairs from a dataset, reproducibly.

    Args:
        pair_count: how many pairs; half same, half different.
        same_group_negatives: draw each different pair from one group (the same alphabet),
            which is what the one-shot test asks the model to tell apart.
        seed: the draw is a function of the seed and the dataset alone.
    """

    def __init__(self, pair_count: int = 1000, *, same_group_negatives: bool = False, seed: int = 0):
        if pair_count < 2:
            raise ConfigError(f"pair_count must be at least 2, got {pair_count}")
        self.pair_count = pair_count
        self.same_group_negatives = same_group_negatives
        self.seed = seed

    def sample(self, dataset: ImageDataset) -> PairIndices:
        rng = np.random.default_rng(self.seed)
        by_class = dataset.class_indices
        multi = [c for c, idx in enumerate(by_class) if len(idx) >= 2]
        if not multi or dataset.num_classes < 2:
            raise DatasetError(
                f"{dataset.origin}: pairs need 2 or more classes and a class with 2 or more images, found {dataset.num_classes} class(es)"
            )
        n_same = self.pair_count // 2
        first, second, same = [], [], []
        for c in rng.choice(multi, size=n_same):
            a, b = rng.choice(by_class[c], size=2, replace=False)
            first.append(a), second.append(b), same.append(1)
        groups = np.array(dataset.groups)
        for _ in range(self.pair_count - n_same):
            c1 = rng.integers(dataset.num_classes)
            candidates = np.flatnonzero(groups == groups[c1]) if self.same_group_negatives else None
            if candidates is None or len(candidates) < 2:
                candidates = np.arange(dataset.num_classes)
            c2 = c1
            while c2 == c1:
                c2 = rng.choice(candidates)
            first.append(rng.choice(by_class[c1])), second.append(rng.choice(by_class[c2])), same.append(0)
        order = rng.permutation(self.pair_count)
        return PairIndices(
            first=np.array(first, dtype=np.int64)[order],
            second=np.array(second, dtype=np.int64)[order],
            same=np.array(same, dtype=np.int64)[order],
        )


def forgery_pairs(dataset: ImageDataset, pair_count: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(a, b): `pair_count` genuine-vs-skilled-forgery pairs of one signer, all "different" (same = 0).

    `a` indexes the dataset's images, `b` its `forgeries`. Each pair's signer is drawn
    uniformly from the signers with forgeries, then one genuine image and one forgery of theirs.
    """
    if not dataset.num_forgeries:
        raise DatasetError(f"{dataset.origin}: no skilled forgeries to pair")
    rng = np.random.default_rng(seed)
    signers = np.unique(dataset.forgery_labels)
    signers = signers[dataset.class_sizes[signers] > 0]
    a, b = np.zeros(pair_count, np.int64), np.zeros(pair_count, np.int64)
    for i, signer in enumerate(rng.choice(signers, size=pair_count)):
        a[i] = rng.choice(dataset.class_indices[signer])
        b[i] = rng.choice(np.flatnonzero(dataset.forgery_labels == signer))
    return a, b


class ClassBatchSampler:
    """Endless batches of `classes_per_batch` classes x `examples_per_class` images.

    Every batch holds several images of each of its classes, so scoring all pairs of the
    batch yields same pairs as well as different ones. With `same_group_fraction`, that
    share of the classes comes from one group (an alphabet), giving hard negatives. A
    class with skilled forgeries brings up to `forgeries_per_class` of them too, each
    under a label of its own (-1, -2, ...): a negative of every image, its signer's included;
    other forgeries fill the batch to a fixed size (`_forgeries`).
    """

    def __init__(
        self,
        classes_per_batch: int = 16,
        examples_per_class: int = 4,
        *,
        same_group_fraction: float = 0.5,
        forgeries_per_class: int = 2,
        seed: int = 0,
    ):
        if classes_per_batch < 2:
            raise ConfigError(f"classes_per_batch must be at least 2, got {classes_per_batch}")
        if examples_per_class < 2:
            raise ConfigError(f"examples_per_class must be at least 2, got {examples_per_class}")
        if not 0.0 <= same_group_fraction <= 1.0:
            raise ConfigError(f"same_group_fraction must be in [0, 1], got {same_group_fraction}")
        if forgeries_per_class < 0:
            raise ConfigError(f"forgeries_per_class must be zero or positive, got {forgeries_per_class}")
        self.classes_per_batch = classes_per_batch
        self.examples_per_class = examples_per_class
        self.same_group_fraction = same_group_fraction
        self.forgeries_per_class = forgeries_per_class
        self.seed = seed

    @property
    def batch_size(self) -> int:
        """Images of a batch, forgeries not counted (a dataset without forgeries: every batch's size)."""
        return self.classes_per_batch * self.examples_per_class

    def sample(self, dataset: ImageDataset, rng: np.random.Generator):
        """One batch: (indices, labels) arrays, `batch_size` long, plus the forgeries drawn.

        Index `len(dataset) + j` is forgery j: indices point into the dataset's images
        followed by its forgeries (`np.concatenate([images, forgery_images])`).
        """
        by_class = dataset.class_indices
        eligible = np.flatnonzero(dataset.class_sizes >= 2)  # classes that give a same pair
        if len(eligible) < 2:
            raise DatasetError(
                f"{dataset.origin}: batches need 2 or more classes with 2 or more images, found {len(eligible)}"
            )
        per_batch = min(self.classes_per_batch, len(eligible))
        groups = np.asarray(dataset.groups)
        n_group = int(round(per_batch * self.same_group_fraction))
        chosen = np.array([], dtype=np.int64)
        if n_group:
            members = eligible[groups[eligible] == rng.choice(np.unique(groups[eligible]))]
            chosen = rng.choice(members, size=min(n_group, len(members)), replace=False)
        rest = np.setdiff1d(eligible, chosen)
        chosen = np.concatenate([chosen, rng.choice(rest, size=per_batch - len(chosen), replace=False)])
        indices = [
            rng.choice(by_class[c], size=self.examples_per_class, replace=len(by_class[c]) < self.examples_per_class)
            for c in chosen
        ]
        labels = np.repeat(chosen, self.examples_per_class)
        if dataset.num_forgeries and self.forgeries_per_class:
            forged = self._forgeries(dataset, chosen, rng)
            return np.concatenate(indices + [len(dataset) + forged]), np.concatenate(
                [labels, -1 - np.arange(len(forged))]
            )
        return np.concatenate(indices), labels

    def _forgeries(self, dataset: ImageDataset, chosen: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Forgeries as indices into `dataset.forgeries`: up to `forgeries_per_class` of each chosen
        class, then others to a fixed count, `forgeries_per_class` per class of the batch (or all the
        dataset has): more of the batch's signers first, then other signers' (a negative of everyone
        in the batch). A batch of one size throughout is traced once by the training step."""
        drawn = [np.zeros(0, np.int64)]
        for c in chosen:
            own = np.flatnonzero(dataset.forgery_labels == c)
            if len(own):
                drawn.append(rng.choice(own, size=min(self.forgeries_per_class, len(own)), replace=False))
        drawn = np.concatenate(drawn).astype(np.int64)
        missing = min(len(chosen) * self.forgeries_per_class, dataset.num_forgeries) - len(drawn)
        if missing > 0:
            rest = np.setdiff1d(np.arange(dataset.num_forgeries), drawn)
            in_batch = np.isin(dataset.forgery_labels[rest], chosen)
            fill = np.concatenate([rng.permutation(rest[in_batch]), rng.permutation(rest[~in_batch])])
            drawn = np.concatenate([drawn, fill[:missing]])
        return drawn
