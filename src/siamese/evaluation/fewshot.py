"""N-way k-shot episodes: can the model pick a query's class from a few examples of each?

An episode draws `way` classes, `shot` support images of each and `queries_per_class`
other images of each as queries; a query is answered by the class whose supports are
nearest. With several shots the class's score is the mean distance from the query to its
`shot` supports, not the distance to their mean embedding: it needs only the model's own
distance between two images, so it holds for every distance (learned ones included),
and with one shot the two are the same.

Episodes come from unseen classes (a held-out split or another dataset) and are a
function of the dataset and the seed alone. With `within_group`, every episode takes its
classes from one group (one alphabet), the harder test the Omniglot runs pose.
"""

from __future__ import annotations

import collections
import dataclasses

import numpy as np

from siamese.data.datasets import ImageDataset
from siamese.errors import ConfigError, DatasetError
from siamese.evaluation.embedding import Distance, euclidean, pairwise_distances
from siamese.evaluation.intervals import Estimate, proportion


@dataclasses.dataclass(frozen=True)
class Episode:
    """One episode, as dataset indices.

    `classes` (way,) are dataset labels; `support` (way, shot) image indices, row i of class
    `classes[i]`; `queries` (q,) image indices; `answers` (q,) the row of each query's class.
    """

    classes: np.ndarray
    support: np.ndarray
    queries: np.ndarray
    answers: np.ndarray


def default_way(dataset: ImageDataset, shot: int = 1, *, within_group: bool = False, most: int = 20) -> int:
    """`most` (20, as the one-shot runs), or fewer when the data has fewer classes (or, with
    `within_group`, fewer classes in its largest group) with `shot` + 1 images or more."""
    eligible = [c for c, idx in enumerate(dataset.class_indices) if len(idx) >= shot + 1]
    if within_group:
        sizes = collections.Counter(dataset.groups[c] for c in eligible)
        return max(2, min(most, max(sizes.values(), default=0)))
    return max(2, min(most, len(eligible)))


class EpisodeSampler:
    """Draws N-way k-shot episodes from a dataset, reproducibly.

    Args:
        way: classes per episode (N).
        shot: support images per class (k).
        episodes: how many episodes.
        queries_per_class: query images per class; they never serve as supports.
        within_group: draw each episode's classes from a single group.
        seed: the draw depends only on the seed and the dataset.
    """

    def __init__(
        self,
        way: int = 20,
        shot: int = 1,
        *,
        episodes: int = 200,
        queries_per_class: int = 1,
        within_group: bool = False,
        seed: int = 0,
    ):
        for name, value, least in (
            ("way", way, 2),
            ("shot", shot, 1),
            ("episodes", episodes, 1),
            ("queries_per_class", queries_per_class, 1),
        ):
            if value < least:
                raise ConfigError(f"{name} must be at least {least}, got {value}")
        self.way = way
        self.shot = shot
        self.episodes = episodes
        self.queries_per_class = queries_per_class
        self.within_group = within_group
        self.seed = seed

    def _eligible(self, dataset: ImageDataset) -> dict:
        """Classes with enough images for one support set and its queries, by pool: one pool
        (key None) or, with `within_group`, one per group."""
        need = self.shot + self.queries_per_class
        pools = {}
        for label, indices in enumerate(dataset.class_indices):
            if len(indices) >= need:
                pools.setdefault(dataset.groups[label] if self.within_group else None, []).append(label)
        return {
            key: np.array(labels, dtype=np.int64) for key, labels in sorted(pools.items(), key=lambda kv: str(kv[0]))
        }

    def check(self, dataset: ImageDataset) -> None:
        """Raise `DatasetError` if the dataset cannot give a single episode; does no other work."""
        where = dataset.origin
        need = self.shot + self.queries_per_class
        if self.way > dataset.num_classes:
            raise DatasetError(f"{where}: {self.way}-way episodes need {self.way} classes, found {dataset.num_classes}")
        largest = max(len(idx) for idx in dataset.class_indices)
        if need > largest:
            raise DatasetError(
                f"{where}: {self.shot}-shot episodes need {need} images per class ({self.shot} support + "
                f"{self.queries_per_class} query), the largest class has {largest}"
            )
        biggest = max((len(labels) for labels in self._eligible(dataset).values()), default=0)
        if biggest < self.way:
            pool = "a group of " if self.within_group else ""
            found = "the largest group has" if self.within_group else "found"
            raise DatasetError(
                f"{where}: {self.way}-way {self.shot}-shot episodes{' within one group' if self.within_group else ''} "
                f"need {pool}{self.way} classes with {need}+ images, {found} {biggest}"
            )

    def sample(self, dataset: ImageDataset) -> list[Episode]:
        self.check(dataset)
        rng = np.random.default_rng(self.seed)
        pools = [labels for labels in self._eligible(dataset).values() if len(labels) >= self.way]
        by_class = dataset.class_indices
        episodes = []
        for _ in range(self.episodes):
            pool = pools[rng.integers(len(pools))]
            classes = rng.choice(pool, size=self.way, replace=False)
            drawn = np.stack(
                [rng.choice(by_class[c], size=self.shot + self.queries_per_class, replace=False) for c in classes]
            )
            episodes.append(
                Episode(
                    classes=classes,
                    support=drawn[:, : self.shot],
                    queries=drawn[:, self.shot :].ravel(),
                    answers=np.repeat(np.arange(self.way), self.queries_per_class),
                )
            )
        return episodes


@dataclasses.dataclass(frozen=True)
class FewShotResult:
    """Accuracy over all queries of all episodes (Wilson interval; n = queries), with the
    per-episode class distances (q, way) and picks kept for pictures."""

    way: int
    shot: int
    within_group: bool
    accuracy: Estimate
    episodes: tuple
    distances: tuple
    picks: tuple

    def to_dict(self) -> dict:
        return {
            "way": self.way,
            "shot": self.shot,
            "within_group": self.within_group,
            "episodes": len(self.episodes),
            "queries": self.accuracy.n,
            "accuracy": self.accuracy.to_dict(),
        }


def score_episodes(
    episodes: list[Episode], embeddings: np.ndarray, distance: Distance = euclidean, *, within_group: bool = False
) -> FewShotResult:
    """Answer every query of every episode by its nearest class.

    Args:
        episodes: from `EpisodeSampler.sample`.
        embeddings: (len(dataset), d), row i the embedding of dataset image i (see
            `embed_dataset`; rows no episode uses may be anything).
        distance: matched rows -> distances, as the model measures them.
    """
    if not episodes:
        raise ValueError("no episodes to score")
    way, shot = episodes[0].support.shape
    all_distances, picks, correct = [], [], 0
    for episode in episodes:
        support = embeddings[episode.support.ravel()]
        per_support = pairwise_distances(embeddings[episode.queries], support, distance)
        per_class = per_support.reshape(len(episode.queries), way, shot).mean(axis=2)  # (q, way)
        pick = np.argmin(per_class, axis=1)
        correct += int(np.sum(pick == episode.answers))
        all_distances.append(per_class)
        picks.append(pick)
    total = sum(len(e.queries) for e in episodes)
    return FewShotResult(
        way=way,
        shot=shot,
        within_group=within_group,
        accuracy=proportion(correct, total),
        episodes=tuple(episodes),
        distances=tuple(all_distances),
        picks=tuple(picks),
    )
