"""A smoke run of benchmarks/applications.py (pixels and HOG on the signatures, small counts),
and its split functions, which training recipes import to keep test people out of training.

Needs ../shared/data; skipped, saying so, where it is absent.
"""

import importlib
import json
import sys

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
