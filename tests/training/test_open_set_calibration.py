"""The open-set point's maths against brute force: strangers drawn from a known population,
each with its own impostor distances, and galleries of N drawn for each of them."""

import json

import numpy as np
import pytest
from scipy.special import ndtri

from siamese.errors import ConfigError, ModelFileError
from siamese.open_set import OpenSetPoint, claim_point, false_positive_identification_rate, operating_point
from siamese.training import OpenSetCalibrator

RULES = ("nearest", "runner-up")


def _strangers(rng, count):
    """Each stranger's mean and spread of distances to other people: some lie nearer to everyone."""
    return rng.normal(1.0, 0.05, count), rng.uniform(0.08, 0.12, count)


def _nearest_two(rng, means, spreads, size):
    """The nearest two of `size` impostor distances of each stranger, drawn: all of them up to
    1,000; beyond, the smallest two of `size` uniforms through the normal's quantile."""
    if size <= 1_000:
        drawn = np.sort(means[:, None] + spreads[:, None] * rng.standard_normal((len(means), size)), axis=1)
        return drawn[:, 0], drawn[:, 1] if size > 1 else np.zeros(len(means))
    first = -np.expm1(np.log1p(-rng.random(len(means))) / size)
    second = first + (1 - first) * -np.expm1(np.log1p(-rng.random(len(means))) / (size - 1))
    return means + spreads * ndtri(first), means + spreads * ndtri(second)


@pytest.fixture(scope="module")
def fitted():
    """Both rules fitted on 400 people enrolled, 800 queries (two of each person, genuine distance about 0.6)."""
    rng = np.random.default_rng(0)
    means, spreads = _strangers(rng, 800)
    distances = means[:, None] + spreads[:, None] * rng.standard_normal((800, 400))
    labels = np.arange(800) // 2
    distances[np.arange(800), labels] = np.abs(rng.normal(0.6, 0.1, 800))
    fits = {
        rule: OpenSetCalibrator(0.01, rule=rule, confidence=0).fit(distances, labels, np.arange(400)) for rule in RULES
    }
    fits["confident"] = OpenSetCalibrator(0.01, rule="nearest").fit(distances, labels, np.arange(400))
    return fits


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("size", [1, 10, 100, 399])
def test_the_fitted_rule_names_the_target_share_of_new_strangers(fitted, rule, size):
    point = fitted[rule].point_
    assert point.rule == rule and point.fitted == 399
    rng = np.random.default_rng(size)
    d1, d2 = _nearest_two(rng, *_strangers(rng, 4_000), size)
    named = np.mean([first <= point.threshold(size, second) for first, second in zip(d1, d2)])
    assert named == pytest.approx(0.01, abs=0.006), named  # 4,000 strangers: the binomial's 3 sigma is 0.0047


@pytest.mark.parametrize("size", [1_000, 100_000])
def test_beyond_the_people_fitted_the_nearest_rule_is_extrapolated_and_stays_near_the_target(fitted, size):
    point = fitted["nearest"].point_
    rng = np.random.default_rng(size)
    d1, _ = _nearest_two(rng, *_strangers(rng, 4_000), size)
    assert point.threshold(size) < point.threshold(399)
    assert np.mean(d1 <= point.threshold(size)) < 0.02
    assert "extrapolated beyond the 399 fitted" in point.reason(size)


@pytest.mark.parametrize("size", [1_000, 100_000])
def test_beyond_the_people_fitted_the_runner_up_rule_names_no_more_than_the_nearest_rule(fitted, size):
    point = fitted["runner-up"].point_
    rng = np.random.default_rng(size)
    d1, d2 = _nearest_two(rng, *_strangers(rng, 4_000), size)
    named = np.array([first <= point.threshold(size, second) for first, second in zip(d1, d2)])
    assert np.all(named <= (d1 <= point.threshold(size)))  # never above the nearest rule's bound
    assert named.mean() < 0.02
    assert "at most the nearest rule's" in point.reason(size, float(d2[0]))
    inside = OpenSetPoint(0.01, (10, 1_000), (0.1, 0.2), weights=(0.5, 0.7), nearest=(0.3, 0.2), fitted=1_000)
    assert inside.threshold(100, 0.5) == pytest.approx(0.15 + 0.6 * 0.5)  # within the fitted sizes: uncapped


def test_more_enrolled_means_a_stricter_nearest_threshold_and_the_formula(fitted):
    assert np.all(np.diff(fitted["nearest"].point_.thresholds) <= 0)
    # with 90% confidence over the choice of people (the default): stricter at every size fitted
    confident, exact = (fitted[name].point_ for name in ("confident", "nearest"))
    assert all(confident.threshold(size) < exact.threshold(size) for size in (1, 10, 100, 399))
    # a single stranger: FPIR is 1 - (1 - p)^N; strangers who differ: the mean of theirs
    assert false_positive_identification_rate(np.array([1e-4]), 1_000) == pytest.approx(1 - (1 - 1e-4) ** 1_000)
    spread = false_positive_identification_rate(np.array([0.0, 2e-3]), 1_000)
    assert spread == pytest.approx((1 - (1 - 2e-3) ** 1_000) / 2) and spread < 1 - (1 - 1e-3) ** 1_000


def test_the_point_interpolates_in_log_size_and_says_why():
    point = OpenSetPoint(0.01, (10, 1_000), (0.6, 0.4), people=477)
    assert point.threshold(100) == pytest.approx(0.5)
    assert point.threshold(1) == 0.6 and point.threshold(10**6) == 0.4
    assert point.reason(382) == "open-set nearest rule for 382 enrolled at FPIR 1.00%, fitted on 477 people"
    assert "beyond the 1,000 fitted" in point.reason(5_000)
    runner_up = OpenSetPoint(0.01, (10, 1_000), (0.1, 0.2), weights=(0.5, 0.7), nearest=(0.6, 0.4))
    assert runner_up.threshold(100, 0.5) == pytest.approx(0.15 + 0.6 * 0.5)
    assert runner_up.threshold(100) == pytest.approx(0.5)  # nobody else enrolled: the nearest alone
    assert "nearest at or below 0.1500 + 0.60 x the runner-up's 0.5000" in runner_up.reason(100, 0.5)
    assert OpenSetPoint.from_dict(runner_up.to_dict()) == runner_up
    assert OpenSetPoint.from_dict(point.to_dict()) == point
    chosen = operating_point(100, open_set=point.to_dict(), pair_threshold=0.7)
    assert chosen.threshold == pytest.approx(0.5) and chosen.reason.startswith("open-set nearest rule for 100")
    assert operating_point(100, open_set=None, pair_threshold=0.7).reason.startswith("the model's pair threshold")
    assert operating_point(100, open_set=point.to_dict(), pair_threshold=0.7, given=0.2).threshold == 0.2
    assert operating_point(100, open_set=None, pair_threshold=None) is None


def test_a_claim_is_decided_at_the_open_set_point_for_its_references():
    runner_up = OpenSetPoint(0.005, (1, 10), (0.6, 0.3), weights=(0.0, 0.5), nearest=(0.6, 0.5))
    stored = runner_up.to_dict()
    three = claim_point(3, "mean", open_set=stored, pair_threshold=0.64)
    assert three.threshold == pytest.approx(runner_up.threshold(3))  # the nearest rule's, for 3 references
    assert three.threshold < 0.6
    assert three.reason == "open-set point read for a claim against 3 reference(s): at most 0.50% of impostors accepted"
    assert claim_point(1, "min", open_set=stored, pair_threshold=0.64).threshold == pytest.approx(0.6)
    assert claim_point(3, "mean", open_set=None, pair_threshold=0.64).threshold == 0.64
    assert claim_point(3, "mean", open_set=stored, pair_threshold=0.64, given=0.7).reason == "threshold given"
    assert claim_point(3, "svm", open_set=stored, pair_threshold=0.64).threshold == 0.0
    assert claim_point(3, "normalized", open_set=stored, pair_threshold=0.64) is None
    assert claim_point(3, "mean", open_set=None, pair_threshold=None) is None


def test_bad_values_are_refused_in_one_line():
    with pytest.raises(ConfigError, match="target FPIR must be between 0 and 1, got 1.5"):
        OpenSetCalibrator(1.5)
    with pytest.raises(ConfigError, match="10 or more queries, each with 5 or more other people enrolled"):
        OpenSetCalibrator().fit(np.zeros((12, 3)), np.arange(12) % 3, [0, 1, 2])
    with pytest.raises(ModelFileError, match=r"m.keras: unreadable open-set point \('sizes'\)"):
        OpenSetPoint.from_dict({"target_fpir": 0.01, "thresholds": [0.5]}, name="m.keras")
    with pytest.raises(ModelFileError, match="sizes must be increasing"):
        OpenSetPoint.from_dict({"target_fpir": 0.01, "sizes": [10, 5], "thresholds": [0.5, 0.4]})
    with pytest.raises(ModelFileError, match="the runner-up rule needs its weights"):
        OpenSetPoint.from_dict({"rule": "runner-up", "target_fpir": 0.01, "sizes": [10], "thresholds": [0.5]})


def test_the_nearest_two_of_a_gallery_drawn_without_replacement_are_exact():
    from siamese.training.open_set_calibration import _nearest_rank

    rng = np.random.default_rng(0)
    count, drawn, draws = 20, 5, 100_000
    first = _nearest_rank(np.full(draws, count), drawn, rng.random(draws))
    second = first + 1 + _nearest_rank(count - first - 1, drawn - 1, rng.random(draws))
    brute = np.sort(np.argsort(rng.random((draws, count)), axis=1)[:, :drawn], axis=1)[:, :2]  # N of 20, drawn
    for found, expected in ((first, brute[:, 0]), (second, brute[:, 1])):
        assert np.abs(np.bincount(found, minlength=count) - np.bincount(expected, minlength=count)).max() / draws < 0.01
    assert np.all(_nearest_rank(np.full(5, count), count, rng.random(5)) == 0)  # all drawn: the nearest is there


def test_the_point_travels_in_an_exports_metadata():
    from siamese.inference.metadata import ExportMetadata

    point = OpenSetPoint(0.01, (10, 100), (0.3, 0.2), weights=(0.5, 0.6), nearest=(0.5, 0.4), people=40, fitted=39)
    metadata = ExportMetadata(
        preprocessing={}, threshold=0.6, distance_spec={"name": "euclidean"}, embedding_dim=128,
        source_file="m.keras", source_sha256="ab", open_set=point.to_dict(),
    )  # fmt: skip
    read = ExportMetadata.from_json(metadata.to_json(), name="m.onnx")
    assert OpenSetPoint.from_dict(read.open_set) == point
    older = json.loads(metadata.to_json())
    del older["open_set"]  # an export made before open-set points
    assert ExportMetadata.from_json(json.dumps(older), name="m.onnx").open_set is None
