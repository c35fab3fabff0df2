"""Verification pairs from where they come: a pairs file of paths, or drawn from a dataset.

A dataset of signers with skilled forgeries (`<signer>/genuine`, `<signer>/forged`) gives
the pairs that test a signature verifier: two genuine signatures of one signer (same)
against a genuine signature and a skilled forgery of that signer (different), never
another signer's genuine one: a threshold set on them holds against imitators.

Both kinds answer the same questions: the labels (`same`, known before any image is
embedded, so a source without both same and different pairs fails at once, naming its
file), the distances under a model's `embed` and `distance`, and the two images of a pair
(for pictures). Calibration and evaluation both take their pairs from here.
"""

from __future__ import annotations

import dataclasses
import os
import zipfile
from pathlib import Path

import numpy as np

from siamese.data.datasets import ImageDataset, load_dataset
from siamese.data.images import read_image
from siamese.data.pairs import PairIndices, PairSampler, forgery_pairs
from siamese.data.pairs_file import PairList, read_pairs_file
from siamese.errors import DatasetError
from siamese.evaluation.embedding import Distance, Embed, embed_dataset, embed_images, path_pair_distances
from siamese.scores import require_both_kinds


class _PairSource:
    """What both kinds share: labels from `pairs.same`, checked for both kinds when made."""

    def __post_init__(self):
        require_both_kinds(self.same, where=self.name)

    @property
    def same(self) -> np.ndarray:
        return self.pairs.same


@dataclasses.dataclass(frozen=True)
class FilePairs(_PairSource):
    """Pairs read from a file: images by path; `name` (the file) is used in messages."""

    pairs: PairList
    name: str

    @property
    def needed(self) -> np.ndarray:
        """Dataset images the pairs need embedded: none, they are files."""
        return np.zeros(0, dtype=np.int64)

    def distances(
        self, embed: Embed, distance: Distance, *, channels: int = 1, table: np.ndarray | None = None
    ) -> np.ndarray:
        """Distances (n,), each distinct path embedded once (`embed` takes paths)."""
        return path_pair_distances(self.pairs.first, self.pairs.second, embed, distance)

    def images(self, index: int, channels: int = 1) -> tuple:
        return read_image(self.pairs.first[index], channels=channels), read_image(
            self.pairs.second[index], channels=channels
        )

    def key(self, index: int) -> frozenset:
        return frozenset((str(self.pairs.first[index]), str(self.pairs.second[index])))


@dataclasses.dataclass(frozen=True)
class SampledPairs(_PairSource):
    """Pairs drawn from a dataset, as indices into it."""

    dataset: ImageDataset
    pairs: PairIndices

    @property
    def name(self) -> str:
        return self.dataset.origin

    @property
    def needed(self) -> np.ndarray:
        """Dataset indices of the images the pairs use."""
        return np.concatenate([self.pairs.first, self.pairs.second])

    def distances(
        self, embed: Embed, distance: Distance, *, channels: int = 1, table: np.ndarray | None = None
    ) -> np.ndarray:
        """Distances (n,); from `table` (dataset embeddings by index) when given, else each image embedded once."""
        if table is None:
            table = embed_dataset(self.dataset, embed, self.needed, channels=channels)
        return np.asarray(distance(table[self.pairs.first], table[self.pairs.second]), dtype=np.float64)

    def images(self, index: int, channels: int = 1) -> tuple:
        return (
            self.dataset.image(int(self.pairs.first[index]), channels),
            self.dataset.image(int(self.pairs.second[index]), channels),
        )

    def key(self, index: int) -> frozenset:
        return frozenset((int(self.pairs.first[index]), int(self.pairs.second[index])))


@dataclasses.dataclass(frozen=True)
class ForgeryPairs(SampledPairs):
    """Genuine-genuine pairs of a signer (same) and genuine-vs-skilled-forgery pairs of that
    signer (different); `pairs.second` at `len(dataset)` and above indexes the forgeries."""

    @property
    def needed(self) -> np.ndarray:
        """Dataset indices of the genuine images the pairs use."""
        both = super().needed
        return both[both < len(self.dataset)]

    def distances(
        self, embed: Embed, distance: Distance, *, channels: int = 1, table: np.ndarray | None = None
    ) -> np.ndarray:
        """Distances (n,): genuine images from `table` when given (else embedded once), each forgery embedded once."""
        if table is None:
            table = embed_dataset(self.dataset, embed, self.needed, channels=channels)
        forged = embed_images(
            [self.dataset.forgery_image(i, channels) for i in range(self.dataset.num_forgeries)], embed
        )
        table = np.concatenate([table, forged.astype(table.dtype)])
        return super().distances(embed, distance, channels=channels, table=table)

    def images(self, index: int, channels: int = 1) -> tuple:
        second, size = int(self.pairs.second[index]), len(self.dataset)
        if second < size:
            return super().images(index, channels)
        return self.dataset.image(int(self.pairs.first[index]), channels), self.dataset.forgery_image(
            second - size, channels
        )


def sample_forgery_pairs(dataset: ImageDataset, count: int = 2000, *, seed: int = 0) -> ForgeryPairs:
    """`count` pairs of the signers with skilled forgeries and 2 or more genuine images, half
    genuine-genuine, half genuine-vs-forgery of one signer, drawn with the seed."""
    signers = [c for c in np.unique(dataset.forgery_labels) if dataset.class_sizes[c] >= 2]
    if not signers:
        raise DatasetError(f"{dataset.origin}: no signer has both 2 genuine images and a skilled forgery")
    signed, rng = dataset.subset(signers), np.random.default_rng(seed)
    signers = rng.integers(signed.num_classes, size=count // 2)
    same = np.array([rng.choice(signed.class_indices[c], 2, replace=False) for c in signers]).reshape(-1, 2)
    genuine, forged = forgery_pairs(signed, count - count // 2, seed=seed)
    pairs = PairIndices(
        first=np.concatenate([same[:, 0], genuine]),
        second=np.concatenate([same[:, 1], len(signed) + forged]),
        same=np.concatenate([np.ones(len(same), np.int64), np.zeros(len(genuine), np.int64)]),
    )
    return ForgeryPairs(signed, pairs)


def sample_pairs(dataset: ImageDataset, count: int = 2000, *, seed: int = 0) -> SampledPairs:
    """`count` pairs, half same, drawn with the seed; different pairs within one group when
    the dataset has groups (the harder test, as the one-shot runs pose it)."""
    grouped = len(set(dataset.groups)) > 1
    return SampledPairs(dataset, PairSampler(count, same_group_negatives=grouped, seed=seed).sample(dataset))


def read_pair_source(path: str | os.PathLike, *, count: int = 2000, seed: int = 0) -> FilePairs | SampledPairs:
    """A pairs file (CSV, `siamese.data.pairs_file`) as it is, or `count` pairs drawn from a
    folder / zip of class folders (against skilled forgeries where it has them: `ForgeryPairs`);
    checked, nothing embedded."""
    path = Path(path)
    if path.suffix.lower() == ".csv" or (path.is_file() and not zipfile.is_zipfile(path)):
        return FilePairs(read_pairs_file(path), str(path))
    dataset = load_dataset(path)
    if dataset.num_forgeries:
        return sample_forgery_pairs(dataset, count, seed=seed)
    return sample_pairs(dataset, count, seed=seed)
