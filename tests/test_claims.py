"""The claim rules' arithmetic, checked against plain loops over the distances."""

import itertools

import numpy as np
import pytest

from siamese.claims import claim_scores, minimum_references, reference_spread
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
        ("median", None, "claim rule must be one of \\['mean', 'min', 'normalized'\\], got 'median'"),
        ("normalized", None, "needs the references' spread"),
    ],
)
def test_bad_rules_are_config_errors(rule, spread, message):
    with pytest.raises(ConfigError, match=message):
        claim_scores([[0.1, 0.2]], rule, spread=spread)


def test_identical_references_reject_every_other_image():
    scores = claim_scores([[0.0, 0.0], [0.01, 0.02]], "normalized", spread=0.0)
    assert scores[0] == 0.0 and scores[1] > 1e9
