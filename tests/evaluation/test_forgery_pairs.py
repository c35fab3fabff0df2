"""Pairs against skilled forgeries from a genuine/forged folder, and `siamese calibrate` on them:
the threshold set for a target false-accept rate against the forgeries of each signer."""

import re
import shutil

import numpy as np
import pytest

from siamese.cli import main
from siamese.errors import DatasetError
from siamese.evaluation import ForgeryPairs, read_pair_source
from siamese.inference import load_model


def test_a_signers_folder_gives_genuine_pairs_against_that_signers_forgeries(signers_dir, tmp_path):
    folder = shutil.copytree(signers_dir, tmp_path / "signers")
    for name in ("00.png", "01.png", "02.png"):  # signers of unequal sizes, as real data has them
        (folder / "wave" / "genuine" / name).unlink()
    source = read_pair_source(folder, count=40, seed=1)
    assert isinstance(source, ForgeryPairs) and source.same.sum() == 20 and len(source.same) == 40
    dataset, pairs = source.dataset, source.pairs
    for first, second, same in zip(pairs.first, pairs.second, pairs.same):
        assert first < len(dataset)
        if same:
            assert second < len(dataset) and first != second and dataset.labels[first] == dataset.labels[second]
        else:
            assert dataset.forgery_labels[second - len(dataset)] == dataset.labels[first]
    first, forged = source.images(int(np.flatnonzero(source.same == 0)[0]))
    assert first.shape == forged.shape == (48, 48, 1) and not np.array_equal(first, forged)


def test_signers_without_forgeries_give_no_forgery_pairs(signers_dir, tmp_path):
    for signer in ("square", "circle"):
        shutil.copytree(signers_dir / signer / "genuine", tmp_path / signer / "genuine")
    (tmp_path / "square" / "forged").mkdir()
    shutil.copy(signers_dir / "circle" / "forged" / "00.png", tmp_path / "square" / "forged" / "00.png")
    (tmp_path / "circle" / "genuine" / "00.png").unlink()
    assert isinstance(read_pair_source(tmp_path, count=10), ForgeryPairs)
    for extra in (tmp_path / "square" / "genuine").iterdir():
        if extra.name != "00.png":
            extra.unlink()
    with pytest.raises(DatasetError, match="no signer has both 2 genuine images and a skilled forgery"):
        read_pair_source(tmp_path, count=10)


def test_calibrate_sets_the_threshold_for_a_target_far_against_skilled_forgeries(
    trained_model_path, signers_dir, tmp_path, capsys
):
    model = tmp_path / "m.keras"
    shutil.copy(trained_model_path, model)
    argv = ["calibrate", str(model), str(signers_dir), "--objective", "far", "--target-far", "0.05"]
    assert main([*argv, "--pairs-count", "300", "--seed", "2"]) == 0
    printed = capsys.readouterr().out
    saved = load_model(model)
    assert "(different = skilled forgeries)" in printed and f"-> {saved.threshold:.4f}" in printed
    source = read_pair_source(signers_dir, count=300, seed=2)
    distances = source.distances(saved.embed, saved.distances, channels=saved.preprocessing.channels)
    same = source.same.astype(bool)
    accepted = distances <= saved.threshold
    far, tar = float(np.mean(accepted[~same])), float(np.mean(accepted[same]))
    assert far <= 0.05
    assert re.search(r"FAR (\S+), TAR (\S+)\)", printed).groups() == (f"{far:.4f}", f"{tar:.4f}")
    above = np.min(distances[distances > saved.threshold])  # the next threshold would pass the target
    assert np.mean(distances[~same] <= above) > 0.05
