"""Verification pairs from where they come: a pairs file of paths, or drawn from a dataset.

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
from siamese.data.pairs import PairIndices, PairSampler
from siamese.data.pairs_file import PairList, read_pairs_file
from siamese.evaluation.embedding import Distance, Embed, embed_dataset, path_pair_distances
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


def sample_pairs(dataset: ImageDataset, count: int = 2000, *, seed: int = 0) -> SampledPairs:
    """`count` pairs, half same, drawn with the seed; different pairs within one group when
    the dataset has groups (the harder test, as the one-shot runs pose it)."""
    grouped = len(set(dataset.groups)) > 1
    return SampledPairs(dataset, PairSampler(count, same_group_negatives=grouped, seed=seed).sample(dataset))


def read_pair_source(path: str | os.PathLike, *, count: int = 2000, seed: int = 0) -> FilePairs | SampledPairs:
    """A pairs file (CSV, `siamese.data.pairs_file`) as it is, or `count` pairs drawn from a
    folder / zip of class folders; checked, nothing embedded."""
    path = Path(path)
    if path.suffix.lower() == ".csv" or (path.is_file() and not zipfile.is_zipfile(path)):
        return FilePairs(read_pairs_file(path), str(path))
    return sample_pairs(load_dataset(path), count, seed=seed)
