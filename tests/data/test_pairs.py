"""Pairs files and seeded pair / batch sampling."""

import numpy as np
import pytest

from siamese.data import ClassBatchSampler, PairSampler, load_dataset, read_pairs_file
from siamese.errors import DatasetError


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


@pytest.mark.parametrize("text, message", [
    ("a.png,b.png\n", r"pairs.csv:1: expected 'path1,path2,label', got 2 field"),
    ("a.png,a.png,1\na.png,a.png,maybe\n", r"pairs.csv:2: label must be 1/0 or same/different, got 'maybe'"),
    ("a.png,missing.png,1\n", r"pairs.csv:1: image 'missing.png' not found"),
    ("path1,path2,label\n", r"pairs.csv: no pairs in file"),
])
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
    indices, labels = sampler.draw(dataset, np.random.default_rng(0))
    assert len(indices) == sampler.batch_size == 18
    assert np.array_equal(dataset.labels[indices], labels)
    assert len(set(labels.tolist())) == 6
    groups = [dataset.groups[c] for c in labels[::3]]
    assert max(groups.count(g) for g in set(groups)) >= 3  # half the classes share a group


@pytest.mark.parametrize("kwargs, message", [
    ({"classes_per_batch": 1}, "classes_per_batch must be at least 2, got 1"),
    ({"examples_per_class": 1}, "examples_per_class must be at least 2, got 1"),
    ({"same_group_fraction": 2.0}, r"same_group_fraction must be in \[0, 1\], got 2.0"),
])
def test_class_batch_sampler_checks_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ClassBatchSampler(**kwargs)
