"""The FAISS index against a brute-force scan, for each distance; exact and approximate."""

import numpy as np
import pytest

from siamese.gallery.index import Index
from siamese.numpy_distances import NumpyDistance


def _data(n=400, d=16, seed=0):
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, d)).astype(np.float32)
    queries = (vectors[:25] + 0.05 * rng.normal(size=(25, d))).astype(np.float32)
    return vectors, queries


@pytest.mark.parametrize("name", ["cosine", "euclidean", "manhattan", "learned"])
def test_exact_search_matches_a_brute_force_scan(name):
    vectors, queries = _data()
    spec = {"name": name}
    if name == "learned":
        rng = np.random.default_rng(1)
        spec = {"name": name, "kernel": rng.normal(size=(16, 1)).tolist(), "bias": [0.1]}
    distance = NumpyDistance.from_spec(spec)
    index = Index(name, 16, numpy_distance=distance).build(np.arange(100, 500), vectors, generation=3)
    assert not index.approximate and index.generation == 3
    got_d, got_ids = index.search(queries, 5)
    brute = np.stack([distance(np.repeat(q[None], len(vectors), 0), vectors) for q in queries])
    order = np.argsort(brute, axis=1, kind="stable")[:, :5]
    assert np.array_equal(got_ids, order + 100)
    assert np.allclose(got_d, np.take_along_axis(brute, order, 1), atol=1e-4)


@pytest.mark.parametrize("name", ["cosine", "euclidean"])
def test_above_the_limit_hnsw_keeps_recall(name):
    vectors, queries = _data(n=3000, d=32)
    exact = Index(name, 32).build(np.arange(3000), vectors, 0)
    approximate = Index(name, 32, exact_limit=1000).build(np.arange(3000), vectors, 0)
    assert approximate.approximate and not exact.approximate
    hits = np.sum(exact.search(queries, 1)[1][:, 0] == approximate.search(queries, 1)[1][:, 0])
    # All 25 found with FAISS on 1, 2 and 4 threads (and 50 of 50 for two other random sets):
    # one miss is allowed, a broken graph finds almost none.
    assert hits >= len(queries) - 1


def test_saved_and_loaded_with_its_generation(tmp_path):
    vectors, queries = _data()
    index = Index("cosine", 16).build(np.arange(400), vectors, generation=7)
    index.save(tmp_path / "i.npz")
    again = Index("cosine", 16)
    assert again.load(tmp_path / "i.npz") and again.generation == 7
    assert np.array_equal(again.search(queries, 3)[1], index.search(queries, 3)[1]) and np.array_equal(
        again.ids, np.arange(400)
    )
    assert not Index("euclidean", 16).load(tmp_path / "i.npz")  # another distance: not this index
    (tmp_path / "bad.npz").write_bytes(b"not an index")
    assert not Index("cosine", 16).load(tmp_path / "bad.npz") and not Index("cosine", 16).load(tmp_path / "none.npz")


def test_adding_keeps_ids_in_step():
    vectors, queries = _data()
    index = Index("euclidean", 16).build(np.arange(200), vectors[:200], 0)
    index.add(np.arange(200, 400), vectors[200:], 1)
    whole = Index("euclidean", 16).build(np.arange(400), vectors, 1)
    assert np.array_equal(index.search(queries, 4)[1], whole.search(queries, 4)[1]) and index.size == 400


@pytest.mark.parametrize("name", ["cosine", "euclidean", "manhattan", "learned"])
def test_dropping_forgotten_rows_answers_as_an_index_built_without_them(name):
    vectors, queries = _data()
    distance = NumpyDistance.from_spec(
        {"name": name} if name != "learned" else {"name": name, "kernel": [[0.5]] * 16, "bias": [0.1]}
    )
    index = Index(name, 16, numpy_distance=distance).build(np.arange(400), vectors, 0)
    gone = np.arange(0, 400, 3)
    index.drop(gone, 1)
    kept = np.setdiff1d(np.arange(400), gone)
    without = Index(name, 16, numpy_distance=distance).build(kept, vectors[kept], 1)
    assert index.size == len(kept) and np.array_equal(index.ids, kept) and index.generation == 1
    got, expected = index.search(queries, 4), without.search(queries, 4)
    assert np.array_equal(got[1], expected[1]) and np.allclose(got[0], expected[0], atol=1e-5)


@pytest.mark.parametrize("name", ["cosine", "euclidean"])
def test_a_graph_leaves_forgotten_nodes_out_and_keeps_none_of_their_numbers(name, tmp_path):
    vectors, queries = _data(n=3000, d=32)
    queries = np.concatenate([queries, vectors[:25]])  # some are the forgotten ones themselves
    index = Index(name, 32, exact_limit=1000).build(np.arange(3000), vectors, 0)
    gone = np.arange(0, 250, 2)  # 125 of 3,000: below the share that rebuilds the graph
    index.drop(gone, 1)
    assert index.approximate and index.size == 3000 - len(gone) and not np.isin(gone, index.ids).any()
    index.save(tmp_path / "i.npz")
    saved = (tmp_path / "i.npz").read_bytes()
    assert not any(index._prepare(vectors[i : i + 1]).tobytes()[:64] in saved for i in gone)
    kept = np.setdiff1d(np.arange(3000), gone)
    exact = Index(name, 32).build(kept, vectors[kept], 1)
    for searched in (index, Index(name, 32)):
        if searched is not index:
            assert searched.load(tmp_path / "i.npz") and searched.size == len(kept)
        distances, ids = searched.search(queries, 5)
        assert not np.isin(ids, gone).any() and np.isfinite(distances).all()
        assert np.sum(ids[:, 0] == exact.search(queries, 1)[1][:, 0]) >= len(queries) - 1


def test_a_graph_mostly_forgotten_is_rebuilt_from_its_live_nodes():
    vectors, queries = _data(n=3000, d=32)
    index = Index("euclidean", 32, exact_limit=1000).build(np.arange(3000), vectors, 0)
    kept = np.arange(0, 3000, 3)  # two thirds gone: past the share, and at the exact limit once rebuilt
    index.drop(np.setdiff1d(np.arange(3000), kept), 1)
    assert not index.approximate and np.array_equal(index.ids, kept) and index.generation == 1
    assert np.array_equal(
        index.search(queries, 3)[1], Index("euclidean", 32).build(kept, vectors[kept], 1).search(queries, 3)[1]
    )
