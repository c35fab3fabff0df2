"""The search index over a gallery's embeddings: FAISS, matched to the model's distance.

    cosine     inner product on unit vectors (d = 1 - ip)
    euclidean  squared L2 (d = sqrt)
    manhattan  L1 (exact only: FAISS has no approximate L1 index)
    learned    no FAISS metric: an exact scan with the model's own distance

Below `EXACT_LIMIT` embeddings the search is exact (a flat index); above it, for cosine and
Euclidean, an HNSW graph (approximate; `ef_search` trades speed for recall). The index is
saved beside the database (`G.index.npz`: the index, its ids and the database generation it
was built from, one file written atomically). The database is the truth, the index a cache
of it: an index behind the database is extended with what was enrolled since, and loses
what was forgotten since (`drop`): a flat index and the exact scan drop the rows; an HNSW
graph cannot drop a node, so the node's vector is zeroed (no forgotten person's numbers stay
in memory or in the file) and it is left out of every search, until more than `DEAD_SHARE`
of the graph is dead and it is rebuilt from its live vectors. Forgetting one person thus
costs about a copy of the index, never a rebuild from the database (minutes at a million).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from siamese import numpy_distances
from siamese.files import atomic_path

EXACT_LIMIT = 50_000
HNSW_NEIGHBOURS = 32
EF_CONSTRUCTION = 80
DEAD_SHARE = 0.1  # an HNSW graph with more forgotten nodes than this share is rebuilt from its live ones


def default_ef_search(size: int) -> int:
    """HNSW's search breadth for a gallery of `size`: measured on 128-d unit embeddings
    (`benchmarks/gallery_scale.py`), 96 gives recall@1 1.0 at 100k and 0.86 at 1M, 384 gives
    0.999 at 1M (p50 4.2 ms on 2 cores); the breadth grows with size between them."""
    return max(96, int(384 * (size / 1_000_000) ** 0.6))


def _faiss():
    import faiss

    return faiss


class Index:
    """Nearest embeddings by the model's distance; `ids` are the database's embedding row ids.

    Args:
        distance_name: the model's distance name (`siamese.registry.DISTANCES`).
        dim: embedding size.
        exact_limit: above this many embeddings cosine / Euclidean use HNSW.
        numpy_distance: the model's own distance on matched rows (for "learned", and checks).
        ef_search: HNSW's search breadth (None: `default_ef_search` of the index's size).
    """

    def __init__(
        self,
        distance_name: str,
        dim: int,
        *,
        exact_limit: int = EXACT_LIMIT,
        numpy_distance=None,
        ef_search: int | None = None,
    ):
        self.distance_name, self.dim, self.exact_limit = distance_name, dim, exact_limit
        self.numpy_distance = numpy_distance
        self.ef_search = ef_search
        self.generation = -1
        self._faiss_index = None
        self._alive, self._dead = None, 0  # an HNSW graph's forgotten nodes: their selector and count (`_note_dead`)
        self._ids = np.zeros(0, np.int64)
        self._vectors = np.zeros((0, dim), np.float32)  # kept only where FAISS cannot search (learned)

    @property
    def size(self) -> int:
        return len(self._ids) - self._dead

    @property
    def ids(self) -> np.ndarray:
        """The database ids of the embeddings searched (a forgotten HNSW node's place holds -1)."""
        return self._ids[self._ids >= 0]

    @property
    def approximate(self) -> bool:
        return self._faiss_index is not None and "HNSW" in type(self._faiss_index).__name__

    def _prepare(self, vectors: np.ndarray) -> np.ndarray:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if self.distance_name == "cosine":
            vectors = numpy_distances.unit(vectors)
        return vectors

    def build(self, ids: np.ndarray, vectors: np.ndarray, generation: int) -> Index:
        """(Re)build from every embedding of the database at `generation`."""
        faiss = _faiss()
        self._ids, self.generation = np.asarray(ids, np.int64), generation
        self._faiss_index, self._alive, self._dead = None, None, 0
        if self.distance_name == "learned":
            self._vectors = np.ascontiguousarray(vectors, np.float32)
            return self
        metric = {"cosine": faiss.METRIC_INNER_PRODUCT, "euclidean": faiss.METRIC_L2, "manhattan": faiss.METRIC_L1}[
            self.distance_name
        ]
        if len(ids) > self.exact_limit and self.distance_name != "manhattan":
            index = faiss.IndexHNSWFlat(self.dim, HNSW_NEIGHBOURS, metric)
            index.hnsw.efConstruction = EF_CONSTRUCTION
        else:
            index = faiss.IndexFlat(self.dim, metric)
        if len(ids):
            index.add(self._prepare(vectors))
        self._faiss_index = index
        return self

    def add(self, ids: np.ndarray, vectors: np.ndarray, generation: int) -> None:
        """Add new embeddings (an enrolment made by this process) and move to `generation`."""
        self._ids = np.concatenate([self._ids, np.asarray(ids, np.int64)])
        if self._faiss_index is None:
            self._vectors = np.concatenate([self._vectors, np.asarray(vectors, np.float32)])
        else:
            self._faiss_index.add(self._prepare(vectors))
        self.generation = generation

    def drop(self, ids: np.ndarray, generation: int) -> None:
        """Take the embeddings `ids` out (someone forgotten) and move to `generation`."""
        faiss = _faiss()
        places = np.flatnonzero(np.isin(self._ids, np.asarray(ids, np.int64)))
        if self._faiss_index is None:
            self._vectors = np.delete(self._vectors, places, axis=0)
        elif not self.approximate:
            self._faiss_index.remove_ids(faiss.IDSelectorBatch(places.astype(np.int64)))
        else:
            stored = self._stored()
            stored[places] = 0
            self._ids[places] = -1
            if np.count_nonzero(self._ids < 0) > DEAD_SHARE * len(self._ids):
                alive = self._ids >= 0
                self.build(self._ids[alive], stored[alive].copy(), generation)
            self._note_dead()
            self.generation = generation
            return
        self._ids = np.delete(self._ids, places)
        self.generation = generation

    def _stored(self) -> np.ndarray:
        """The HNSW graph's own vectors (ntotal, dim), as a writable view."""
        faiss = _faiss()
        storage = faiss.downcast_index(self._faiss_index.storage)
        return faiss.rev_swig_ptr(storage.get_xb(), storage.ntotal * self.dim).reshape(storage.ntotal, self.dim)

    def _note_dead(self) -> None:
        """The selector that leaves an HNSW graph's forgotten nodes out of searches (None: none dead),
        made once per change and held here, as FAISS holds only a pointer to it."""
        faiss, dead = _faiss(), np.flatnonzero(self._ids < 0)
        self._alive = faiss.IDSelectorNot(faiss.IDSelectorBatch(dead.astype(np.int64))) if len(dead) else None
        self._dead = len(dead)

    def _search_parameters(self, k: int):
        """HNSW's breadth for this search, and its forgotten nodes left out."""
        parameters = _faiss().SearchParametersHNSW()
        parameters.efSearch = max(self.ef_search or default_ef_search(self.size), k)
        if self._alive is not None:
            parameters.sel = self._alive
        return parameters

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(distances (q, k'), ids (q, k')) of the nearest embeddings, nearest first; k' = min(k, size);
        a place the approximate search left empty has id -1 and distance inf."""
        k = min(k, self.size)
        queries = np.ascontiguousarray(queries, np.float32)
        if k == 0:
            return np.zeros((len(queries), 0)), np.zeros((len(queries), 0), np.int64)
        if self._faiss_index is None:
            d = np.stack([self.numpy_distance(np.repeat(q[None], self.size, 0), self._vectors) for q in queries])
            order = np.argsort(d, axis=1, kind="stable")[:, :k]
            return np.take_along_axis(d, order, 1), self._ids[order]
        parameters = self._search_parameters(k) if self.approximate else None
        scores, rows = self._faiss_index.search(self._prepare(queries), k, params=parameters)
        distances = {
            "cosine": numpy_distances.cosine_from_similarity,
            "euclidean": numpy_distances.euclidean_from_squared,
            "manhattan": lambda s: s,
        }[self.distance_name](scores)
        found = rows >= 0  # an approximate search may return fewer than k
        return np.where(found, distances, np.inf), np.where(found, self._ids[np.maximum(rows, 0)], -1)

    def save(self, path: Path) -> None:
        """Write the index with the ids and the generation it reflects, as one file, atomically."""
        if self._faiss_index is None:
            return  # an exact numpy scan: nothing to cache beyond the database
        serialized = _faiss().serialize_index(self._faiss_index)
        with atomic_path(path) as temporary, open(temporary, "wb") as handle:
            np.savez(handle, index=serialized, ids=self._ids, generation=self.generation, distance=self.distance_name)

    def load(self, path: Path) -> bool:
        """Take the saved index, of whatever generation it was saved at (the caller brings it up
        to date); False when there is none that fits (rebuild then)."""
        try:
            with np.load(path, allow_pickle=False) as saved:
                if str(saved["distance"]) != self.distance_name:
                    return False
                index, ids, generation = (
                    _faiss().deserialize_index(saved["index"]),
                    saved["ids"],
                    int(saved["generation"]),
                )
        except (OSError, ValueError, KeyError, RuntimeError):
            return False
        if index.ntotal != len(ids) or index.d != self.dim:
            return False
        self._faiss_index, self._ids, self.generation = index, ids, generation
        self._note_dead()
        return True
