"""The official one-shot runs: read from the bundled zip or a folder, and scored."""

import hashlib
import zipfile

import cv2
import numpy as np
import pytest

from siamese.data import affine_variants
from siamese.errors import DatasetError
from siamese.evaluation import read_oneshot_runs, score_oneshot_runs
from tests.conftest import BUNDLED

ALL_RUNS = BUNDLED / "all_runs.zip"


@pytest.fixture(scope="module")
def runs():
    return read_oneshot_runs(ALL_RUNS)


def test_the_bundled_zip_has_20_runs_of_20_trials(runs):
    assert len(runs.runs) == 20 and runs.trials == 400
    assert [r.name for r in runs.runs] == [f"run{i:02d}" for i in range(1, 21)]
    first = runs.runs[0]
    assert len(first.training) == 20 and len(first.test) == 20
    assert first.test[0] == "run01/test/item01.png" and first.training[first.answers[0]] == "run01/training/class08.png"
    assert first.training[first.answers[1]] == "run01/training/class09.png"  # second line of class_labels.txt
    assert runs.image(first.test[0]).shape == (105, 105, 1)


def test_an_unpacked_run_folder_reads_the_same(oneshot_run, runs):
    one = read_oneshot_runs(oneshot_run)
    assert len(one.runs) == 1 and one.runs[0].test == runs.runs[0].test
    assert np.array_equal(one.runs[0].answers, runs.runs[0].answers)


def _oracle(runs):
    """An embedding that knows the answer: each image maps to a one-hot of (run, class)."""
    key = {}
    for r, run in enumerate(runs.runs):
        for t, member in enumerate(run.test):
            key[hashlib.sha1(runs.image(member).tobytes()).hexdigest()] = r * 20 + run.answers[t]
        for c, member in enumerate(run.training):
            key[hashlib.sha1(runs.image(member).tobytes()).hexdigest()] = r * 20 + c

    def embed(images):
        return np.eye(20 * len(runs.runs))[[key[hashlib.sha1(np.asarray(i).tobytes()).hexdigest()] for i in images]]

    return embed


def test_an_oracle_scores_100_percent_and_a_constant_5(runs):
    result = score_oneshot_runs(runs, _oracle(runs))
    assert result.accuracy.value == 1.0 and result.accuracy.n == 400
    assert all(e.value == 1.0 and e.n == 20 for e in result.per_run)
    assert result.to_dict()["per_run"]["run07"]["value"] == 1.0
    constant = score_oneshot_runs(runs, lambda images: np.zeros((len(images), 4)))
    assert constant.accuracy.value == pytest.approx(20 / 400)  # ties pick class01, right once per run


def test_a_folder_that_is_not_the_runs_layout(shapes_dir):
    with pytest.raises(DatasetError, match="not the one-shot runs layout"):
        read_oneshot_runs(shapes_dir)


@pytest.mark.parametrize(
    "labels, message",
    [
        ("run01/test/item01.png\n", r"class_labels.txt:1: expected 'runNN/test/itemKK.png runNN/training/classMM.png'"),
        ("run01/test/item01.png run01/training/class99.png\n", "image run01/training/class99.png not found"),
    ],
)
def test_bad_label_files(tmp_path, oneshot_run, labels, message):
    archive = tmp_path / "runs.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(oneshot_run.rglob("*.png")):
            out.write(path, f"run01/{path.relative_to(oneshot_run).as_posix()}")
        out.writestr("run01/class_labels.txt", labels)
    with pytest.raises(DatasetError, match=message):
        read_oneshot_runs(archive)


@pytest.mark.parametrize(
    "name, message", [("missing", "no such file or folder"), ("file.txt", "not a folder or .zip of one-shot runs")]
)
def test_paths_that_are_not_runs(tmp_path, name, message):
    (tmp_path / "file.txt").write_text("hello")
    with pytest.raises(DatasetError, match=message):
        read_oneshot_runs(tmp_path / name)


def test_support_variants_average_over_distorted_copies(runs):
    batches = []

    def pixels(images):
        batches.append([np.asarray(i) for i in images])
        return np.stack(
            [cv2.resize(np.asarray(i)[:, :, 0], (16, 16), interpolation=cv2.INTER_AREA).ravel() / 255.0 for i in images]
        )

    plain = score_oneshot_runs(runs, pixels)
    augmented = score_oneshot_runs(runs, pixels, support_variants=3, seed=0)
    assert (
        len(batches[0]) == 40 and len(batches[20]) == 20 + 20 * 4
    )  # test items, then each training image and 3 copies
    # Run 01 by hand: training image k comes with its 3 copies (seeded by seed + k), and the
    # distance from a test item to it is the mean of the distances to those 4 images.
    first = runs.runs[0]
    test, supports = pixels(batches[20][:20]), pixels(batches[20][20:]).reshape(20, 4, -1)
    for k, member in enumerate(first.training):
        copies = [runs.image(member), *affine_variants(runs.image(member), 3, seed=k)]
        assert all(np.array_equal(a, b) for a, b in zip(batches[20][20 + 4 * k : 24 + 4 * k], copies, strict=True))
    expected = np.linalg.norm(test[:, None, None] - supports[None], axis=-1).mean(axis=2)
    assert np.allclose(augmented.distances[0], expected) and not np.allclose(expected, plain.distances[0])
    picks = [np.argmin(d, axis=1) == run.answers for d, run in zip(augmented.distances, runs.runs)]
    assert augmented.accuracy.value == pytest.approx(np.mean(picks)) and augmented.accuracy.n == 400


def test_runs_drawn_from_a_grouped_dataset(shapes_dir):
    from siamese.data import load_dataset
    from siamese.evaluation import runs_from_dataset

    dataset = load_dataset(shapes_dir)
    drawn = runs_from_dataset(dataset, way=4, seed=0)
    assert len(drawn.runs) == 3 and drawn.trials == 12  # one run per group of 4 shapes
    label_of = {hashlib.sha1(dataset.image(i).tobytes()).hexdigest(): dataset.labels[i] for i in range(len(dataset))}

    def oracle(images):
        return np.eye(dataset.num_classes)[
            [label_of[hashlib.sha1(np.asarray(i).tobytes()).hexdigest()] for i in images]
        ]

    assert score_oneshot_runs(drawn, oracle).accuracy.value == 1.0
    run = drawn.runs[0]
    assert all(drawn.files[a] != drawn.files[b] for a, b in zip(run.test, (run.training[k] for k in run.answers)))
    assert runs_from_dataset(dataset, way=4, seed=0).runs[0].test == run.test
    with pytest.raises(DatasetError, match="no group of the dataset has 5 classes"):
        runs_from_dataset(dataset, way=5)
