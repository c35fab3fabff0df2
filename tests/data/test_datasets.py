"""Datasets from folders and zips: classes, groups, merging, checks and splits."""

import zipfile

import numpy as np
import pytest

from siamese.data import Preprocessing, load_dataset, split_by_class
from siamese.errors import DatasetError, ImageError
from tests.conftest import BUNDLED


def _zip_folder(folder, archive_path, top="top"):
    with zipfile.ZipFile(archive_path, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{top}/{path.relative_to(folder).as_posix()}")
    return archive_path


def test_folder_of_nested_class_folders(shapes_dir):
    dataset = load_dataset(shapes_dir)
    assert dataset.num_classes == 12 and len(dataset) == 96
    assert "polygons/square" in dataset.classes
    assert dataset.groups[dataset.classes.index("polygons/square")] == "polygons"
    assert all(len(i) == 8 for i in dataset.class_indices)


def test_zip_reads_the_same_as_the_folder(shapes_dir, tmp_path):
    archive = _zip_folder(shapes_dir, tmp_path / "shapes.zip")
    from_zip, from_dir = load_dataset(archive), load_dataset(shapes_dir)
    assert from_zip.classes == from_dir.classes
    prep = Preprocessing(image_size=(16, 16))
    assert np.array_equal(from_zip.load(prep), from_dir.load(prep))
    assert from_zip.name(0).startswith(f"{archive}:top/")


def test_bundled_omniglot_zips_merge_shared_alphabets():
    small1 = load_dataset(BUNDLED / "images_background_small1.zip")
    small2 = load_dataset(BUNDLED / "images_background_small2.zip")
    both = load_dataset([BUNDLED / "images_background_small1.zip", BUNDLED / "images_background_small2.zip"])
    assert small1.num_classes == 136 and small2.num_classes == 156
    shared = set(small1.classes) & set(small2.classes)
    assert shared and all(c.split("/")[0] in ("Greek", "Latin") for c in shared)
    assert both.num_classes == len(set(small1.classes) | set(small2.classes))
    assert len(both) == 20 * both.num_classes
    assert len(set(both.groups)) == 8


def test_non_images_beside_class_folders_are_ignored(shapes_copy):
    (shapes_copy / "README.txt").write_text("about this data")
    (shapes_copy / "lines" / "notes.md").write_text("notes")
    assert load_dataset(shapes_copy).num_classes == 12


def test_a_non_image_inside_a_class_is_named_when_read(shapes_copy):
    bad = shapes_copy / "lines" / "hline" / "zz_broken.png"
    bad.write_bytes(b"")
    dataset = load_dataset(shapes_copy)
    with pytest.raises(ImageError, match=f"{bad}: empty file"):
        dataset.load(Preprocessing(image_size=(16, 16)))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p / "missing", "no such file or folder"),
        (lambda p: (p / "f.txt").write_text("x") and p / "f.txt", "not a folder of class folders or a .zip"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "no images in class folders found"),
    ],
)
def test_unusable_dataset_paths(tmp_path, make, message):
    with pytest.raises(DatasetError, match=message):
        load_dataset(make(tmp_path))


def test_too_few_classes_and_single_image_classes(tmp_path, shapes_dir, caplog):
    import shutil

    from siamese.data import ClassBatchSampler, PairSampler

    one = tmp_path / "one"
    shutil.copytree(shapes_dir / "lines" / "hline", one / "hline")
    with pytest.raises(DatasetError, match="found 1 class"):
        load_dataset(one).check_trainable()
    lonely = tmp_path / "lonely"
    shutil.copytree(shapes_dir / "lines", lonely / "lines")
    (lonely / "solo").mkdir()
    shutil.copy(shapes_dir / "lines" / "hline" / "00.png", lonely / "solo" / "00.png")
    dataset = load_dataset(lonely)
    dataset.check_trainable()  # a single-image class is no reason to refuse the data
    assert "1 class(es) with a single image" in caplog.text and "solo/00.png" in caplog.text
    solo = dataset.classes.index("solo")
    sampler = ClassBatchSampler(5, 2, seed=0)
    rng = np.random.default_rng(0)
    drawn = np.concatenate([sampler.sample(dataset, rng)[1] for _ in range(50)])
    assert solo not in drawn and len(set(drawn)) == 4  # skipped for pairs: never in a training batch
    pairs = PairSampler(400, seed=0).sample(dataset)
    solo_pairs = (dataset.labels[pairs.first] == solo) | (dataset.labels[pairs.second] == solo)
    assert solo_pairs.any() and not pairs.same[solo_pairs].any()  # used as a negative only
    two = tmp_path / "two"
    shutil.copytree(lonely / "solo", two / "solo")
    shutil.copytree(shapes_dir / "lines" / "hline", two / "hline")
    with pytest.raises(DatasetError, match=r"1 class\(es\) with 2 or more images; need at least 2"):
        load_dataset(two).check_trainable()


def test_split_by_class_has_no_class_on_both_sides(shapes_dir):
    dataset = load_dataset(shapes_dir)
    train, val = split_by_class(dataset, 0.25, seed=3)
    assert not set(train.classes) & set(val.classes)
    assert train.num_classes + val.num_classes == 12
    assert len(train) + len(val) == len(dataset)
    again, _ = split_by_class(dataset, 0.25, seed=3)
    assert again.classes == train.classes


def test_split_by_group_keeps_groups_whole(shapes_dir):
    train, val = split_by_class(load_dataset(shapes_dir), 0.34, by_group=True, seed=0)
    assert not set(train.groups) & set(val.groups)
    assert len(set(val.groups)) == 1


def test_split_needs_enough_classes(tmp_path, shapes_dir):
    import shutil

    shutil.copytree(shapes_dir / "lines" / "hline", tmp_path / "d" / "a")
    shutil.copytree(shapes_dir / "lines" / "vline", tmp_path / "d" / "b")
    with pytest.raises(DatasetError, match="too few"):
        split_by_class(load_dataset(tmp_path / "d"), 0.5)


def test_rotated_classes_are_new_classes_in_their_own_groups(shapes_dir):
    from siamese.data import add_rotated_classes

    dataset = load_dataset(shapes_dir)
    images = dataset.load(Preprocessing(image_size=(16, 16)))
    grown, grown_images = add_rotated_classes(dataset, images)
    assert grown.num_classes == 48 and len(grown) == len(grown_images) == 4 * len(dataset)
    first = dataset.class_indices[0][0]
    quarter = grown.class_indices[12][0]
    assert np.array_equal(grown_images[quarter], np.rot90(images[first], 1, axes=(0, 1)))
    assert grown.classes[12] == f"{dataset.classes[0]}@90" and grown.groups[12] == f"{dataset.groups[0]}@90"
    with pytest.raises(ValueError, match="square"):
        add_rotated_classes(dataset, np.zeros((len(dataset), 8, 16, 1), np.float32))
