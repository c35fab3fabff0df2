"""Dataset folders and pairs files as they come: links, unreadable entries, duplicates,
odd names, and every way a CSV file can be written."""

import os
import shutil

import numpy as np
import pytest

from siamese.data import load_dataset, read_pairs_file
from siamese.errors import DatasetError, ImageError
from tests.conftest import tiny_training


def test_link_loops_and_dangling_links_are_left_out_with_a_warning(shapes_copy, caplog):
    folder = shapes_copy / "lines" / "hline"
    os.symlink(folder / "loop.png", folder / "loop.png")  # a link to itself: reading it loops
    os.symlink(folder / "gone.png", folder / "dangling.png")
    os.symlink(shapes_copy / "lines", shapes_copy / "lines" / "up")  # a folder link back up: the walk must not loop
    dataset = load_dataset(shapes_copy)
    assert len(dataset) == 12 * 8
    assert "2 entries are not a readable file, left out" in caplog.text


def test_a_file_that_cannot_be_read_is_named(shapes_copy):
    dataset = load_dataset(shapes_copy)
    victim = shapes_copy / "lines" / "hline" / "00.png"
    victim.unlink()
    victim.mkdir()  # vanished since listing, a folder in its place
    index = [dataset.name(i) for i in range(len(dataset))].index(str(victim))
    with pytest.raises(ImageError, match=r"hline/00.png: cannot be read \(Is a directory\)"):
        dataset.image(index)


def test_duplicates_across_classes_are_found_and_reported_by_training(shapes_copy, tmp_path, caplog):
    from siamese.training import TrainConfig, train

    shutil.copy(shapes_copy / "lines" / "hline" / "03.png", shapes_copy / "curves" / "circle" / "99.png")
    dataset = load_dataset(shapes_copy)
    found = dataset.duplicates_across_classes()
    assert [(dataset.name(a), dataset.name(b)) for a, b in found] == [
        (str(shapes_copy / "curves" / "circle" / "99.png"), str(shapes_copy / "lines" / "hline" / "03.png"))
    ]
    config = TrainConfig.from_settings(
        image_size=(16, 16),
        filters=(8,),
        embedding_dim=8,
        epochs=1,
        steps_per_epoch=2,
        classes_per_batch=4,
        examples_per_class=2,
        validation_pairs=50,
        augment=False,
    )
    result = train(dataset, model_path=tmp_path / "m.keras", config=config, verbose=0)
    assert result.metrics["duplicates_across_classes"] == 1
    assert "1 image(s) stand in two classes" in caplog.text


def test_paths_with_spaces_and_non_ascii_names_train_and_verify(shapes_dir, tmp_path, capsys):
    from siamese.cli import main

    root = tmp_path / "données d'écriture"
    for group, cls, new in (
        ("lines", "hline", "trait horizontal"),
        ("curves", "circle", "cercle ø"),
        ("polygons", "square", "carré 正方形"),
    ):
        shutil.copytree(shapes_dir / group / cls, root / "formes" / new)
    model = tmp_path / "modèle ü.keras"
    assert (
        main(
            [
                "train",
                str(root),
                "--model-out",
                str(model),
                "--results",
                str(tmp_path / "résultats"),
                *tiny_training(filters="8", classes_per_batch=3),
                "--no-augment",
                "--validation-fraction",
                "0.5",
            ]
        )
        == 2
    )  # 3 classes: too few to split
    assert "too few to split" in capsys.readouterr().err
    shutil.copytree(shapes_dir / "curves" / "wave", root / "formes" / "vague ~ é")
    assert (
        main(
            [
                "train",
                str(root),
                "--model-out",
                str(model),
                "--results",
                str(tmp_path / "résultats"),
                *tiny_training(filters="8", classes_per_batch=2),
                "--no-augment",
                "--validation-fraction",
                "0.5",
            ]
        )
        == 0
    )
    a, b = root / "formes" / "cercle ø" / "00.png", root / "formes" / "carré 正方形" / "01.png"
    assert main(["verify", str(a), str(b), "--model", str(model), "--json"]) == 0
    assert '"distance"' in capsys.readouterr().out.splitlines()[-1]


@pytest.fixture
def two_images(shapes_dir, tmp_path):
    for name, source in (
        ("a b.png", "lines/hline/00.png"),
        ("c.png", "lines/hline/01.png"),
        ("d.png", "curves/circle/00.png"),
    ):
        shutil.copy(shapes_dir / source, tmp_path / name)
    return tmp_path


@pytest.mark.parametrize(
    "text",
    [
        "\ufeffa b.png,c.png,1\nc.png,d.png,0\n",  # a byte-order mark
        "a b.png,c.png,1\r\nc.png,d.png,0\r\n",  # Windows line ends
        "first,second,label\na b.png,c.png,same\nc.png,d.png,different\n",  # a header row
        "\n\na b.png,c.png,1\n   \n,,\n# a comment\nc.png,d.png,0\n\n",  # blank lines, empty cells, comments
        '"a b.png", c.png ,1\nc.png,d.png, 0 \n',  # quotes and spaces around fields
    ],
)
def test_pairs_files_as_people_write_them(two_images, text):
    (two_images / "pairs.csv").write_text(text, encoding="utf-8", newline="")
    pairs = read_pairs_file(two_images / "pairs.csv")
    assert [os.path.basename(p) for p in pairs.first] == ["a b.png", "c.png"]
    assert [os.path.basename(p) for p in pairs.second] == ["c.png", "d.png"] and pairs.same.tolist() == [1, 0]


@pytest.mark.parametrize(
    "text, message",
    [
        ("a b.png,c.png\n", r"pairs.csv:1: expected 'path1,path2,label', got 2 field\(s\)"),
        ("a b.png,c.png,1\nc.png,d.png,maybe\n", r"pairs.csv:2: label must be 1/0 or same/different, got 'maybe'"),
        ("a b.png,c.png,1\nc.png,e.png,0\n", r"pairs.csv:2: image 'e.png' not found"),
        ("# only a comment\n\n", "pairs.csv: no pairs in file"),
    ],
)
def test_malformed_pairs_files_name_the_line(two_images, text, message):
    (two_images / "pairs.csv").write_text(text)
    with pytest.raises(DatasetError, match=message):
        read_pairs_file(two_images / "pairs.csv")


def test_a_binary_file_is_not_a_pairs_file(two_images):
    (two_images / "pairs.csv").write_bytes(np.random.default_rng(0).integers(128, 256, 200, dtype=np.uint8).tobytes())
    with pytest.raises(DatasetError, match="pairs.csv: not a text CSV file"):
        read_pairs_file(two_images / "pairs.csv")
