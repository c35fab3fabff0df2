"""Pairs files and seeded pair / batch sampling."""

import json
from pathlib import Path

import numpy as np
import pytest

from siamese.data import ClassBatchSampler, PairSampler, load_dataset, read_pairs_file, split_by_class
from siamese.errors import DatasetError
from siamese.inference import load_model


def test_reads_pairs_file_with_header_and_relative_paths(shapes_dir, tmp_path):
    a = shapes_dir / "lines" / "hline" / "00.png"
    b = shapes_dir / "lines" / "hline" / "01.png"
    c = shapes_dir / "curves" / "circle" / "00.png"
    csv = tmp_path / "pairs.csv"
    csv.write_text(f"path1,path2,label\n{a},{b},1\n{a},{c},different\n\n")
    pairs = read_pairs_file(csv)
    assert len(pairs) == 2 and pairs.same.tolist() == [1, 0]
    assert pairs.first[0] == str(a)
    (tmp_path / "x.png").write_bytes(a.read_bytes())
    relative = tmp_path / "rel.csv"
    relative.write_text("x.png,x.png,same\n")
    assert read_pairs_file(relative).first[0] == str((tmp_path / "x.png").resolve())


@pytest.mark.parametrize(
    "text, message",
    [
        ("a.png,b.png\n", r"pairs.csv:1: expected 'path1,path2,label', got 2 field"),
        ("a.png,a.png,1\na.png,a.png,maybe\n", r"pairs.csv:2: label must be 1/0 or same/different, got 'maybe'"),
        ("a.png,missing.png,1\n", r"pairs.csv:1: image 'missing.png' not found"),
        ("path1,path2,label\n", r"pairs.csv: no pairs in file"),
    ],
)
def test_bad_pairs_files(tmp_path, shapes_dir, text, message):
    (tmp_path / "a.png").write_bytes((shapes_dir / "lines" / "hline" / "00.png").read_bytes())
    (tmp_path / "pairs.csv").write_text(text)
    with pytest.raises(DatasetError, match=message):
        read_pairs_file(tmp_path / "pairs.csv")


def test_missing_pairs_file(tmp_path):
    with pytest.raises(DatasetError, match="no such pairs file"):
        read_pairs_file(tmp_path / "none.csv")


def test_pair_sampler_is_balanced_seeded_and_correct(shapes_dir):
    dataset = load_dataset(shapes_dir)
    pairs = PairSampler(200, seed=1).sample(dataset)
    assert len(pairs) == 200 and pairs.same.sum() == 100
    labels = dataset.labels
    assert np.array_equal(labels[pairs.first] == labels[pairs.second], pairs.same.astype(bool))
    assert np.all(pairs.first[pairs.same == 1] != pairs.second[pairs.same == 1])
    again = PairSampler(200, seed=1).sample(dataset)
    assert np.array_equal(again.first, pairs.first)
    other = PairSampler(200, seed=2).sample(dataset)
    assert not np.array_equal(other.first, pairs.first)


def test_same_group_negatives_stay_in_their_group(shapes_dir):
    dataset = load_dataset(shapes_dir)
    pairs = PairSampler(300, same_group_negatives=True, seed=0).sample(dataset)
    groups = np.array(dataset.groups)[dataset.labels]
    negatives = pairs.same == 0
    assert np.all(groups[pairs.first[negatives]] == groups[pairs.second[negatives]])


def test_class_batch_sampler_draws_whole_classes(shapes_dir):
    dataset = load_dataset(shapes_dir)
    sampler = ClassBatchSampler(6, 3, same_group_fraction=0.5)
    indices, labels = sampler.sample(dataset, np.random.default_rng(0))
    assert len(indices) == sampler.batch_size == 18
    assert np.array_equal(dataset.labels[indices], labels)
    assert len(set(labels.tolist())) == 6
    groups = [dataset.groups[c] for c in labels[::3]]
    assert max(groups.count(g) for g in set(groups)) >= 3  # half the classes share a group


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"classes_per_batch": 1}, "classes_per_batch must be at least 2, got 1"),
        ({"examples_per_class": 1}, "examples_per_class must be at least 2, got 1"),
        ({"same_group_fraction": 2.0}, r"same_group_fraction must be in \[0, 1\], got 2.0"),
    ],
)
def test_class_batch_sampler_checks_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ClassBatchSampler(**kwargs)


def _pairs_csv(folder, shapes_dir, lines):
    rows = [f"{shapes_dir / a},{shapes_dir / b},{label}" for a, b, label in lines]
    (folder / "pairs.csv").write_text("\n".join(rows) + "\n")
    return folder / "pairs.csv"


def test_classes_from_pairs_are_the_groups_same_pairs_link(shapes_dir, tmp_path):
    from siamese.data import classes_from_pairs

    sq, ci, tr = "polygons/square/0{}.png", "curves/circle/0{}.png", "polygons/triangle/0{}.png"
    csv = _pairs_csv(
        tmp_path,
        shapes_dir,
        [
            (sq.format(0), sq.format(1), 1),
            (sq.format(1), sq.format(2), 1),  # a chain: one class of 3
            (ci.format(0), ci.format(1), 1),
            (sq.format(0), ci.format(0), 0),
            (tr.format(0), ci.format(2), 0),  # images with no "same" partner
        ],
    )
    images, labels = classes_from_pairs(read_pairs_file(csv))
    by_image = dict(zip(("/" + Path(p).relative_to(shapes_dir).as_posix() for p in images), labels))
    assert len(set(labels)) == 4
    assert by_image["/polygons/square/00.png"] == by_image["/polygons/square/02.png"]
    assert by_image["/polygons/square/00.png"] != by_image["/curves/circle/00.png"]
    members = {}
    for image, label in by_image.items():
        members.setdefault(label, set()).add(image)
    linked = {
        frozenset({"/polygons/square/00.png", "/polygons/square/01.png", "/polygons/square/02.png"}),
        frozenset({"/curves/circle/00.png", "/curves/circle/01.png"}),
    }
    assert {frozenset(m) for m in members.values()} == linked | {
        frozenset({"/polygons/triangle/00.png"}),
        frozenset({"/curves/circle/02.png"}),
    }
    dataset = load_dataset(csv)
    assert dataset.num_classes == 2 and len(dataset) == 5  # the partnerless images are left out
    assert {
        frozenset("/" + Path(dataset.name(int(i))).relative_to(shapes_dir).as_posix() for i in indices)
        for indices in dataset.class_indices
    } == linked
    assert dataset.name(0).endswith(".png") and dataset.image(0).shape == (48, 48, 1)


def test_a_pairs_file_that_contradicts_itself(shapes_dir, tmp_path):
    sq = "polygons/square/0{}.png"
    csv = _pairs_csv(
        tmp_path,
        shapes_dir,
        [(sq.format(0), sq.format(1), 1), (sq.format(1), sq.format(2), 1), (sq.format(0), sq.format(2), 0)],
    )
    with pytest.raises(
        DatasetError, match=r"pairs.csv: pair 3 .* is labelled different, but 'same' pairs link its images"
    ):
        load_dataset(csv)


def test_training_on_a_pairs_file(shapes_dir, tmp_path):
    from siamese.training import TrainConfig, train

    lines = []
    for shape in ("lines/hline", "lines/vline", "polygons/square", "curves/circle", "curves/arc", "polygons/triangle"):
        lines += [(f"{shape}/0{i}.png", f"{shape}/0{i + 1}.png", 1) for i in range(4)]
    lines.append(("lines/hline/00.png", "curves/circle/00.png", 0))
    csv = _pairs_csv(tmp_path, shapes_dir, lines)
    # Each shape's chain 00-01-02-03-04 is one class; the one "different" pair joins nothing.
    components = {
        frozenset(str(shapes_dir / f"{shape}/0{i}.png") for i in range(5))
        for shape in (
            "lines/hline",
            "lines/vline",
            "polygons/square",
            "curves/circle",
            "curves/arc",
            "polygons/triangle",
        )
    }
    dataset = load_dataset(csv)
    assert {frozenset(dataset.name(int(i)) for i in indices) for indices in dataset.class_indices} == components
    train_set, val_set = split_by_class(
        dataset, 0.34, by_group=True, seed=0
    )  # as training splits (one group: by class)
    halves = [
        {frozenset(part.name(int(i)) for i in indices) for indices in part.class_indices}
        for part in (train_set, val_set)
    ]
    assert halves[0] | halves[1] == components and not halves[0] & halves[1]
    config = TrainConfig.from_settings(
        image_size=(16, 16),
        filters=(8, 8),
        embedding_dim=8,
        epochs=1,
        steps_per_epoch=2,
        classes_per_batch=3,
        examples_per_class=2,
        validation_pairs=20,
        validation_fraction=0.34,
    )
    result = train(csv, model_path=tmp_path / "m.keras", config=config, results_dir=tmp_path / "results", verbose=0)
    assert (
        (result.metrics["training_classes"], result.metrics["validation_classes"])
        == (len(halves[0]), len(halves[1]))
        == (4, 2)
    )
    metrics = json.loads((tmp_path / "results" / "metrics.json").read_text())
    assert (
        metrics["validation_pairs"] == 20
        and 0.0 <= metrics["val_auc"] <= 1.0
        and 0.0 <= metrics["val_pair_accuracy"] <= 1.0
    )
    model = load_model(result.model_path)
    assert model.threshold == pytest.approx(metrics["val_threshold"]) and model.preprocessing.image_size == (16, 16)
    square = model.embed([shapes_dir / "polygons/square/00.png", shapes_dir / "polygons/square/01.png"])
    assert square.shape == (2, 8) and np.all(np.isfinite(square))
