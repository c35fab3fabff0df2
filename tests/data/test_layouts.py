"""Data as people have it: classes in file names, signers with skilled forgeries, and what
the samplers make of those forgeries (a negative of their signer only)."""

import dataclasses
import logging
import re
import zipfile

import cv2
import numpy as np
import pytest

from siamese.data import ClassBatchSampler, Preprocessing, load_dataset, split_by_class
from siamese.data.pairs import forgery_pairs
from siamese.errors import DatasetError, ImageError
from tests.conftest import SHAPES, _draw

SHAPE_NAMES = [shape for shapes in SHAPES.values() for shape in shapes]
PREP = Preprocessing(image_size=(12, 12))


def write_image(path, shape, rng, ext=".png"):
    """A drawing of `shape`, encoded as `ext` whatever the file's name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = _draw(shape, rng, size=24)
    ok, data = cv2.imencode(
        ext, cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if ext == ".gif" else image
    )  # GIF: colour only
    assert ok
    path.write_bytes(data.tobytes())
    return path


def write_signers(root, signers=6, genuine=4, forged=3, seed=0, names=("genuine", "forged")):
    """root/sNN/genuine/*.png and root/sNN/forged/*.png: a signer's forgeries are a neighbour's shape."""
    rng = np.random.default_rng(seed)
    for s in range(signers):
        for i in range(genuine):
            write_image(root / f"s{s:02d}" / names[0] / f"{i}.png", SHAPE_NAMES[s], rng)
        for i in range(forged):
            write_image(root / f"s{s:02d}" / names[1] / f"{i}.png", SHAPE_NAMES[s + 1], rng)
    return root


def test_class_pattern_reads_classes_from_file_names(tmp_path, caplog):
    rng = np.random.default_rng(0)
    for subject in ("01", "02", "13"):
        for mood in ("happy", "sad", "wink"):  # Yale faces: no extensions, GIF content
            write_image(tmp_path / f"subject{subject}.{mood}", "circle", rng, ext=".gif")
    write_image(tmp_path / "deeper" / "subject02.glasses", "square", rng, ext=".gif")
    write_image(tmp_path / "cover.png", "wave", rng)
    write_image(tmp_path / "zz-notes.png", "wave", rng)
    (tmp_path / "Readme.txt").write_text("the Yale faces")
    with caplog.at_level(logging.WARNING):
        dataset = load_dataset(tmp_path, class_pattern=r"subject(\d+)")
    assert dataset.classes == ("01", "02", "13") and dataset.groups == ("", "", "")
    assert dataset.class_sizes.tolist() == [3, 4, 3] and dataset.num_forgeries == 0
    assert "2 image file(s) whose names do not match" in caplog.text and "cover.png" in caplog.text
    assert dataset.load(PREP).shape == (10, 12, 12, 1)
    named = load_dataset(tmp_path, class_pattern=r"subject(?P<mood>\d)(?P<class>\d)\.(happy|sad)")
    assert named.classes == ("1", "2", "3") and len(named) == 6  # the group named class, not the first


@pytest.mark.parametrize(
    "pattern, problem",
    [
        (r"subject(\d+", "not a regular expression (missing ), unterminated subpattern"),
        (r"subject\d+", "has no group to name the class"),
    ],
)
def test_bad_class_patterns(tmp_path, pattern, problem):
    write_image(tmp_path / "faces" / "subject01.happy", "circle", np.random.default_rng(0), ext=".gif")
    with pytest.raises(DatasetError, match=re.escape(f"class pattern {pattern!r}: {problem}")) as raised:
        load_dataset(tmp_path / "faces", class_pattern=pattern)
    assert "\n" not in str(raised.value)


def test_a_class_pattern_that_matches_nothing_names_the_folder(tmp_path):
    write_image(tmp_path / "faces" / "subject01.happy", "circle", np.random.default_rng(0), ext=".gif")
    pattern = r"person(\d+)"
    expected = f"{tmp_path / 'faces'}: no image file name matches the class pattern {pattern!r}"
    with pytest.raises(DatasetError, match=re.escape(expected)):
        load_dataset(tmp_path / "faces", class_pattern=pattern)


def test_genuine_and_forged_folders_make_signers_with_forgeries(tmp_path):
    write_signers(tmp_path / "data" / "set", signers=3)
    write_signers(tmp_path / "other", signers=1, names=("Real", "Skilled"), seed=1)
    for i in range(3):
        write_image(tmp_path / "data" / "plain" / "x" / f"{i}.png", "arc", np.random.default_rng(i))
    dataset = load_dataset([tmp_path / "data", tmp_path / "other"])
    assert dataset.classes == ("plain/x", "s00", "set/s00", "set/s01", "set/s02")
    assert dataset.groups == ("plain", "", "set", "set", "set")
    assert len(dataset) == 3 + 4 * 4 and dataset.num_forgeries == 4 * 3
    assert all("/forged/" not in dataset.name(i) and "/Skilled/" not in dataset.name(i) for i in range(len(dataset)))
    for j in range(dataset.num_forgeries):
        name = dataset.forgery_name(j)
        signer = dataset.classes[dataset.forgeries[j][2]]
        assert ("/forged/" in name or "/Skilled/" in name) and f"{signer}/" in name
    images, labels = dataset.load_forgeries(PREP)
    assert images.shape == (12, 12, 12, 1) and images.dtype == np.float32
    assert labels.tolist() == [dataset.forgeries[j][2] for j in range(12)]


def test_forgeries_read_from_a_zip_and_named_when_unreadable(tmp_path):
    root = write_signers(tmp_path / "signers", signers=2)
    archive = tmp_path / "signers.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted(root.rglob("*.png")):
            handle.write(path, f"top/{path.relative_to(root).as_posix()}")
    zipped = load_dataset(archive)
    assert zipped.classes == ("s00", "s01") and zipped.num_forgeries == 6
    assert np.array_equal(zipped.load_forgeries(PREP)[0], load_dataset(root).load_forgeries(PREP)[0])
    (root / "s01" / "forged" / "9.png").write_bytes(b"")
    with pytest.raises(ImageError, match=r"s01/forged/9.png: empty file"):
        load_dataset(root).load_forgeries(PREP)


def test_cedar_file_names_are_found_without_being_asked(tmp_path):
    rng = np.random.default_rng(0)
    for signer in (1, 2, 12):
        for i in (1, 2, 3):
            write_image(tmp_path / "full_org" / f"original_{signer}_{i}.png", SHAPE_NAMES[signer % 12], rng)
            write_image(tmp_path / "full_forg" / f"forgeries_{signer}_{i}.png", SHAPE_NAMES[(signer + 1) % 12], rng)
    write_image(tmp_path / "full_forg" / "Forgeries_12_4.PNG", "wave", rng)  # any case
    dataset = load_dataset(tmp_path)
    assert dataset.classes == ("1", "12", "2") and dataset.groups == ("", "", "")
    assert dataset.class_sizes.tolist() == [3, 3, 3] and dataset.num_forgeries == 10
    assert all(
        name.startswith("original_") for name in (dataset.name(i).rsplit("/", 1)[1] for i in range(len(dataset)))
    )
    assert np.bincount(dataset.forgery_labels).tolist() == [3, 4, 3]


def test_a_kind_group_marks_forgeries(tmp_path):
    rng = np.random.default_rng(0)
    for signer in ("01", "02"):
        for kind in ("real", "real", "fake", "Skilled", "forg", "other"):
            write_image(tmp_path / f"{kind}-{signer}-{rng.integers(1 << 30)}.png", "circle", rng)
    dataset = load_dataset(tmp_path, class_pattern=r"^(?P<kind>[A-Za-z]+)-(?P<class>\d+)-")
    assert dataset.classes == ("01", "02") and dataset.class_sizes.tolist() == [3, 3]  # real, real, other
    assert dataset.num_forgeries == 6 and sorted(dataset.forgery_labels.tolist()) == [0, 0, 0, 1, 1, 1]


def test_subset_and_split_keep_forgeries_with_their_signer(tmp_path):
    dataset = load_dataset(write_signers(tmp_path / "s", signers=8))
    train, val = split_by_class(dataset, 0.25, seed=1)
    assert train.num_forgeries + val.num_forgeries == dataset.num_forgeries == 24
    for side in (train, val):
        for j in range(side.num_forgeries):
            assert side.forgery_name(j).split("/")[-3] == side.classes[side.forgery_labels[j]]
    picked = dataset.subset([5, 2])
    assert picked.classes == ("s05", "s02") and sorted(picked.forgery_labels.tolist()) == [0, 0, 0, 1, 1, 1]


def test_batches_give_each_forgery_a_label_of_its_own(tmp_path):
    dataset = load_dataset(write_signers(tmp_path / "s", signers=8, forged=3))
    dataset = dataclasses.replace(dataset, forgeries=tuple(f for f in dataset.forgeries if f[2] != 3))  # s03: none
    sampler = ClassBatchSampler(4, 2, forgeries_per_class=2)
    plain = dataclasses.replace(dataset, forgeries=())
    for seed in range(30):
        indices, labels = sampler.sample(dataset, np.random.default_rng(seed))
        genuine = indices < len(dataset)
        forged = indices[~genuine] - len(dataset)
        classes = set(labels[genuine].tolist())
        assert np.array_equal(dataset.labels[indices[genuine]], labels[genuine])
        assert len(forged) == 8 and len(set(forged.tolist())) == len(forged)  # 2 per class of the batch, always
        for signer in classes - {3}:  # each signer of the batch brings 2 of their own first
            assert np.sum(dataset.forgery_labels[forged[: 2 * len(classes - {3})]] == signer) == 2
        own = labels[~genuine]
        assert np.all(own < 0) and len(set(own.tolist())) == len(own) and not set(own.tolist()) & classes
        # The genuine draw is the one a dataset without forgeries gets: forgeries are drawn after it.
        alone = sampler.sample(plain, np.random.default_rng(seed))
        assert np.array_equal(alone[0], indices[genuine]) and len(alone[0]) == sampler.batch_size
    few = dataclasses.replace(dataset, forgeries=tuple(f for f in dataset.forgeries if f[2] in (0, 1)))
    for seed in range(10):  # fewer forgeries than a batch takes: all of them, every time
        indices, labels = sampler.sample(few, np.random.default_rng(seed))
        assert sorted(indices[indices >= len(few)] - len(few)) == list(range(6))
    none = ClassBatchSampler(4, 2, forgeries_per_class=0).sample(dataset, np.random.default_rng(0))
    assert len(none[0]) == 8 and np.all(none[1] >= 0)
    with pytest.raises(ValueError, match="forgeries_per_class must be zero or positive, got -1"):
        ClassBatchSampler(4, 2, forgeries_per_class=-1)


def test_forgery_pairs_match_a_signer_with_their_forgery(tmp_path):
    dataset = load_dataset(write_signers(tmp_path / "s", signers=4))
    a, b = forgery_pairs(dataset, 50, seed=3)
    assert len(a) == len(b) == 50 and np.all(b < dataset.num_forgeries)
    assert np.array_equal(dataset.labels[a], dataset.forgery_labels[b])
    assert len(set(dataset.labels[a].tolist())) == 4
    again = forgery_pairs(dataset, 50, seed=3)
    assert np.array_equal(again[0], a) and np.array_equal(again[1], b)
    with pytest.raises(DatasetError, match="no skilled forgeries"):
        forgery_pairs(dataclasses.replace(dataset, forgeries=()), 5, seed=0)
