"""Pairs files: `path1,path2,label` lines, label 1 (same) or 0 (different).

Verification data often comes as pairs rather than class folders. For evaluation the pairs
are used as they are. For training, `classes_from_pairs` turns them into classes: images
joined by "same" pairs are one class (connected components), so the batch trainer can
score every pair of a batch, and a "different" pair inside one class is reported, since the
file then contradicts itself.
"""

from __future__ import annotations

import csv
import dataclasses
import os
from pathlib import Path

import numpy as np

from siamese.errors import DatasetError

_TRUE = {"1", "same", "true", "yes", "genuine"}
_FALSE = {"0", "different", "false", "no", "impostor", "forgery"}


@dataclasses.dataclass(frozen=True)
class PairList:
    """Image pairs by path, with `same` (1 = same class, 0 = different)."""

    first: tuple
    second: tuple
    same: np.ndarray

    def __len__(self) -> int:
        return len(self.same)


def _label(text: str):
    word = text.strip().lower()
    if word in _TRUE:
        return 1
    if word in _FALSE:
        return 0
    return None


def read_pairs_file(path: str | os.PathLike) -> PairList:
    """Read `path1,path2,label` lines; paths are relative to the CSV's folder.

    A header line is allowed. Every image is checked to exist before any work starts.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such pairs file")
    root = path.parent
    first, second, same = [], [], []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not a text CSV file") from None
    for line_number, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or all(not cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if len(row) != 3:
            raise DatasetError(f"{path}:{line_number}: expected 'path1,path2,label', got {len(row)} field(s)")
        label = _label(row[2])
        if label is None:
            if line_number == 1 and not first:
                continue  # header
            raise DatasetError(f"{path}:{line_number}: label must be 1/0 or same/different, got {row[2].strip()!r}")
        pair = []
        for cell in row[:2]:
            image = (root / cell.strip()).resolve() if not os.path.isabs(cell.strip()) else Path(cell.strip())
            if not image.is_file():
                raise DatasetError(f"{path}:{line_number}: image {cell.strip()!r} not found")
            pair.append(str(image))
        first.append(pair[0])
        second.append(pair[1])
        same.append(label)
    if not same:
        raise DatasetError(f"{path}: no pairs in file")
    return PairList(first=tuple(first), second=tuple(second), same=np.array(same, dtype=np.int64))


def classes_from_pairs(pairs: PairList, *, name: str = "pairs") -> tuple:
    """(images, labels): every image of the pairs, and its class, the connected component
    of the "same" pairs it belongs to (labels 0..k-1 in order of first appearance).

    Raises `DatasetError` for a "different" pair whose images "same" pairs join.
    """
    images = sorted(set(pairs.first) | set(pairs.second))
    index = {image: i for i, image in enumerate(images)}
    parent = list(range(len(images)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b, same in zip(pairs.first, pairs.second, pairs.same):
        if same:
            parent[root(index[a])] = root(index[b])
    roots = [root(i) for i in range(len(images))]
    for number, (a, b, same) in enumerate(zip(pairs.first, pairs.second, pairs.same), start=1):
        if not same and roots[index[a]] == roots[index[b]]:
            raise DatasetError(
                f"{name}: pair {number} ({a}, {b}) is labelled different, but 'same' pairs link its images"
            )
    first_seen = {}
    labels = np.array([first_seen.setdefault(r, len(first_seen)) for r in roots], dtype=np.int64)
    return images, labels
