"""Open-set identification figures against a plain loop over the queries."""

import numpy as np
import pytest

from siamese.cli import main
from siamese.data import load_dataset
from siamese.errors import DatasetError
from siamese.evaluation import IdentificationStep, euclidean, evaluate, sample_trial, score_identification


def _loop(trial, embeddings, labels, threshold):
    gallery = embeddings[trial.enrolled]
    right = accepted_right = false_accepts = 0
    for q in trial.known:
        d = [np.linalg.norm(embeddings[q] - g) for g in gallery]
        nearest = int(np.argmin(d))
        right += labels[trial.enrolled[nearest]] == labels[q]
        accepted_right += labels[trial.enrolled[nearest]] == labels[q] and d[nearest] <= threshold
    for q in trial.unknown:
        false_accepts += min(np.linalg.norm(embeddings[q] - g) for g in gallery) <= threshold
    n = len(trial.known)
    return right / n, 1 - accepted_right / n, false_accepts / max(len(trial.unknown), 1)


def test_figures_match_a_loop_and_the_trial_is_open_set(shapes_dir):
    dataset = load_dataset(shapes_dir)
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(dataset.num_classes, 6))
    embeddings = centres[dataset.labels] + 0.6 * rng.normal(size=(len(dataset), 6))
    trial = sample_trial(dataset, unknown_share=0.25, seed=3)
    enrolled_classes = set(dataset.labels[trial.enrolled].tolist())
    assert len(enrolled_classes) == len(trial.enrolled) == 9  # one image per enrolled class
    assert not enrolled_classes & set(dataset.labels[trial.unknown].tolist())  # strangers never enrolled
    assert not set(trial.enrolled.tolist()) & set(trial.known.tolist())
    result = score_identification(trial, embeddings, dataset.labels, euclidean, threshold=2.5)
    rank1, fnir, fpir = _loop(trial, embeddings, dataset.labels, 2.5)
    assert result.rank1.value == pytest.approx(rank1) and result.fnir.value == pytest.approx(fnir)
    assert result.fpir.value == pytest.approx(fpir) and result.unknown_queries == 3 * 8
    assert 0 < fpir < 1 and 0 < fnir < 1


def test_without_a_threshold_only_rank1(shapes_dir):
    dataset = load_dataset(shapes_dir)
    trial = sample_trial(dataset, unknown_share=0.0)
    embeddings = np.eye(dataset.num_classes)[dataset.labels]
    result = score_identification(trial, embeddings, dataset.labels, euclidean)
    assert result.rank1.value == 1.0 and result.fnir is None and result.fpir is None and result.unknown_queries == 0


def test_too_few_classes_and_bad_shares(shapes_dir):
    dataset = load_dataset(shapes_dir)
    with pytest.raises(ValueError, match="unknown_share must be in"):
        sample_trial(dataset, unknown_share=1.0)
    with pytest.raises(DatasetError, match="identification needs 2 or more enrolled classes"):
        sample_trial(dataset, unknown_share=0.95)
    with pytest.raises(DatasetError, match="identification needs a dataset"):
        evaluate(lambda images: np.zeros((len(images), 2)), steps=[IdentificationStep()])


def test_the_cli_reports_identification(trained_model_path, shapes_dir, tmp_path, capsys):
    assert (
        main(
            [
                "evaluate",
                str(trained_model_path),
                str(shapes_dir),
                "--identification",
                "--unknown-share",
                "0.25",
                "--episodes",
                "5",
                "--pairs-count",
                "50",
                "--out",
                str(tmp_path / "e"),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "identification rank-1 rate (9 enrolled, 24 queries of others)" in printed
    assert "FNIR at threshold" in printed and "FPIR at threshold" in printed
    assert main(["evaluate", str(trained_model_path), "--runs", "dataset/all_runs.zip", "--identification"]) == 2
    assert "--identification needs DATA" in capsys.readouterr().err
