"""The official Omniglot one-shot runs (Lake et al. 2015), read and scored as published.

`all_runs.zip` (or its unpacked folder) holds run01 .. run20; each run has
`training/classMM.png` (one image of each of 20 characters of one evaluation alphabet),
`test/itemKK.png` (another drawer's version of each) and `class_labels.txt`, whose lines
`runNN/test/itemKK.png runNN/training/classMM.png` give the right answers. A trial pits one
test item against the 20 training images of its run; the pick is the nearest one. The
score is accuracy over the 400 trials, reported per run and overall, as in Lake et al.
(2015) and Koch et al. (2015).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path, PurePosixPath

import numpy as np

from siamese.data.datasets import ImageDataset
from siamese.data.images import decode_image
from siamese.data.sources import open_source
from siamese.data.variants import affine_variants
from siamese.errors import DatasetError
from siamese.evaluation.embedding import Distance, Embed, euclidean, pairwise_distances
from siamese.evaluation.intervals import Estimate, proportion

LABELS = "class_labels.txt"
_LAYOUT = "runNN/class_labels.txt with runNN/training/ and runNN/test/"


@dataclasses.dataclass(frozen=True)
class OneShotRun:
    """One run: its training and test images (member names) and, per test item, the row of
    its class in `training`."""

    name: str
    training: tuple
    test: tuple
    answers: np.ndarray


@dataclasses.dataclass(frozen=True)
class OneShotRuns:
    """The runs of one archive or folder; images are held as encoded bytes (about 200 kB)."""

    path: Path
    runs: tuple
    files: dict = dataclasses.field(repr=False, compare=False)

    @property
    def trials(self) -> int:
        return sum(len(run.test) for run in self.runs)

    def image(self, member: str, channels: int = 1) -> np.ndarray:
        """A run image as uint8 (h, w, channels)."""
        return decode_image(self.files[member], name=f"{self.path}:{member}", channels=channels)


def _list_files(path: Path):
    """(source, names): the runs' source (folder or zip) and the files under its label folders.

    `path` may be one run's folder, the folder (or zip) of runs, or a folder above that:
    label files are looked for at most two folders down.
    """
    source = open_source(path, expected=f"a folder or .zip of one-shot runs ({_LAYOUT})", strip_top=False)
    under = ""
    if path.is_dir() and (path / LABELS).is_file():  # one run's folder: name it as in all_runs
        source, under = open_source(path.parent), path.name
    names = source.files(under)
    folders = {
        PurePosixPath(n).parent for n in names if PurePosixPath(n).name == LABELS and len(PurePosixPath(n).parts) <= 3
    }
    return source, [n for n in names if any(folder in PurePosixPath(n).parents for folder in folders)]


def _parse_labels(path: Path, labels_name: str, text: str, files: set) -> OneShotRun:
    folder = PurePosixPath(labels_name).parent
    training = sorted(n for n in files if PurePosixPath(n).parent == folder / "training")
    if not training:
        raise DatasetError(f"{path}: {folder}/training/ holds no images ({_LAYOUT})")
    test, answers = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split()
        parts = [PurePosixPath(f).parts[-2:] for f in fields]
        if len(fields) != 2 or parts[0][:1] != ("test",) or parts[1][:1] != ("training",):
            raise DatasetError(
                f"{path}:{labels_name}:{number}: expected 'runNN/test/itemKK.png runNN/training/classMM.png', got {line.strip()!r}"
            )
        item, answer = (folder / "/".join(parts[0])).as_posix(), (folder / "/".join(parts[1])).as_posix()
        for member in (item, answer):
            if member not in files:
                raise DatasetError(f"{path}:{labels_name}:{number}: image {member} not found")
        test.append(item)
        answers.append(training.index(answer))
    if not test:
        raise DatasetError(f"{path}:{labels_name}: no trials listed")
    return OneShotRun(
        name=folder.name, training=tuple(training), test=tuple(test), answers=np.array(answers, dtype=np.int64)
    )


def read_oneshot_runs(path: str | os.PathLike) -> OneShotRuns:
    """Read the runs from `all_runs.zip`, its unpacked folder, or one run's folder; checks
    every listed image exists before returning."""
    path = Path(path)
    source, names = _list_files(path)
    labels = sorted(n for n in names if PurePosixPath(n).name == LABELS)
    if not labels:
        raise DatasetError(f"{path}: not the one-shot runs layout (no {_LAYOUT})")
    runs = []
    for name in labels:
        try:
            text = source.read(name).decode("utf-8")
        except UnicodeDecodeError:
            raise DatasetError(f"{path}:{name}: not a text file") from None
        runs.append(_parse_labels(path, name, text, set(names)))
    used = {m for run in runs for m in (*run.training, *run.test)}
    return OneShotRuns(path=path, runs=tuple(runs), files={m: source.read(m) for m in sorted(used)})


@dataclasses.dataclass(frozen=True)
class RunsResult:
    """Accuracy per run (n = its trials) and over all trials, with Wilson intervals;
    `distances` (test, training) and `picks` per run are kept for pictures."""

    names: tuple
    per_run: tuple
    accuracy: Estimate
    distances: tuple
    picks: tuple

    def to_dict(self) -> dict:
        return {
            "runs": len(self.names),
            "trials": self.accuracy.n,
            "accuracy": self.accuracy.to_dict(),
            "per_run": {name: estimate.to_dict() for name, estimate in zip(self.names, self.per_run)},
        }


def score_oneshot_runs(
    runs: OneShotRuns,
    embed: Embed,
    distance: Distance = euclidean,
    *,
    channels: int = 1,
    support_variants: int = 0,
    seed: int = 0,
) -> RunsResult:
    """Pick, for each test item, the nearest training image of its run; score the picks.

    Args:
        runs: from `read_oneshot_runs`.
        embed: images (uint8 arrays) -> (n, d) embeddings.
        distance: matched rows -> distances.
        channels: how to decode the images for `embed` (the model's channels).
        support_variants: test-time augmentation: the distance to a training image is the
            mean over it and this many distorted copies (`siamese.data.affine_variants`).
        seed: seed of the distortions.
    """
    per_run, all_distances, picks, correct = [], [], [], 0
    for run in runs.runs:
        test = [runs.image(m, channels) for m in run.test]
        training = [runs.image(m, channels) for m in run.training]
        copies = 1 + support_variants
        supports = [
            v
            for k, image in enumerate(training)
            for v in [image, *affine_variants(image, support_variants, seed=seed + k)]
        ]
        embeddings = np.asarray(embed(test + supports))
        d = pairwise_distances(embeddings[: len(test)], embeddings[len(test) :], distance)  # (test, training x copies)
        d = d.reshape(len(test), len(training), copies).mean(axis=2)
        pick = np.argmin(d, axis=1)
        right = int(np.sum(pick == run.answers))
        correct += right
        per_run.append(proportion(right, len(run.test)))
        all_distances.append(d)
        picks.append(pick)
    return RunsResult(
        names=tuple(r.name for r in runs.runs),
        per_run=tuple(per_run),
        accuracy=proportion(correct, runs.trials),
        distances=tuple(all_distances),
        picks=tuple(picks),
    )


def runs_from_dataset(dataset: ImageDataset, *, way: int = 20, seed: int = 0) -> OneShotRuns:
    """Runs made like the official ones from any grouped dataset, e.g. validation alphabets.

    Each group (alphabet) with at least `way` classes of two or more images gives one run:
    `way` of its classes, one image of each as training and another as the test item.
    This is how a model is judged on the one-shot protocol without looking at the official
    runs, which are kept for the final test.
    """
    rng = np.random.default_rng(seed)
    groups = np.asarray(dataset.groups)
    runs, files = [], {}
    for group in sorted(set(dataset.groups)):
        classes = [c for c in np.flatnonzero(groups == group) if len(dataset.class_indices[c]) >= 2]
        if len(classes) < way:
            continue
        name = f"run{len(runs) + 1:02d}"
        chosen = rng.choice(classes, size=way, replace=False)
        training, test = [], []
        for k, label in enumerate(chosen, start=1):
            first, second = rng.choice(dataset.class_indices[label], size=2, replace=False)
            training.append(f"{name}/training/class{k:02d}")
            test.append(f"{name}/test/item{k:02d}")
            files[training[-1]], files[test[-1]] = dataset.read(int(first)), dataset.read(int(second))
        order = rng.permutation(way)
        runs.append(
            OneShotRun(
                name=name, training=tuple(training), test=tuple(test[i] for i in order), answers=order.astype(np.int64)
            )
        )
    if not runs:
        raise DatasetError(f"no group of the dataset has {way} classes with two or more images each")
    return OneShotRuns(path=Path(f"{way}-way runs drawn from {len(runs)} group(s)"), runs=tuple(runs), files=files)
