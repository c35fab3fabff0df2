"""Each picture is written, atomically, as a non-empty PNG."""

import numpy as np
import pytest

from siamese.errors import DatasetError
from siamese.evaluation import plots

PNG = b"\x89PNG\r\n\x1a\n"


def assert_png(path):
    assert path.is_file() and path.stat().st_size > 1000 and path.read_bytes()[:8] == PNG
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []  # no temporary left behind


@pytest.fixture(scope="module")
def pairs():
    rng = np.random.default_rng(0)
    same = np.repeat([1, 0], 50)
    return np.where(same == 1, rng.normal(0.4, 0.15, 100), rng.normal(0.9, 0.2, 100)), same


def test_history(tmp_path):
    csv = tmp_path / "history.csv"
    csv.write_text(
        "epoch,loss,val_auc,val_loss,val_pair_accuracy,val_threshold\n0,0.5,0.8,0.6,0.7,0.5\n1,0.3,0.9,0.4,0.85,0.45\n"
    )
    assert_png(plots.plot_history(csv, tmp_path / "out" / "history.png"))


@pytest.mark.parametrize("text, message", [("", "not a training history"), ("epoch,loss\n0,abc\n", "not a number")])
def test_history_that_is_not_one(tmp_path, text, message):
    (tmp_path / "h.csv").write_text(text)
    with pytest.raises(DatasetError, match=message):
        plots.read_history(tmp_path / "h.csv")


def test_roc_and_histograms(tmp_path, pairs):
    assert_png(plots.plot_roc(*pairs, tmp_path / "roc.png", threshold=0.6))
    assert_png(plots.plot_distance_histograms(*pairs, tmp_path / "distances.png", threshold=0.6))


def test_pairs_worst_first(tmp_path, pairs):
    distances, same = pairs
    order = plots.worst_first(distances, same, 0.6)
    wrong = (distances <= 0.6) != same.astype(bool)
    assert wrong[order[: wrong.sum()]].all()  # every mistake before every right call
    images = np.zeros((6, 20, 20, 1), np.uint8)
    assert_png(
        plots.plot_pair_grid(
            images, images + 200, distances[order[:6]], same[order[:6]], tmp_path / "pairs.png", threshold=0.6
        )
    )


def test_episode_and_embedding_map(tmp_path):
    rng = np.random.default_rng(0)
    supports = [rng.integers(0, 255, (20, 20), dtype=np.uint8) for _ in range(5)]
    assert_png(
        plots.plot_episode(supports[2], supports, np.array([0.9, 0.8, 0.1, 0.7, 0.6]), 2, 2, tmp_path / "episode.png")
    )
    labels = np.repeat(np.arange(25), 3)
    assert_png(plots.plot_embedding_map(rng.normal(size=(75, 8)), labels, tmp_path / "map.png"))
