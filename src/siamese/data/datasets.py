"""Labelled image collections: a folder of class folders, the same inside a `.zip`, a pairs file.

A class is a folder that holds image files; its parent path is its group (for Omniglot,
`Alphabet/characterNN` is the class and `Alphabet` the group). A zip with a single top
folder, like the official Omniglot archives, is read with that folder stripped, so
`images_background_small1.zip` and `small2.zip` merge into one dataset: a class found in
both (Greek, Latin) is one class, and an image found in both is kept once.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import os
from pathlib import Path, PurePosixPath
from typing import Iterable, Sequence

import numpy as np

from siamese.data.images import Preprocessing, decode_image, preprocess
from siamese.data.pairs_file import classes_from_pairs, read_pairs_file
from siamese.data.sources import PairsSource, open_source
from siamese.errors import DatasetError, ImageError

logger = logging.getLogger(__name__)

@dataclasses.dataclass(frozen=True)
class ImageDataset:
    """Images with integer class labels; `classes[label]` and `groups[label]` name them.

    Images are read lazily through `read(i)`; `load(preprocessing)` decodes them all.
    """

    sources: tuple
    members: tuple  # (source index, member) per image
    labels: np.ndarray  # (n,) int
    classes: tuple  # class name per label
    groups: tuple  # group name per label

    def __len__(self) -> int:
        return len(self.members)

    @property
    def origin(self) -> str:
        """The folders, archives or pairs files the images come from, for messages."""
        return ", ".join(str(source.location) for source in self.sources)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def name(self, index: int) -> str:
        source, member = self.members[index]
        return self.sources[source].name(member)

    def read(self, index: int) -> bytes:
        source, member = self.members[index]
        try:
            return self.sources[source].read(member)
        except OSError as error:
            raise ImageError(f"{self.name(index)}: cannot be read ({error.strerror or error})") from None

    def image(self, index: int, channels: int = 1) -> np.ndarray:
        return decode_image(self.read(index), name=self.name(index), channels=channels)

    def load(self, preprocessing: Preprocessing, indices: Sequence[int] | None = None, workers: int = 4) -> np.ndarray:
        """Decode and preprocess images to float32 (n, h, w, c), in parallel threads."""
        from concurrent.futures import ThreadPoolExecutor

        indices = range(len(self)) if indices is None else indices

        def one(index):
            array = self.image(index, preprocessing.channels)
            return preprocess(array, preprocessing, name=self.name(index))

        with ThreadPoolExecutor(max_workers=workers) as pool:
            images = list(pool.map(one, indices))
        shape = (0, *preprocessing.input_shape)
        return np.stack(images) if images else np.zeros(shape, np.float32)

    def subset(self, class_labels: Iterable[int]) -> "ImageDataset":
        """The images of some classes, relabelled 0..k-1 in the order given."""
        class_labels = list(class_labels)
        remap = {old: new for new, old in enumerate(class_labels)}
        keep = [i for i, label in enumerate(self.labels) if label in remap]
        return ImageDataset(
            sources=self.sources,
            members=tuple(self.members[i] for i in keep),
            labels=np.array([remap[self.labels[i]] for i in keep], dtype=np.int64),
            classes=tuple(self.classes[c] for c in class_labels),
            groups=tuple(self.groups[c] for c in class_labels),
        )

    @functools.cached_property
    def class_indices(self) -> list[np.ndarray]:
        """For each class label, the indices of its images."""
        order = np.argsort(self.labels, kind="stable")
        bounds = np.searchsorted(self.labels[order], np.arange(self.num_classes + 1))
        return [order[bounds[c]:bounds[c + 1]] for c in range(self.num_classes)]

    @functools.cached_property
    def class_sizes(self) -> np.ndarray:
        """For each class label, how many images it has."""
        return np.bincount(self.labels, minlength=self.num_classes)

    def check_trainable(self) -> None:
        """Training needs two classes with two images or more (a same pair each).

        A class with a single image gives no same pair: it is left out of training batches,
        with a warning, and serves as a negative in validation pairs.
        """
        if self.num_classes < 2:
            raise DatasetError(f"{self.origin}: found {self.num_classes} class(es); need at least 2 class folders of images")
        single = np.flatnonzero(self.class_sizes < 2)
        if self.num_classes - len(single) < 2:
            raise DatasetError(f"{self.origin}: {self.num_classes - len(single)} class(es) with 2 or more images; "
                               "need at least 2 (a same pair each)")
        if len(single):
            logger.warning("%s: %d class(es) with a single image (first: %s): no same pair, used only as negatives",
                           self.origin, len(single), self.name(self.class_indices[single[0]][0]))

    def duplicates_across_classes(self) -> list[tuple[int, int]]:
        """Pairs of image indices with the same bytes in two different classes.

        Such an image makes a "same" pair of one class and a "different" pair of two at once;
        in validation it is a pair no model can get right.
        """
        first_seen, found = {}, []
        for index in range(len(self)):
            digest = hashlib.sha256(self.read(index)).digest()
            other = first_seen.setdefault(digest, index)
            if other != index and self.labels[other] != self.labels[index]:
                found.append((other, index))
        return found


def _pairs_members(path: Path) -> tuple:
    """(source, [(member, class name)]) of a pairs file: classes are the groups of images
    that "same" pairs link; images with no "same" partner cannot be a class and are left out."""
    images, labels = classes_from_pairs(read_pairs_file(path), name=str(path))
    counts = np.bincount(labels)
    kept = [(image, f"{path.name}:class{label:04d}") for image, label in zip(images, labels) if counts[label] >= 2]
    if len(kept) < len(images):
        logger.info("%s: %d image(s) with no 'same' partner left out of the classes", path, len(images) - len(kept))
    return PairsSource(path), kept


def load_dataset(paths: str | os.PathLike | Sequence[str | os.PathLike]) -> ImageDataset:
    """Index folders / zips of class folders, or pairs files, into one dataset (nothing decoded yet).

    A pairs file (`.csv`, see `siamese.data.pairs_file`) gives classes linked by its
    "same" pairs, in one group of their own.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    sources, members, class_of = [], [], []
    seen = set()
    for path in paths:
        if Path(path).suffix.lower() == ".csv":
            source, named = _pairs_members(Path(path))
            sources.append(source)
            for member, class_name in named:
                members.append((len(sources) - 1, member))
                class_of.append(class_name)
            continue
        source = open_source(path)
        index = len(sources)
        sources.append(source)
        for member in source.members():
            parts = PurePosixPath(member)
            class_name = parts.parent.as_posix()
            if class_name == ".":
                continue  # files beside the class folders (licences, readmes)
            key = (class_name, parts.name)
            if key in seen:
                continue
            seen.add(key)
            members.append((index, member))
            class_of.append(class_name)
    if not members:
        raise DatasetError(f"{', '.join(map(str, paths))}: no images in class folders found")
    classes = sorted(set(class_of))
    label_of = {name: label for label, name in enumerate(classes)}
    groups = tuple(PurePosixPath(c).parent.as_posix() if "/" in c else "" for c in classes)
    return ImageDataset(
        sources=tuple(sources),
        members=tuple(members),
        labels=np.array([label_of[c] for c in class_of], dtype=np.int64),
        classes=tuple(classes),
        groups=groups,
    )


def split_by_class(dataset: ImageDataset, validation_fraction: float = 0.2, *, by_group: bool = False, seed: int = 0):
    """Split into (train, validation) with no class in both.

    With `by_group`, whole groups (alphabets) go to one side, which is how the one-shot
    test is set: its characters come from alphabets never seen in training.
    """
    if not 0.0 < validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be between 0 and 1, got {validation_fraction}")
    rng = np.random.default_rng(seed)
    labels = np.arange(dataset.num_classes)
    if by_group and len(set(dataset.groups)) >= 2:
        group_names = sorted(set(dataset.groups))
        rng.shuffle(group_names)
        n_val = max(1, int(round(len(group_names) * validation_fraction)))
        val_groups = set(group_names[:n_val])
        val = [c for c in labels if dataset.groups[c] in val_groups]
    else:
        shuffled = rng.permutation(labels)
        n_val = max(1, int(round(len(labels) * validation_fraction)))
        val = sorted(shuffled[:n_val].tolist())
    train = [c for c in labels if c not in set(val)]
    if len(train) < 2 or len(val) < 2:
        raise DatasetError(f"{dataset.num_classes} classes are too few to split into training and validation classes (need 4 or more)")
    return dataset.subset(train), dataset.subset(val)
