"""`siamese calibrate --objective fpir` on a folder of real image files, and a gallery that then
answers "unknown" to a stranger its model's pair threshold would have named."""

import shutil
import zipfile
from pathlib import Path

import pytest

from siamese import load_model
from siamese.cli import main
from siamese.gallery import UNKNOWN, Gallery
from tests.conftest import BUNDLED, REPO


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    with zipfile.ZipFile(BUNDLED / "all_runs.zip") as archive:
        archive.extractall(
            root, members=[n for n in archive.namelist() if n[:5] in {f"run{k:02d}" for k in range(1, 13)}]
        )
    return root


def _people(runs: Path, numbers, root: Path) -> Path:
    """Each character of the runs a person: its training drawing and its test drawing."""
    for number in numbers:
        lines = (runs / f"run{number:02d}" / "class_labels.txt").read_text().split()
        for item, drawing in zip(lines[::2], lines[1::2]):
            folder = root / f"run{number:02d}-{Path(drawing).stem}"
            folder.mkdir(parents=True)
            shutil.copy(runs / drawing, folder / "a.png")
            shutil.copy(runs / item, folder / "b.png")
    return root


@pytest.fixture(scope="module")
def calibrated(runs, tmp_path_factory) -> Path:
    """The shipped omniglot model (both files) calibrated for FPIR 1% on the characters of runs 2-7."""
    root = tmp_path_factory.mktemp("model")
    for suffix in (".keras", ".onnx"):
        shutil.copy(REPO / "models" / f"omniglot{suffix}", root / f"m{suffix}")
    people = _people(runs, range(2, 8), root / "people")
    assert main(["calibrate", str(root / "m.keras"), str(people), "--objective", "fpir"]) == 0
    return root / "m.keras"


def test_the_point_is_stored_on_both_engines_and_the_model_is_the_same_model(calibrated, capsys):
    onnx, keras = load_model(calibrated), load_model(calibrated, engine="keras")
    assert onnx.engine == "onnx" and keras.engine == "keras"  # the export was kept up to date
    assert onnx.open_set == keras.open_set and onnx.open_set["people"] == 120
    assert onnx.open_set["target_fpir"] == 0.01 and len(onnx.open_set["sizes"]) > 10
    assert onnx.model_id == keras.model_id == load_model("omniglot").model_id
    assert onnx.threshold == load_model("omniglot").threshold  # the pair threshold is left as it was


def test_a_stranger_the_pair_threshold_names_is_unknown(runs, calibrated, tmp_path):
    """Characters 1-10 of runs 1 and 8-12 enrolled (60), the test drawings of characters 11-20 strangers."""
    galleries = {
        "pair": Gallery.create(tmp_path / "pair.db", "omniglot"),
        "open": Gallery.create(tmp_path / "o.db", calibrated),
    }
    strangers = []
    for number in (1, 8, 9, 10, 11, 12):
        folder = runs / f"run{number:02d}"
        lines = (folder / "class_labels.txt").read_text().split()
        for item, drawing in zip(lines[::2], lines[1::2]):
            if int(Path(drawing).stem[-2:]) > 10:
                strangers.append(runs / item)
                continue
            for gallery in galleries.values():
                gallery.enroll(f"{number}-{Path(drawing).stem}", [runs / drawing])
    pair = {item: galleries["pair"].identify(item) for item in strangers}
    named = [item for item, result in pair.items() if result.known]
    assert named, "the pair threshold names strangers"
    assert all("the model's pair threshold" in result.reason for result in pair.values())
    answers = [galleries["open"].identify(item) for item in named]
    unknown = [result for result in answers if result.name == UNKNOWN and not result.known]
    assert len(unknown) >= len(named) // 2, (len(unknown), len(named))
    for result, before in zip(answers, named):
        assert result.threshold < pair[before].threshold
        assert (
            result.reason.startswith("open-set") and "60 enrolled at FPIR 1.00%, fitted on 120 people" in result.reason
        )
    given = galleries["open"].identify(named[0], threshold=pair[named[0]].threshold)
    assert given.known and given.reason == "threshold given"


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--target-fpir", "1.5"], "target FPIR must be between 0 and 1, got 1.5"),
        (["--target-fpir", "0"], "target FPIR must be between 0 and 1, got 0.0"),
    ],
)
def test_bad_targets_are_one_line_and_exit_2(runs, tmp_path, capsys, extra, message):
    people = _people(runs, [2], tmp_path / "people")
    assert main(["calibrate", str(REPO / "models" / "omniglot.keras"), str(people), "--objective", "fpir", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_too_few_people_is_one_line_and_exit_2(runs, tmp_path, capsys):
    people = _people(runs, [2], tmp_path / "people")
    for extra in sorted(people.iterdir())[9:]:
        shutil.rmtree(extra)
    assert main(["calibrate", str(REPO / "models" / "omniglot.keras"), str(people), "--objective", "fpir"]) == 2
    err = capsys.readouterr().err.strip()
    assert "people: 9 people; an open-set point needs 10 or more" in err and len(err.splitlines()) == 1


def test_the_point_is_read_for_the_gallery_s_size_in_either_store(runs, calibrated, gallery_at):
    """The size the point is read for is the embeddings enrolled, counted again after every change."""
    gallery = Gallery.create(gallery_at, calibrated)
    lines = (runs / "run01" / "class_labels.txt").read_text().split()
    drawings = [runs / drawing for drawing in lines[1::2]]
    gallery.enroll("first", drawings[:2])
    gallery.enroll("second", drawings[2:3])
    assert "3 enrolled at FPIR 1.00%" in gallery.identify(drawings[2]).reason
    gallery.forget("first")
    assert "1 enrolled at FPIR 1.00%" in gallery.identify(drawings[2]).reason
