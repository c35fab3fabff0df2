"""Scoring a claim: a questioned image against the K references of the identity it claims to be.

Writer-dependent verification (signatures) and face log-in ("I am NAME") ask one question:
is the questioned image close enough to NAME's enrolled references? With distances
d_i = d(q, ref_i), i = 1..K, a rule turns them into one score, compared with a threshold
(accept when score <= threshold):

    mean         (1/K) sum_i d_i                    the model's pair threshold applies
    min          min_i d_i                          the model's pair threshold applies
    normalized   mean_i d_i / mean_{i<j} d(ref_i, ref_j)   needs K >= 2; its own threshold
    svm          minus the decision value of a classifier      needs other identities; its own
                 of the references against other identities    threshold (default 0)

The normalized score divides by how far the references lie from each other, so a writer who
signs loosely is allowed more spread than one who signs the same way every time: 1.0 means
the questioned image sits as far from the references as they sit from each other. It is a
ratio, not a z-score: a standard deviation needs three references or more and explodes when
they agree closely, the mean spread is defined from two. Its threshold is no distance: set
it on validation writers (`siamese evaluate` reports each rule's EER threshold for K
references against skilled forgeries). The references' spread is floored at `SPREAD_FLOOR`
(identical references: any other image is far beyond them).

The svm rule is the writer-dependent classifier of the signature field (Hafemann et al.
2017, on SigNet features): a support-vector machine (RBF kernel, classes weighted to balance)
fitted on the claimed identity's references against other identities' embeddings, the
questioned image scored by how far it lies on the references' side. It learns which
directions of the embedding tell this writer from others, which one distance cannot: on the
SigComp 2011 Dutch writers with 5 references its EER against skilled forgeries was lower
than the mean rule's (docs/benchmarks.md). Its score 0 is the classifier's own boundary;
a stricter threshold comes from validation writers, as the normalized rule's does.

Numpy only, beside the chain: the gallery scores a claim with it, and the evaluation of
writer-dependent verification measures the same rules with it.
"""

from __future__ import annotations

import numpy as np

from siamese.errors import ConfigError
from siamese.registry import CLAIM_RULES

SPREAD_FLOOR = 1e-12
CLASSIFIER_NEGATIVES = 2000  # other identities' embeddings a claim's classifier is fitted on, at most
DISTANCE_RULES = ("mean", "min", "normalized")  # scored from distances; svm from embeddings


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
        rule: "mean", "min" or "normalized" (`DISTANCE_RULES`; svm scores embeddings:
            `classifier_scores`).
        spread: for "normalized", `reference_spread` of the same references.
    """
    if CLAIM_RULES.check(rule) not in DISTANCE_RULES:
        raise ConfigError(f"the {rule} rule scores embeddings, not distances: classifier_scores")
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


def classifier_scores(references: np.ndarray, negatives: np.ndarray, questioned: np.ndarray, *, seed: int = 0):
    """Scores (q,) of questioned embeddings by the svm rule: minus the decision value of an RBF
    support-vector machine fitted on `references` (K, D) against `negatives` (other
    identities' embeddings; at most `CLASSIFIER_NEGATIVES` of them, drawn with `seed`)."""
    from sklearn.svm import SVC

    references, negatives = (np.atleast_2d(np.asarray(a, np.float64)) for a in (references, negatives))
    if not negatives.size:
        raise ConfigError("the svm rule needs embeddings of other identities to tell the references from; got none")
    if len(negatives) > CLASSIFIER_NEGATIVES:
        keep = np.random.default_rng(seed).choice(len(negatives), CLASSIFIER_NEGATIVES, replace=False)
        negatives = negatives[np.sort(keep)]
    labels = np.r_[np.ones(len(references)), np.zeros(len(negatives))]
    svm = SVC(kernel="rbf", C=1.0, gamma="scale", class_weight="balanced")
    svm.fit(np.concatenate([references, negatives]), labels)
    return -svm.decision_function(np.atleast_2d(np.asarray(questioned, np.float64)))
