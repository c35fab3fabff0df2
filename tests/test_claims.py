"""The claim rules' arithmetic, checked against plain loops over the distances."""

import itertools

import numpy as np
import pytest
from sklearn.svm import SVC

from siamese.claims import CLASSIFIER_NEGATIVES, claim_scores, classifier_scores, minimum_references, reference_spread
from siamese.errors import ConfigError


def _loops(to_references, among, rule):
    scores = []
    for row in to_references:
        if rule == "mean":
            scores.append(sum(row) / len(row))
        elif rule == "min":
            scores.append(min(row))
        else:
            pairs = [among[i][j] for i, j in itertools.combinations(range(len(among)), 2)]
            scores.append((sum(row) / len(row)) / (sum(pairs) / len(pairs)))
    return np.array(scores)


@pytest.mark.parametrize("rule", ["mean", "min", "normalized"])
@pytest.mark.parametrize("references", [2, 3, 5])
def test_each_rule_matches_a_loop(rule, references):
    rng = np.random.default_rng(references)
    to_references = rng.uniform(0, 2, size=(7, references))
    among = rng.uniform(0.1, 1, size=(references, references))
    among = (among + among.T) / 2
    np.fill_diagonal(among, 0)
    spread = reference_spread(among) if rule == "normalized" else None
    assert np.allclose(claim_scores(to_references, rule, spread=spread), _loops(to_references, among, rule))


def test_one_reference_serves_mean_and_min_but_not_normalized():
    assert claim_scores([[0.3]], "mean")[0] == claim_scores([[0.3]], "min")[0] == 0.3
    assert minimum_references("normalized") == 2 and minimum_references("min") == 1
    with pytest.raises(ConfigError, match="the normalized rule needs 2 or more references, got 1"):
        claim_scores([[0.3]], "normalized", spread=1.0)
    with pytest.raises(ConfigError, match="needs 2 or more references, got 1"):
        reference_spread(np.zeros((1, 1)))


@pytest.mark.parametrize(
    "rule, spread, message",
    [
        ("median", None, "claim rule must be one of \\['mean', 'min', 'normalized', 'svm'\\], got 'median'"),
        ("svm", None, "the svm rule scores embeddings, not distances"),
        ("normalized", None, "needs the references' spread"),
    ],
)
def test_bad_rules_are_config_errors(rule, spread, message):
    with pytest.raises(ConfigError, match=message):
        claim_scores([[0.1, 0.2]], rule, spread=spread)


def test_identical_references_reject_every_other_image():
    scores = claim_scores([[0.0, 0.0], [0.01, 0.02]], "normalized", spread=0.0)
    assert scores[0] == 0.0 and scores[1] > 1e9


def test_the_svm_rule_tells_the_references_side_from_the_others():
    """Minus an RBF SVM's decision value, fitted on the references against the others: an image
    among the references scores below 0 (accepted at the default threshold), one among the
    others above it, and the score is the fitted classifier's, not an approximation."""
    rng = np.random.default_rng(0)
    references, negatives = rng.normal(2.0, 0.3, size=(5, 8)), rng.normal(-2.0, 0.3, size=(40, 8))
    questioned = np.stack([rng.normal(2.0, 0.3, 8), rng.normal(-2.0, 0.3, 8)])
    scores = classifier_scores(references, negatives, questioned)
    assert scores[0] < 0 < scores[1]
    svm = SVC(gamma="scale", class_weight="balanced").fit(np.r_[references, negatives], [1] * 5 + [0] * 40)
    assert np.allclose(scores, -svm.decision_function(questioned))


def test_the_svm_rule_draws_its_negatives_with_the_seed_and_needs_some():
    rng = np.random.default_rng(1)
    references, negatives = rng.normal(size=(3, 4)), rng.normal(size=(CLASSIFIER_NEGATIVES + 500, 4))
    questioned = rng.normal(size=(6, 4))
    first, again = (classifier_scores(references, negatives, questioned, seed=0) for _ in range(2))
    other = classifier_scores(references, negatives, questioned, seed=1)
    assert np.array_equal(first, again) and not np.allclose(first, other)
    with pytest.raises(ConfigError, match="the svm rule needs embeddings of other identities"):
        classifier_scores(references, np.zeros((0, 4)), questioned)
