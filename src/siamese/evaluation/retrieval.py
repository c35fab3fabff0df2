"""Retrieval on unseen classes: does an image find its own class among all the others?

Leave-one-out: each image queries all the other images, ranked by distance. Precision@1
is the share of queries whose nearest image is of their class; average precision (AP)
averages the precision at the rank of each image of the query's class, and mean average
precision (mAP) averages AP over queries. A query whose class has no other image has
nothing to find and is skipped (and counted). Ties keep dataset order.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from siamese.data.datasets import ImageDataset
from siamese.errors import DatasetError
from siamese.evaluation.embedding import Distance, euclidean, pairwise_distances
from siamese.evaluation.intervals import Estimate, bootstrap_estimate, proportion


@dataclasses.dataclass(frozen=True)
class RetrievalResult:
    """P@1 (Wilson interval) and mAP (bootstrap over queries), n = queries scored."""

    images: int
    classes: int
    skipped: int
    precision_at_1: Estimate
    mean_average_precision: Estimate

    def to_dict(self) -> dict:
        return {
            "images": self.images,
            "classes": self.classes,
            "skipped_queries": self.skipped,
            "precision_at_1": self.precision_at_1.to_dict(),
            "mean_average_precision": self.mean_average_precision.to_dict(),
        }


def average_precisions(embeddings: np.ndarray, labels: np.ndarray, distance: Distance = euclidean, *, block: int = 256):
    """(hits_at_1, ap) per query, both (n,); NaN for queries with no other image of their class."""
    embeddings, labels = np.asarray(embeddings), np.asarray(labels)
    n = len(labels)
    hits, aps = np.full(n, np.nan), np.full(n, np.nan)
    ranks = np.arange(1, n)
    for start in range(0, n, block):
        rows = np.arange(start, min(n, start + block))
        d = pairwise_distances(embeddings[rows], embeddings, distance)
        d[np.arange(len(rows)), rows] = np.inf  # the query itself goes last, then is dropped
        order = np.argsort(d, axis=1, kind="stable")[:, :-1]
        relevant = labels[order] == labels[rows][:, None]  # (b, n - 1)
        found = relevant.sum(axis=1)
        precision = np.cumsum(relevant, axis=1) / ranks
        with np.errstate(invalid="ignore", divide="ignore"):
            ap = np.sum(precision * relevant, axis=1) / found
        keep = found > 0
        hits[rows[keep]] = relevant[keep, 0]
        aps[rows[keep]] = ap[keep]
    return hits, aps


def retrieval_metrics(
    embeddings: np.ndarray, labels: np.ndarray, distance: Distance = euclidean, *, resamples: int = 1000, seed: int = 0
) -> RetrievalResult:
    """Leave-one-out P@1 and mAP of `embeddings` (n, d) with class `labels` (n,)."""
    labels = np.asarray(labels)
    if len(labels) < 2 or len(labels) != len(embeddings):
        raise ValueError(
            f"retrieval needs 2 or more embeddings with one label each, got {len(embeddings)} and {len(labels)}"
        )
    hits, aps = average_precisions(embeddings, labels, distance)
    scored = ~np.isnan(aps)
    if not scored.any():
        raise DatasetError("retrieval needs a class with 2 or more images")
    hits, aps = hits[scored], aps[scored]
    rng = np.random.default_rng(seed)
    means = aps[rng.integers(len(aps), size=(resamples, len(aps)))].mean(axis=1)
    return RetrievalResult(
        images=len(labels),
        classes=len(np.unique(labels)),
        skipped=int(np.sum(~scored)),
        precision_at_1=proportion(int(hits.sum()), len(hits)),
        mean_average_precision=bootstrap_estimate(float(aps.mean()), means, len(aps)),
    )


def retrieval_subset(dataset: ImageDataset, max_images: int = 2000, *, seed: int = 0) -> np.ndarray:
    """Indices of whole classes, drawn with the seed, holding at most `max_images` images
    (at least one class): leave-one-out costs n^2 distances, so large sets are sampled."""
    rng = np.random.default_rng(seed)
    chosen, total = [], 0
    for label in rng.permutation(dataset.num_classes):
        size = len(dataset.class_indices[label])
        if chosen and total + size > max_images:
            continue
        chosen.append(dataset.class_indices[label])
        total += size
    return np.sort(np.concatenate(chosen))
