"""Scoring a claim: a questioned image against the K references of the identity it claims to be.

Writer-dependent verification (signatures) and face log-in ("I am NAME") ask one question:
is the questioned image close enough to NAME's enrolled references? With distances
d_i = d(q, ref_i), i = 1..K, a rule turns them into one score, compared with a threshold
(accept when score <= threshold):

    mean         (1/K) sum_i d_i                    the model's pair threshold applies
    min          min_i d_i                          the model's pair threshold applies
    normalized   mean_i d_i / mean_{i<j} d(ref_i, ref_j)   needs K >= 2; its own threshold

The normalized score divides by how far the references lie from each other, so a writer who
signs loosely is allowed more spread than one who signs the same way every time: 1.0 means
the questioned image sits as far from the references as they sit from each other. It is a
ratio, not a z-score: a standard deviation needs three references or more and explodes when
they agree closely, the mean spread is defined from two. Its threshold is no distance: set
it on validation writers (`siamese evaluate` reports each rule's EER threshold for K
references against skilled forgeries). The references' spread is floored at `SPREAD_FLOOR`
(identical references: any other image is far beyond them).

Numpy only, beside the chain: the gallery scores a claim with it, and the evaluation of
writer-dependent verification measures the same rules with it.
"""

from __future__ import annotations

import numpy as np

from siamese.errors import ConfigError
from siamese.registry import CLAIM_RULES

SPREAD_FLOOR = 1e-12


def minimum_references(rule: str) -> int:
    """How many references `rule` needs: 2 for normalized (a spread), else 1."""
    return 2 if CLAIM_RULES.check(rule) == "normalized" else 1


def reference_spread(among: np.ndarray) -> float:
    """The mean distance between distinct references, from their (K, K) distance matrix (K >= 2)."""
    among = np.asarray(among, np.float64)
    upper = among[np.triu_indices(len(among), k=1)]
    if not len(upper):
        raise ConfigError(f"the references' spread needs 2 or more references, got {len(among)}")
    return float(upper.mean())


def claim_scores(to_references: np.ndarray, rule: str, *, spread: float | None = None) -> np.ndarray:
    """Scores (q,) of questioned images from their distances (q, K) to K references.

    Args:
        to_references: d(q, ref_i), one row per questioned image.
        rule: "mean", "min" or "normalized" (`siamese.registry.CLAIM_RULES`).
        spread: for "normalized", `reference_spread` of the same references.
    """
    to_references = np.atleast_2d(np.asarray(to_references, np.float64))
    references = to_references.shape[1]
    if references < minimum_references(rule):
        raise ConfigError(f"the {rule} rule needs {minimum_references(rule)} or more references, got {references}")
    if rule == "min":
        return to_references.min(axis=1)
    mean = to_references.mean(axis=1)
    if rule == "mean":
        return mean
    if spread is None:
        raise ConfigError("the normalized rule needs the references' spread (reference_spread)")
    return mean / max(float(spread), SPREAD_FLOOR)
