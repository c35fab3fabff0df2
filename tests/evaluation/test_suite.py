"""The whole evaluation with a stand-in model: figures, pictures, metrics.json and report.md."""

import json

import numpy as np
import pytest

from siamese.data import PairList, load_dataset
from siamese.data.images import read_image
from siamese.errors import DatasetError
from siamese.evaluation import (
    EpisodeSampler,
    EpisodesStep,
    FilePairs,
    PairsStep,
    RetrievalStep,
    RunsStep,
    Step,
    evaluate,
    format_table,
    read_oneshot_runs,
)
from tests.conftest import BUNDLED


def thumbnail_embed(images):
    """A crude model: the image (array or path) shrunk to 6x6, as a vector."""
    import cv2

    arrays = [read_image(i) if isinstance(i, str) else i for i in images]
    return np.stack(
        [
            cv2.resize(np.asarray(a, np.float32).squeeze(), (6, 6), interpolation=cv2.INTER_AREA).ravel() / 255
            for a in arrays
        ]
    )


def test_evaluate_writes_figures_pictures_and_report(shapes_dir, tmp_path):
    dataset = load_dataset(shapes_dir)
    runs = read_oneshot_runs(BUNDLED / "all_runs.zip")
    steps = [
        PairsStep(count=200, threshold=1.0),
        EpisodesStep(EpisodeSampler(5, 1, episodes=20, seed=0)),
        RunsStep(runs),
        RetrievalStep(),
    ]
    result = evaluate(
        thumbnail_embed,
        steps=steps,
        dataset=dataset,
        seed=0,
        resamples=200,
        out=tmp_path / "out",
        about={"model": "thumbnails"},
    )
    m = result.metrics
    assert m["verification"]["pairs"] == 200 and m["verification"]["accuracy"]["n"] == 200
    assert m["fewshot"]["queries"] == 100 and m["oneshot_runs"]["trials"] == 400 and m["retrieval"]["images"] == 96
    assert set(result.pictures) == {"roc", "distances", "pairs", "episode", "oneshot_run", "embeddings"}
    for name in result.pictures.values():
        assert (tmp_path / "out" / name).stat().st_size > 1000
    saved = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert saved["model"] == "thumbnails" and saved["verification"]["auc"] == m["verification"]["auc"]
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| ROC AUC |" in report and "![" in report and "roc.png" in report and "| run20 |" in report
    table = format_table(m)
    assert "5-way 1-shot accuracy (20 episodes)" in table and "one-shot runs, per run: run01" in table


def test_evaluate_is_deterministic_and_writes_nothing_without_out(shapes_dir):
    dataset = load_dataset(shapes_dir)

    def steps():
        return [PairsStep(count=100), EpisodesStep(EpisodeSampler(4, 2, episodes=10)), RetrievalStep()]

    a = evaluate(thumbnail_embed, steps=steps(), dataset=dataset, resamples=100)
    b = evaluate(thumbnail_embed, steps=steps(), dataset=dataset, resamples=100)
    strip = lambda m: {k: v for k, v in m.items() if k != "seconds"}  # noqa: E731
    assert strip(a.metrics) == strip(b.metrics) and a.report is None and a.pictures == {}
    # Another seed draws other pairs and other bootstrap samples (the episodes follow their sampler's seed).
    other = evaluate(thumbnail_embed, steps=steps(), dataset=dataset, resamples=100, seed=1)
    assert other.metrics["verification"] != a.metrics["verification"]
    assert other.metrics["retrieval"] != a.metrics["retrieval"] and other.metrics["fewshot"] == a.metrics["fewshot"]


def test_pairs_from_a_file(shapes_dir, tmp_path):
    square, circle = (
        sorted((shapes_dir / "polygons" / "square").glob("*.png")),
        sorted((shapes_dir / "curves" / "circle").glob("*.png")),
    )
    pairs = PairList(
        first=(str(square[0]), str(square[0])), second=(str(square[1]), str(circle[0])), same=np.array([1, 0])
    )
    result = evaluate(thumbnail_embed, steps=[PairsStep(FilePairs(pairs, "pairs.csv"))], resamples=50, out=tmp_path)
    assert result.metrics["verification"]["pairs"] == 2 and "retrieval" not in result.metrics
    assert result.metrics["verification"]["accuracy"] is None  # no threshold given
    assert read_image(tmp_path / "pairs.png", channels=3).shape[2] == 3


def test_nothing_to_evaluate():
    with pytest.raises(DatasetError, match="nothing to evaluate"):
        evaluate(thumbnail_embed)


def test_steps_that_draw_need_a_dataset():
    with pytest.raises(DatasetError, match="N-way episodes needs a dataset"):
        evaluate(thumbnail_embed, steps=[EpisodesStep(EpisodeSampler(4, 1))])


def test_pairs_of_one_kind_fail_before_anything_is_embedded(shapes_dir):
    square = sorted((shapes_dir / "polygons" / "square").glob("*.png"))
    with pytest.raises(DatasetError, match="same.csv: need both same and different pairs, got 1 same of 1"):
        FilePairs(PairList(first=(str(square[0]),), second=(str(square[1]),), same=np.array([1])), "same.csv")


def test_every_input_is_checked_before_the_first_image_is_embedded(shapes_dir):
    """A step whose check fails comes last: the model must not have been called."""
    calls = []

    def counting_embed(images):
        calls.append(len(images))
        return thumbnail_embed(images)

    dataset = load_dataset(shapes_dir)
    with pytest.raises(DatasetError, match="13-way episodes need 13 classes"):
        evaluate(
            counting_embed,
            steps=[PairsStep(count=50), RetrievalStep(), EpisodesStep(EpisodeSampler(13, 1))],
            dataset=dataset,
        )
    assert calls == []


def test_each_dataset_image_is_embedded_once_for_all_steps(shapes_dir):
    seen = []

    def recording_embed(images):
        seen.extend(id(i) for i in images)
        return thumbnail_embed(images)

    dataset = load_dataset(shapes_dir)
    evaluate(
        recording_embed,
        steps=[PairsStep(count=300), EpisodesStep(EpisodeSampler(4, 1, episodes=30)), RetrievalStep()],
        dataset=dataset,
        resamples=20,
    )
    assert len(seen) == len(dataset)  # retrieval needs them all: each once, not once per step


class _CountStep(Step):
    """A new kind of evaluation in a few lines: how many classes the dataset has."""

    key = "classes"

    def measure(self, context):
        class Result:
            def to_dict(self):
                return {"count": context.dataset.num_classes}

        return Result()


def test_a_new_step_adds_its_figures(shapes_dir):
    result = evaluate(thumbnail_embed, steps=[_CountStep()], dataset=load_dataset(shapes_dir))
    assert result.metrics["classes"] == {"count": 12} and "classes" in result.results
