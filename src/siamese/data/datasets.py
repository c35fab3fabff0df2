"""Labelled image collections: a folder of class folders, the same inside a `.zip`, a pairs file.

A class is a folder that holds image files; its parent path is its group (for Omniglot,
`Alphabet/characterNN` is the class and `Alphabet` the group). A zip with a single top
folder, like the official Omniglot archives, is read with that folder stripped, so
`images_background_small1.zip` and `small2.zip` merge into one dataset: a class found in
both (Greek, Latin) is one class, and an image found in both is kept once. Classes may
also come from file names (a class pattern), and signatures may come with skilled
forgeries, kept apart from the classes: see `siamese.data.layouts`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

import numpy as np

from siamese.data.faces import FaceLog
from siamese.data.images import Preprocessing, decode_image, preprocess
from siamese.data.layouts import class_pattern as compile_class_pattern
from siamese.data.layouts import classify
from siamese.data.named import named
from siamese.data.pairs_file import classes_from_pairs, read_pairs_file
from siamese.data.sources import PairsSource, open_source
from siamese.errors import ConfigError, DatasetError, ImageError

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ImageDataset:
    """Images with integer class labels; `classes[label]` and `groups[label]` name them.

    Images are read lazily through `read(i)`; `load(preprocessing)` decodes them all.
    Skilled forgeries (signatures) are no class's images: each is a negative of its signer
    only, kept in `forgeries` and read with `forgery_name(i)` / `load_forgeries(preprocessing)`.
    """

    sources: tuple
    members: tuple  # (source index, member) per image
    labels: np.ndarray  # (n,) int
    classes: tuple  # class name per label
    groups: tuple  # group name per label
    forgeries: tuple = ()  # (source index, member, class label of the signer) per skilled forgery

    def __len__(self) -> int:
        return len(self.members)

    @property
    def origin(self) -> str:
        """The folders, archives or pairs files the images come from, for messages."""
        return ", ".join(str(source.location) for source in self.sources)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def num_forgeries(self) -> int:
        return len(self.forgeries)

    @functools.cached_property
    def forgery_labels(self) -> np.ndarray:
        """(m,) int: the class label of each forgery's signer."""
        return np.array([label for _, _, label in self.forgeries], dtype=np.int64)

    def name(self, index: int) -> str:
        source, member = self.members[index]
        return self.sources[source].name(member)

    def forgery_name(self, index: int) -> str:
        source, member, _ = self.forgeries[index]
        return self.sources[source].name(member)

    def _read(self, source: int, member: str) -> bytes:
        try:
            return self.sources[source].read(member)
        except OSError as error:
            raise ImageError(
                f"{self.sources[source].name(member)}: cannot be read ({error.strerror or error})"
            ) from None

    def read(self, index: int) -> bytes:
        return self._read(*self.members[index])

    def image(self, index: int, channels: int = 1) -> np.ndarray:
        """The image `index`, decoded, as a `NamedImage` that carries its name (for later messages)."""
        return named(decode_image(self.read(index), name=self.name(index), channels=channels), self.name(index))

    def forgery_image(self, index: int, channels: int = 1) -> np.ndarray:
        source, member, _ = self.forgeries[index]
        return decode_image(self._read(source, member), name=self.forgery_name(index), channels=channels)

    def load(self, preprocessing: Preprocessing, indices: Sequence[int] | None = None, workers: int = 4) -> np.ndarray:
        """Decode and preprocess images to float32 (n, h, w, c), in parallel threads."""
        indices = range(len(self)) if indices is None else indices
        return self._decode([self.members[i] for i in indices], preprocessing, workers)

    def load_forgeries(self, preprocessing: Preprocessing, workers: int = 4) -> tuple[np.ndarray, np.ndarray]:
        """(images, labels): the forgeries decoded to float32 (m, h, w, c), and their signers' labels (m,)."""
        return self._decode([f[:2] for f in self.forgeries], preprocessing, workers), self.forgery_labels.copy()

    def prepare(self, source: int, member: str, preprocessing: Preprocessing) -> np.ndarray:
        """One file (a `members` or `forgeries` entry) read, decoded and preprocessed to float32
        (h, w, c), as `load` does; a bad file raises `ImageError` naming it."""
        name = self.sources[source].name(member)
        array = decode_image(self._read(source, member), name=name, channels=preprocessing.channels)
        return preprocess(array, preprocessing, name=name, faces=FaceLog())  # a photo without a face: whole, warned

    def _decode(self, members: list, preprocessing: Preprocessing, workers: int) -> np.ndarray:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            images = list(pool.map(lambda entry: self.prepare(*entry, preprocessing), members))
        shape = (0, *preprocessing.input_shape)
        return np.stack(images) if images else np.zeros(shape, np.float32)

    def subset(self, class_labels: Iterable[int]) -> ImageDataset:
        """The images (and forgeries) of some classes, relabelled 0..k-1 in the order given."""
        class_labels = list(class_labels)
        remap = {old: new for new, old in enumerate(class_labels)}
        keep = [i for i, label in enumerate(self.labels) if label in remap]
        return ImageDataset(
            sources=self.sources,
            members=tuple(self.members[i] for i in keep),
            labels=np.array([remap[self.labels[i]] for i in keep], dtype=np.int64),
            classes=tuple(self.classes[c] for c in class_labels),
            groups=tuple(self.groups[c] for c in class_labels),
            forgeries=tuple((s, m, remap[label]) for s, m, label in self.forgeries if label in remap),
        )

    @functools.cached_property
    def class_indices(self) -> list[np.ndarray]:
        """For each class label, the indices of its images."""
        order = np.argsort(self.labels, kind="stable")
        bounds = np.searchsorted(self.labels[order], np.arange(self.num_classes + 1))
        return [order[bounds[c] : bounds[c + 1]] for c in range(self.num_classes)]

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
            raise DatasetError(
                f"{self.origin}: found {self.num_classes} class(es); need at least 2 class folders of images"
            )
        single = np.flatnonzero(self.class_sizes < 2)
        if self.num_classes - len(single) < 2:
            raise DatasetError(
                f"{self.origin}: {self.num_classes - len(single)} class(es) with 2 or more images; "
                "need at least 2 (a same pair each)"
            )
        if len(single):
            logger.warning(
                "%s: %d class(es) with a single image (first: %s): no same pair, used only as negatives",
                self.origin,
                len(single),
                self.name(self.class_indices[single[0]][0]),
            )

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


def load_dataset(
    paths: str | os.PathLike | Sequence[str | os.PathLike], *, class_pattern: str | None = None
) -> ImageDataset:
    """Index folders / zips of class folders, or pairs files, into one dataset (nothing decoded yet).

    A pairs file (`.csv`, see `siamese.data.pairs_file`) gives classes linked by its
    "same" pairs, in one group of their own. With `class_pattern`, a regex whose group
    `class` (or first group) names the class, the classes of folders and zips come from the
    names of their image files, at any depth, in one group (`siamese.data.layouts`, which
    also finds signers' genuine and forged folders, and CEDAR's file names, by itself).
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    pattern = compile_class_pattern(class_pattern) if class_pattern is not None else None
    sources, found, seen = [], [], set()  # found: (source index, member, class name, forged)
    for path in paths:
        if Path(path).suffix.lower() == ".csv":
            source, named = _pairs_members(Path(path))
            sources.append(source)
            found += [(len(sources) - 1, member, class_name, False) for member, class_name in named]
            continue
        source = open_source(path)
        sources.append(source)
        for member, class_name, forged in classify(source.members(), pattern, str(path)):
            within = member[len(class_name) + 1 :] if member.startswith(f"{class_name}/") else member
            if (class_name, forged, within) not in seen:  # the same image in two merged archives
                seen.add((class_name, forged, within))
                found.append((len(sources) - 1, member, class_name, forged))
    genuine = [entry for entry in found if not entry[3]]
    if not genuine:
        raise DatasetError(f"{', '.join(map(str, paths))}: no images in class folders found")
    classes = sorted({class_name for _, _, class_name, _ in genuine})
    label_of = {name: label for label, name in enumerate(classes)}
    forgeries = tuple((s, m, label_of[c]) for s, m, c, forged in found if forged and c in label_of)
    if len(forgeries) < len(found) - len(genuine):
        logger.warning(
            "%d forgery(ies) of signers with no genuine image left out", len(found) - len(genuine) - len(forgeries)
        )
    return ImageDataset(
        sources=tuple(sources),
        members=tuple((s, m) for s, m, _, _ in genuine),
        labels=np.array([label_of[c] for _, _, c, _ in genuine], dtype=np.int64),
        classes=tuple(classes),
        groups=tuple(PurePosixPath(c).parent.as_posix() if "/" in c else "" for c in classes),
        forgeries=forgeries,
    )


def split_by_class(dataset: ImageDataset, validation_fraction: float = 0.2, *, by_group: bool = False, seed: int = 0):
    """Split into (train, validation) with no class in both.

    With `by_group`, whole groups (alphabets) go to one side, which is how the one-shot
    test is set: its characters come from alphabets never seen in training.
    """
    if not 0.0 < validation_fraction < 1.0:
        raise ConfigError(f"validation_fraction must be between 0 and 1, got {validation_fraction}")
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
        raise DatasetError(
            f"{dataset.num_classes} classes are too few to split into training and validation classes (need 4 or more)"
        )
    return dataset.subset(train), dataset.subset(val)
