"""A smoke run of benchmarks/applications.py (pixels and HOG on the signatures, small counts),
and its split functions, which training recipes import to keep test people out of training.

Needs ../shared/data; skipped, saying so, where it is absent.
"""

import importlib
import json
import sys

import numpy as np
import pytest

from tests.conftest import REPO, SHARED_DATA

SIGNATURES = SHARED_DATA / "signatures-cross-media"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(REPO / "benchmarks"))  # benchmarks/ is not a package: its scripts import each other by name
    return importlib.import_module("applications")


@pytest.fixture(scope="module")
def splits(bench):
    return importlib.import_module("application_data")


def test_without_the_data_it_says_so_and_exits_cleanly(bench, tmp_path, capsys):
    assert bench.main(["--data", str(tmp_path / "missing"), "--out", str(tmp_path / "a.json")]) == 0
    assert "skipped" in capsys.readouterr().out
    assert not (tmp_path / "a.json").exists()


def test_signature_split_is_fixed_disjoint_and_whole(splits):
    if not (SIGNATURES / "bin").is_dir():
        pytest.skip(f"the signatures are not here ({SIGNATURES / 'bin'})")
    train, test = splits.signature_split(SIGNATURES)
    assert len(test) == 23 and len(train) == 70 and not set(train) & set(test)
    assert splits.signature_split(SIGNATURES / "bin") == (train, test)  # the data set's folder or its bin/
    assert splits.signature_split(SIGNATURES, seed=1)[1] != test


def test_dutch_signature_split_holds_out_validation_and_test_writers(splits, tmp_path):
    for writer in range(30):
        (tmp_path / f"{writer:03d}" / "genuine").mkdir(parents=True)
    train, validation, test = splits.dutch_signature_split(tmp_path)
    assert (len(train), len(validation), len(test)) == (6, 12, 12)
    assert sorted(train + validation + test) == [f"{w:03d}" for w in range(30)]
    assert splits.dutch_signature_split(tmp_path, seed=1)[2] != test
    (tmp_path / "030" / "genuine").mkdir(parents=True)  # a new writer brings no other one into test
    assert set(splits.dutch_signature_split(tmp_path)[2]) - set(test) <= {"030"}
    for writer in range(24):
        (tmp_path / "small" / str(writer)).mkdir(parents=True)
    with pytest.raises(ValueError, match="24 writer folders, need more than 24"):
        splits.dutch_signature_split(tmp_path / "small")


def test_forged_signature_split_holds_out_a_fifth_of_cedar_and_bengali(splits, tmp_path):
    for name, count in (("cedar", 55), ("bengali", 100), ("dutch", 64)):
        for writer in range(1, count + 1):
            (tmp_path / splits.FORGED_SIGNATURE_SETS[name] / f"{writer:03d}" / "genuine").mkdir(parents=True)
    sizes = {name: tuple(map(len, splits.forged_signature_split(name, tmp_path))) for name in ("cedar", "bengali")}
    assert sizes == {"cedar": (33, 11, 11), "bengali": (60, 20, 20)}
    dutch = tmp_path / splits.FORGED_SIGNATURE_SETS["dutch"]
    assert splits.forged_signature_split("dutch", tmp_path) == splits.dutch_signature_split(dutch)


def test_folds_of_a_forged_set_deal_its_writers_before_the_test_ones_and_keep_the_test_writers(splits, tmp_path):
    for writer in range(1, 101):
        (tmp_path / splits.FORGED_SIGNATURE_SETS["bengali"] / f"{writer:03d}" / "genuine").mkdir(parents=True)
    fixed_train, fixed_validation, test = splits.forged_signature_split("bengali", tmp_path)
    folds = [splits.forged_signature_split("bengali", tmp_path, fold=k) for k in range(splits.DUTCH_FOLDS)]
    assert all(fold[2] == test for fold in folds)
    assert [(len(train), len(validation)) for train, validation, _ in folds] == [(60, 20)] * 4
    validations = [set(validation) for _, validation, _ in folds]
    assert set().union(*validations) == set(fixed_train + fixed_validation)  # each writer validates once
    assert sum(map(len, validations)) == 80
    assert all(not set(train) & set(validation) for train, validation, _ in folds)
    with pytest.raises(ValueError, match="fold 4 is not one of 0 .. 3"):
        splits.forged_signature_split("bengali", tmp_path, fold=4)


def test_a_forged_set_is_chosen_by_writer_folder_even_where_classes_are_named_from_files(bench, tmp_path):
    """CEDAR's files name their writer ("original_1_3.png" in folder "001"): the split's folder names choose."""
    import cv2

    training = importlib.import_module("train_applications")
    for folder, writer in (("001", 1), ("002", 2)):
        for kind, stem in (("genuine", "original"), ("forged", "forgeries")):
            (tmp_path / folder / kind).mkdir(parents=True)
            for n in (1, 2):
                cv2.imwrite(str(tmp_path / folder / kind / f"{stem}_{writer}_{n}.png"), np.full((8, 8), 255, np.uint8))
    dataset = training.dutch_dataset(tmp_path, ["002"], prefix="cedar")
    assert dataset.classes == ("2",) and len(dataset) == 2 and dataset.num_forgeries == 2
    assert dataset.groups == ("cedar-0",)


def test_merged_signature_sets_keep_each_forgery_with_its_writer(bench, tmp_path):
    from tests.data.test_layouts import write_signers

    training = importlib.import_module("train_applications")
    first = training.dutch_dataset(write_signers(tmp_path / "a", signers=3), ["s00", "s02"], groups=2)
    second = training.dutch_dataset(write_signers(tmp_path / "b", signers=4), ["s01", "s02", "s03"])
    both = training.merged(first, second)
    assert both.groups == ("sigcomp2011-dutch-0", "sigcomp2011-dutch-1") + ("sigcomp2011-dutch-0",) * 3
    assert len(both) == 20 and both.num_forgeries == 15 and both.class_sizes.tolist() == [4] * 5
    for j in range(both.num_forgeries):  # a/s02/forged/... stays with a's s02 (label 1), b's with b's writer
        origin, writer = both.forgery_name(j).split("/")[-4:-2]
        assert (origin, writer) == tuple(
            both.name(int(np.flatnonzero(both.labels == both.forgery_labels[j])[0])).split("/")[-4:-2]
        )


def test_face_split_keeps_a_third_of_each_set(splits):
    if not (SHARED_DATA / "yalefaces").is_dir():
        pytest.skip(f"the Yale faces are not here ({SHARED_DATA / 'yalefaces'})")
    train, test = splits.face_split(0, SHARED_DATA)
    assert not set(train) & set(test)
    assert sum(p.startswith("yalefaces/") for p in test) == 5
    assert splits.face_split(0, SHARED_DATA) == (train, test) and splits.face_split(1, SHARED_DATA)[1] != test


def test_quick_run_on_the_signatures_with_pixels_and_hog(bench, splits, tmp_path, capsys):
    if not (SIGNATURES / "bin").is_dir():
        pytest.skip(f"the signatures are not here ({SIGNATURES / 'bin'})")
    out = tmp_path / "applications.json"
    code = bench.main(
        [
            "--quick",
            "--applications",
            "signatures",
            "--methods",
            "pixels",
            "hog",
            "--data",
            str(SHARED_DATA),
            "--models-dir",
            str(tmp_path),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "| method | AUC [95%] | EER [95%] | FAR @thr | FRR @thr | 20-way accuracy [95%] |" in printed
    assert "cores" in printed
    report = json.loads(out.read_text())
    methods = report["applications"]["signatures"]["tables"]["signatures"]["methods"]
    assert set(methods) == {"pixels", "hog"}
    for result in methods.values():
        assert set(result["pairs"]) == {"genuine vs forgery-like", "genuine vs other writers"}
        for entry in result["pairs"].values():
            assert entry["same_pairs"] == entry["different_pairs"] == 100
            assert 0.0 <= entry["auc"]["low"] <= entry["auc"]["value"] <= entry["auc"]["high"] <= 1.0
        assert result["oneshot"]["way"] == 20 and result["oneshot"]["n"] == 20 * 20
        assert result["threshold"] is None
    assert report["splits"]["signatures"]["test"] == list(splits.signature_split(SIGNATURES)[1])
