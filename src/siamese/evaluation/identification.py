"""Open-set identification, as biometric evaluations report it.

One image of each enrolled class goes into a gallery; every other image is a query. A
share of the classes is never enrolled: their images must be answered "unknown". A query
is answered with its nearest enrolled class when that distance is at or below the
threshold, "unknown" otherwise. The figures (ISO/IEC 19795-1 terms):

    rank-1 rate  known queries whose nearest enrolled class is their own (no threshold)
    FNIR         known queries not identified as their own class at the threshold
                 (the nearest is another class, or farther than the threshold)
    FPIR         queries of never-enrolled classes answered with a name at the threshold

The search here is exact (numpy, the model's distance), so the figures are the model's
own, not those of an approximate index.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from siamese.data.datasets import ImageDataset
from siamese.errors import ConfigError, DatasetError
from siamese.evaluation.embedding import Distance, pairwise_distances
from siamese.evaluation.intervals import Estimate, proportion


@dataclasses.dataclass(frozen=True)
class IdentificationTrial:
    """Dataset indices: `enrolled` (one per enrolled class, label `enrolled_labels`), `known`
    queries (of enrolled classes) and `unknown` queries (of classes never enrolled)."""

    enrolled: np.ndarray
    known: np.ndarray
    unknown: np.ndarray


def sample_trial(dataset: ImageDataset, *, unknown_share: float = 0.2, seed: int = 0) -> IdentificationTrial:
    """Choose the never-enrolled classes and the one enrolled image of each other class, seeded."""
    if not 0.0 <= unknown_share < 1.0:
        raise ConfigError(f"unknown_share must be in [0, 1), got {unknown_share}")
    rng = np.random.default_rng(seed)
    classes = rng.permutation(dataset.num_classes)
    unknown_classes = classes[: int(round(unknown_share * len(classes)))]
    known_classes = [c for c in classes[len(unknown_classes) :] if len(dataset.class_indices[c]) >= 2]
    if len(known_classes) < 2:
        raise DatasetError(f"{dataset.origin}: identification needs 2 or more enrolled classes with 2 or more images")
    enrolled = np.array([rng.choice(dataset.class_indices[c]) for c in known_classes], dtype=np.int64)
    known = np.setdiff1d(np.concatenate([dataset.class_indices[c] for c in known_classes]), enrolled)
    unknown = (
        np.concatenate([dataset.class_indices[c] for c in unknown_classes])
        if len(unknown_classes)
        else np.zeros(0, np.int64)
    )
    return IdentificationTrial(enrolled=np.sort(enrolled), known=known, unknown=np.sort(unknown).astype(np.int64))


@dataclasses.dataclass(frozen=True)
class IdentificationResult:
    """Rank-1 rate, and FNIR / FPIR at the threshold (None without one), with Wilson intervals."""

    enrolled: int
    known_queries: int
    unknown_queries: int
    threshold: float | None
    rank1: Estimate
    fnir: Estimate | None
    fpir: Estimate | None

    def to_dict(self) -> dict:
        def plain(value):
            return value.to_dict() if isinstance(value, Estimate) else value

        return {
            "enrolled_classes": self.enrolled,
            "known_queries": self.known_queries,
            "unknown_queries": self.unknown_queries,
            "threshold": self.threshold,
            "rank1": plain(self.rank1),
            "fnir": plain(self.fnir),
            "fpir": plain(self.fpir),
        }


def _nearest(
    queries: np.ndarray, gallery: np.ndarray, distance: Distance, block: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """(row of the nearest gallery embedding, its distance) for each query, in blocks of queries."""
    rows, nearest = [], []
    for start in range(0, len(queries), block):
        d = pairwise_distances(queries[start : start + block], gallery, distance)
        rows.append(np.argmin(d, axis=1))
        nearest.append(d[np.arange(len(d)), rows[-1]])
    return np.concatenate(rows), np.concatenate(nearest)


def score_identification(
    trial: IdentificationTrial,
    embeddings: np.ndarray,
    labels: np.ndarray,
    distance: Distance,
    *,
    threshold: float | None = None,
) -> IdentificationResult:
    """Answer every query of `trial` from `embeddings` (rows = dataset indices) and score the answers."""
    gallery, gallery_labels = embeddings[trial.enrolled], labels[trial.enrolled]
    row, nearest = _nearest(embeddings[trial.known], gallery, distance)
    right = gallery_labels[row] == labels[trial.known]
    fnir = fpir = None
    if threshold is not None:
        fnir = proportion(int(np.sum(~(right & (nearest <= threshold)))), len(right))
        if len(trial.unknown):
            _, stranger = _nearest(embeddings[trial.unknown], gallery, distance)
            fpir = proportion(int(np.sum(stranger <= threshold)), len(stranger))
    return IdentificationResult(
        enrolled=len(trial.enrolled),
        known_queries=len(trial.known),
        unknown_queries=len(trial.unknown),
        threshold=threshold,
        rank1=proportion(int(right.sum()), len(right)),
        fnir=fnir,
        fpir=fpir,
    )
