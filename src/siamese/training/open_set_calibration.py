"""Fitting the open-set point a gallery identifies with (`siamese.open_set`), scikit-learn style.

The data: a folder of people, one photo of each enrolled (`enrol_one_each`), every photo a
query. Each query stands for a stranger to everyone but its own person: its distances to the
n other people's enrolled photos are its impostor distances. A gallery of N people is drawn
for each query, `DRAWS` times: N of those n people, without replacement (exactly: the ranks of
the nearest two drawn, `_nearest_rank`), so a face that lies near many others stays so
(averaging the rates first would hide it). As a stranger it meets d1 and d2, the nearest two
drawn; enrolled, its own distance g meets the nearest two of N - 1 others. For each size and
each weight w of the runner-up rule (w = 0: the nearest alone) the threshold is the
`target_fpir` quantile of the strangers' d1 - w * d2, and the weight kept is the one that
names the most enrolled queries right (their own nearest, g - w * m1 under the threshold).

Larger galleries than the n people cannot be drawn: beyond n the thresholds (at the last
size's weight) go on along their slope in log size over the last decade fitted, or are held
where they grew; the point records where the extrapolation begins (`fitted`).
"""

from __future__ import annotations

import numpy as np

from siamese.errors import ConfigError
from siamese.open_set import OpenSetPoint

GALLERY_SIZES = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 1_000_000)
WEIGHTS = tuple(np.round(np.arange(0.0, 1.01, 0.1), 2))
DRAWS = 40  # galleries drawn for each query at each size
RESAMPLES = 40  # resamples of the people for the thresholds' confidence


class OpenSetCalibrator:
    """Fit an open-set point: the rule (nearest, or runner-up with its weight) and thresholds
    that name `target_fpir` of strangers at each gallery size with the fewest enrolled missed.

    Args:
        target_fpir: the share of strangers named, at every size.
        sizes: the gallery sizes (enrolled embeddings); those above the people fitted on are extrapolated.
        rule: "best" (at each size the runner-up rule's weight that misses fewest enrolled, 0 included),
            "nearest" or "runner-up".
        confidence: each threshold names at most `target_fpir` of strangers with this confidence
            over resamples of the people as strangers (its lower percentile over them), not just
            of these people: new strangers are not the people fitted on. 0: of these people.
        seed: seed of the drawn galleries.
    """

    def __init__(
        self,
        target_fpir: float = 0.01,
        *,
        sizes=GALLERY_SIZES,
        rule: str = "best",
        confidence: float = 0.9,
        seed: int = 0,
    ):
        if not 0.0 < target_fpir < 1.0:
            raise ConfigError(f"target FPIR must be between 0 and 1, got {target_fpir}")
        if rule not in ("best", "nearest", "runner-up"):
            raise ConfigError(f"rule must be best, nearest or runner-up, got {rule!r}")
        if not 0.0 <= confidence < 1.0:
            raise ConfigError(f"confidence must be at least 0 and below 1, got {confidence}")
        self.target_fpir, self.sizes, self.rule, self.seed = target_fpir, tuple(sizes), rule, seed
        self.confidence = confidence

    def fit(self, distances, query_labels, enrolled_labels) -> OpenSetCalibrator:
        """`distances` (queries, enrolled): of each query to each enrolled embedding (one per
        person). A query at distance 0 from its own enrolled embedding is that photo: a stranger only."""
        distances = np.asarray(distances, float)
        own = np.asarray(query_labels)[:, None] == np.asarray(enrolled_labels)[None, :]
        self.fitted_ = int((~own).sum(axis=1).min()) if distances.shape == own.shape else 0
        if distances.shape != own.shape or len(distances) < 10 or self.fitted_ < 5:
            raise ConfigError("an open-set fit needs 10 or more queries, each with 5 or more other people enrolled")
        self.impostors_ = np.sort(np.where(own, np.inf, distances), axis=1)[:, : self.fitted_]
        genuine = np.min(np.where(own, distances, np.inf), axis=1)
        self.genuine_ = np.flatnonzero(np.isfinite(genuine) & (genuine > 0))
        self.labels_ = np.asarray(query_labels)
        self.genuine_distances_ = genuine[self.genuine_]
        rng = np.random.default_rng(self.seed)
        fitted = sorted({size for size in self.sizes if size < self.fitted_} | {self.fitted_})
        thresholds, misses = (np.array(rows) for rows in zip(*(self._fit_size(size, rng) for size in fitted)))
        weights = self._choose(misses)
        every = np.arange(len(fitted))
        self.fnir_ = dict(zip(fitted, misses[every, weights].tolist()))
        self.nearest_fnir_ = dict(zip(fitted, misses[:, 0].tolist()))
        extra = [size for size in self.sizes if size > self.fitted_]
        chosen = [*thresholds[every, weights], *_extrapolate(fitted, thresholds[:, weights[-1]], extra)]
        nearest = np.minimum.accumulate([*thresholds[:, 0], *_extrapolate(fitted, thresholds[:, 0], extra)])
        runner_up = bool(weights.any())
        self.point_ = OpenSetPoint(
            self.target_fpir,
            tuple(fitted + extra),
            tuple(float(t) for t in (chosen if runner_up else nearest)),
            weights=tuple(WEIGHTS[w] for w in [*weights, *[weights[-1]] * len(extra)]) if runner_up else None,
            nearest=tuple(float(t) for t in nearest) if runner_up else None,
            people=len(set(np.asarray(enrolled_labels).tolist())),
            fitted=self.fitted_,
        )
        return self

    def _choose(self, misses: np.ndarray) -> np.ndarray:
        """Each size's weight (index into `WEIGHTS`): the fewest enrolled missed (0: the nearest rule)."""
        if self.rule == "nearest":
            return np.zeros(len(misses), int)
        if self.rule == "runner-up":
            return np.argmin(misses[:, 1:], axis=1) + 1
        return np.argmin(misses, axis=1)

    def _fit_size(self, size: int, rng) -> tuple:
        """(threshold per weight, FNIR per weight) at `size`, from galleries drawn for every query."""
        weights = np.asarray(WEIGHTS)[:, None]
        d1, d2 = self._nearest_two(np.arange(len(self.impostors_)), size, rng)
        thresholds = self._quantile(d1[None] - weights * d2[None], rng)
        g = np.repeat(self.genuine_distances_, DRAWS)
        m1 = self._nearest_two(self.genuine_, size - 1, rng)[0] if size > 1 else np.full(len(g), np.inf)
        runner_up = np.where(np.isfinite(m1), m1, 0.0)  # alone in the gallery: the nearest decides
        named = (g[None] < m1[None]) & (g[None] - weights * runner_up[None] <= thresholds[:, None])
        return thresholds, 1.0 - named.mean(axis=1)

    def _quantile(self, scores: np.ndarray, rng) -> np.ndarray:
        """Per weight (row of `scores`, strangers' draws in query order): the `target_fpir` quantile,
        or with `confidence`, its lower `1 - confidence` percentile over resamples of the people."""
        if not self.confidence:
            return np.quantile(scores, self.target_fpir, axis=1)
        people = np.unique(self.labels_)
        rows = [np.flatnonzero(self.labels_ == person) for person in people]
        found = []
        for _ in range(RESAMPLES):
            chosen = np.concatenate([rows[i] for i in rng.integers(0, len(people), len(people))])
            columns = (chosen[:, None] * DRAWS + np.arange(DRAWS)[None, :]).ravel()
            found.append(np.quantile(scores[:, columns], self.target_fpir, axis=1))
        return np.quantile(np.array(found), 1.0 - self.confidence, axis=0)

    def _nearest_two(self, rows: np.ndarray, size: int, rng) -> tuple:
        """The nearest two impostor distances of `size` people drawn without replacement for each of
        `rows`, `DRAWS` galleries each, flattened; with one, the second is 0 (the nearest decides)."""
        rows, count = np.repeat(rows, DRAWS), self.fitted_
        first = _nearest_rank(np.full(len(rows), count), size, rng.random(len(rows)))
        if size < 2:
            return self.impostors_[rows, first], np.zeros(len(rows))
        second = first + 1 + _nearest_rank(count - first - 1, size - 1, rng.random(len(rows)))
        return self.impostors_[rows, first], self.impostors_[rows, second]


def _nearest_rank(counts: np.ndarray, drawn: int, shares: np.ndarray) -> np.ndarray:
    """The rank (0: the nearest) of the nearest of `drawn` items drawn without replacement from
    `counts` ranked ones, at the quantile 1 - `shares` of its law: P(rank >= r) is the product
    over i < r of 1 - drawn / (count - i), read from cumulative sums of its logarithms."""
    if drawn < 1:
        return np.full(len(counts), np.iinfo(np.int64).max // 2)
    top = int(counts.max())
    m = np.arange(drawn, top + 1)  # items left: from `drawn` (all must be taken) up
    logs = np.concatenate([[0.0], np.cumsum(np.log1p(-drawn / m[1:]))])  # E[m]: sum over drawn < j <= m
    limit = logs[counts - drawn] - np.log(shares)  # rank >= r where E[count - r] < limit
    first_below = np.searchsorted(-logs, -limit, side="right")  # smallest m - drawn with E[m] < limit
    return np.maximum(counts - np.maximum(first_below + drawn, drawn), 0)


def _extrapolate(sizes: list, thresholds, extra: list) -> list:
    """Thresholds at `extra` sizes: on from the last along the slope in log size of those fitted over
    the last decade, or held at the last where they grew."""
    if not extra:
        return []
    last = [i for i, size in enumerate(sizes) if size >= sizes[-1] / 10]
    if len(last) < 2:
        raise ConfigError(f"too few people ({sizes[-1]}) to carry the thresholds to a gallery of {extra[-1]:,}")
    slope = np.polyfit(np.log(np.asarray(sizes)[last]), np.asarray(thresholds)[last], 1)[0]
    return [float(thresholds[-1] + min(slope, 0.0) * np.log(size / sizes[-1])) for size in extra]


def enrol_one_each(labels, *, seed: int = 0) -> np.ndarray:
    """Indices of one image of each label (people, sorted), drawn with `seed`: the enrolled
    photos of an open-set calibration, every image a query."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    return np.array([rng.choice(np.flatnonzero(labels == label)) for label in np.unique(labels)], dtype=np.int64)
