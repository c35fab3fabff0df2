"""A gallery in PostgreSQL with pgvector: one database shared by every process and host.

    meta(key, value): schema_version, model_id, model, distance, dim, generation (`siamese.gallery.meta`)
    identities(id, name UNIQUE, created)
    embeddings(id, identity -> identities ON DELETE CASCADE, vector vector(dim), created)
    + an HNSW index on embeddings.vector, by the operator of the model's distance
    api_keys: the service's keys (`siamese.service.keys`)

The same interface as the SQLite `Store`, and one thing more: the database searches
(`searches`, `search`), so the gallery keeps no FAISS index beside it. Cosine is pgvector's
`<=>`, Euclidean its `<->`; a manhattan or learned model is refused (pgvector 0.6 has no L1
operator, and no database has the learned one): keep those in a SQLite gallery.

Every write is one transaction that first moves `generation` on, so writes from all
processes take their turn on that one row: two enrolments of one name at once both land,
under one identity. A forgotten person's rows are deleted, then the tables vacuumed (by a
role that owns them; another is told that it could not); docs/reliability.md says what
PostgreSQL may still hold. Tables are made only with the gallery: a role that owns nothing
and may read and write rows serves it (docs/scaling.md). A connection lost (the server
restarted, the network down) is a `GalleryUnavailableError`, and the next call connects again
(`siamese.gallery.postgres_connection`, which also bounds every statement in time).
"""

from __future__ import annotations

import contextlib
import logging
import time

import numpy as np

from siamese import numpy_distances
from siamese.errors import ConfigError, GalleryError
from siamese.gallery.location import gallery_location
from siamese.gallery.meta import new_meta, read_meta
from siamese.gallery.postgres_connection import Connection
from siamese.gallery.postgres_schema import has_gallery, make_gallery
from siamese.gallery.postgres_vacuum import vacuum

logger = logging.getLogger(__name__)
OPERATORS = {"cosine": ("<=>", "vector_cosine_ops"), "euclidean": ("<->", "vector_l2_ops")}
# benchmarks/gallery_scale.py, 100k 128-d unit embeddings, m 16: recall@1 0.982 at 100, 0.998 at 200 (p50 7 ms, 2 busy cores)
EF_SEARCH = 200
BULK_TIMEOUT_S = 600  # a bulk import (COPY of a shard) and VACUUM may take longer than one statement's timeout


def _matrix(vectors, dim: int) -> np.ndarray:
    """pgvector's `Vector`s as one (n, dim) float32 array."""
    return np.array([v.to_numpy() for v in vectors], np.float32).reshape(len(vectors), dim)


class PostgresStore:
    """A gallery's PostgreSQL database. `PostgresStore.create` makes one for a model; `PostgresStore(url)` opens one.

    Args:
        location: a `PostgresLocation` or a postgresql:// URL (password from PGPASSWORD or ~/.pgpass).
        ef_search: HNSW's search breadth (at least the number of neighbours asked for).
    """

    searches = True

    def __init__(self, location, *, ef_search: int = EF_SEARCH):
        self.location = gallery_location(location)
        self.path = self.location  # what messages name: the URL without its password
        self.ef_search = ef_search
        self._counted = ("", 0)  # (generation, embeddings) of the last count (`size`)
        self.connection = Connection(self.location)
        try:
            with self.connection.use() as db:
                meta = dict(db.execute("SELECT key, value FROM meta").fetchall()) if has_gallery(db) else None
            if meta is None:
                raise GalleryError(
                    f"{self.path}: no gallery in this database (create it with `siamese enroll --model ...`)"
                )
            self.model_id, self.model, self.distance_name, self.dim = read_meta(self.path, meta)
            self._operator = OPERATORS[self.distance_name][0]
        except BaseException:
            self.close()  # a store that could not open keeps no connection
            raise

    @classmethod
    def _bare(cls, location) -> PostgresStore:
        """A store that can connect but has read no gallery: to ask whether there is one, or to make it."""
        store = cls.__new__(cls)
        store.location = store.path = gallery_location(location)
        store.connection = Connection(store.location)
        return store

    @classmethod
    def exists(cls, location) -> bool:
        """Whether the database at `location` holds a gallery."""
        store = cls._bare(location)
        try:
            with store.connection.use() as db:
                return has_gallery(db)
        finally:
            store.close()

    @classmethod
    def create(cls, location, *, model_id: str, model: str, distance_name: str, dim: int) -> PostgresStore:
        """A new, empty gallery in the database at `location` (which must hold none yet) for the model `model_id`."""
        location = gallery_location(location)
        if distance_name not in OPERATORS:
            raise ConfigError(
                f"{location}: the model's distance {distance_name!r} has no pgvector operator "
                f"(cosine and euclidean have); keep this model's gallery in a file (SQLite)"
            )
        store = cls._bare(location)
        try:
            make_gallery(
                store.connection,
                location,
                OPERATORS[distance_name][1],
                dim,
                new_meta(model_id=model_id, model=model, distance_name=distance_name, dim=dim),
            )
        finally:
            store.close()
        return cls(location)

    @contextlib.contextmanager
    def _transaction(self, timeout_s: float | None = None):
        """A write: yields (connection, the generation it starts from), and moves the gallery to the next one.
        The generation's row lock makes writes from every process take their turn."""
        with self.connection.use(timeout_s=timeout_s) as db, db.transaction():
            after = int(
                db.execute(
                    "UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'generation' RETURNING value"
                ).fetchone()[0]
            )
            yield db, after - 1

    @property
    def generation(self) -> int:
        with self.connection.use() as db:
            return int(db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])

    def _check(self, vectors: np.ndarray, rows: int | None = None) -> np.ndarray:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim or (rows is not None and len(vectors) != rows):
            expected = f"{rows} embeddings" if rows is not None else "embeddings"
            raise GalleryError(f"{self.path}: {expected} of size {self.dim} expected, got shape {vectors.shape}")
        return vectors

    def add(self, name: str, vectors: np.ndarray) -> tuple[list[int], int]:
        """Store `vectors` (n, dim) under `name` (made if new), all or nothing; returns their row ids
        and the generation the gallery had just before."""
        vectors, now = self._check(vectors), time.time()
        with self._transaction() as (db, before):
            identity = db.execute(  # the new row, or the one there (DO NOTHING: no UPDATE right needed)
                "WITH made AS (INSERT INTO identities (name, created) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING "
                "RETURNING id) SELECT id FROM made UNION ALL SELECT id FROM identities WHERE name = %s",
                (name, now, name),
            ).fetchone()[0]
            ids = [
                db.execute(
                    "INSERT INTO embeddings (identity, vector, created) VALUES (%s, %s, %s) RETURNING id",
                    (identity, vector, now),
                ).fetchone()[0]
                for vector in vectors
            ]
        return ids, before

    def add_many(self, names: list[str], vectors: np.ndarray) -> int:
        """Store one embedding per name (row i under names[i]) in one transaction: a bulk import (COPY)."""
        vectors, now = self._check(vectors, len(names)), time.time()
        with self._transaction(BULK_TIMEOUT_S) as (db, _):
            db.execute(
                "INSERT INTO identities (name, created) SELECT DISTINCT unnest(%s::text[]), %s ON CONFLICT (name) DO NOTHING",
                (list(names), now),
            )
            ids = dict(
                db.execute("SELECT name, id FROM identities WHERE name = ANY(%s)", (list(set(names)),)).fetchall()
            )
            with db.cursor() as cursor:
                with cursor.copy("COPY embeddings (identity, vector, created) FROM STDIN WITH (FORMAT BINARY)") as copy:
                    copy.set_types(["int8", "vector", "float8"])
                    for name, vector in zip(names, vectors):
                        copy.write_row((ids[name], vector, now))
        return len(names)

    def remove(self, name: str) -> int:
        """Remove `name` and all its embeddings; returns how many embeddings went (`scrub` vacuums after)."""
        with self._transaction() as (db, _):
            row = db.execute("SELECT id FROM identities WHERE name = %s", (name,)).fetchone()
            if row is None:
                return 0
            count = db.execute("DELETE FROM embeddings WHERE identity = %s", row).rowcount
            db.execute("DELETE FROM identities WHERE id = %s", row)
        return count

    def scrub(self) -> bool:
        """After a removal, outside the gallery's lock: `vacuum` on a connection of its own, so the
        store's goes on answering meanwhile."""
        connection = Connection(self.location)
        try:
            return self.vacuum(connection)
        finally:
            connection.close()

    def count(self) -> int:
        """How many identities there are: one count, cheaper than `identities`."""
        with self.connection.use() as db:
            return db.execute("SELECT COUNT(*) FROM identities").fetchone()[0]

    def size(self) -> int:
        """How many embeddings there are (a gallery's size for the open-set point): one small
        statement, which counts them again only when the generation moved since the last count."""
        with self.connection.use() as db:
            generation, count = db.execute(
                "SELECT value, CASE WHEN value = %s THEN NULL ELSE (SELECT COUNT(*) FROM embeddings) END "
                "FROM meta WHERE key = 'generation'",
                (self._counted[0],),
            ).fetchone()
        if count is not None:
            self._counted = (generation, count)
        return self._counted[1]

    def vacuum(self, connection=None) -> bool:
        """`siamese.gallery.postgres_vacuum.vacuum` of this store's tables (on `connection`, or its own)."""
        return vacuum(self, connection or self.connection, BULK_TIMEOUT_S)

    def identities(self) -> list[tuple[str, int]]:
        """(name, number of embeddings) of every identity, by name (byte order, as SQLite sorts)."""
        with self.connection.use() as db:
            return db.execute(
                "SELECT i.name, COUNT(e.id) FROM identities i LEFT JOIN embeddings e ON e.identity = i.id "
                'GROUP BY i.id ORDER BY i.name COLLATE "C"'
            ).fetchall()

    def vectors(self):
        """(row ids (n,), vectors (n, dim), generation) of every embedding, from one snapshot, as `Store.vectors`."""
        with self.connection.use() as db, db.transaction():
            db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            generation = int(db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])
            rows = db.execute("SELECT id, vector FROM embeddings ORDER BY id", binary=True).fetchall()
        return np.array([i for i, _ in rows], np.int64), _matrix([v for _, v in rows], self.dim), generation

    def vectors_of(self, name: str) -> np.ndarray | None:
        """The embeddings (n, dim) enrolled under `name`, in enrolment order; None when no such identity."""
        with self.connection.use() as db, db.transaction():
            row = db.execute("SELECT id FROM identities WHERE name = %s", (name,)).fetchone()
            if row is None:
                return None
            rows = db.execute(
                "SELECT vector FROM embeddings WHERE identity = %s ORDER BY id", row, binary=True
            ).fetchall()
        return _matrix([v for (v,) in rows], self.dim)

    def names(self) -> list[str]:
        """Every identity's name, by name (byte order, as SQLite sorts)."""
        with self.connection.use() as db:
            return [n for (n,) in db.execute('SELECT name FROM identities ORDER BY name COLLATE "C"').fetchall()]

    def vectors_of_many(self, names: list[str]) -> np.ndarray:
        """The embeddings (n, dim) of the identities `names`, by name and then enrolment, in one statement."""
        with self.connection.use() as db:
            rows = db.execute(
                "SELECT e.vector FROM embeddings e JOIN identities i ON i.id = e.identity WHERE i.name = ANY(%s) "
                'ORDER BY i.name COLLATE "C", e.id',
                (list(names),),
                binary=True,
            ).fetchall()
        return _matrix([v for (v,) in rows], self.dim)

    def names_of(self, ids) -> dict:
        """Embedding row id -> identity name, for the given ids."""
        ids = [int(i) for i in ids if int(i) >= 0]
        if not ids:
            return {}
        with self.connection.use() as db:
            return dict(
                db.execute(
                    "SELECT e.id, i.name FROM embeddings e JOIN identities i ON i.id = e.identity WHERE e.id = ANY(%s)",
                    (ids,),
                ).fetchall()
            )

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(distances (q, k'), ids (q, k')) of the nearest embeddings by the model's distance, nearest
        first, found by the HNSW index in the database; k' is at most k (fewer when the gallery is smaller)."""
        queries = np.ascontiguousarray(queries, np.float32)
        found = []
        with self.connection.use() as db, db.transaction():
            db.execute(f"SET LOCAL hnsw.ef_search = {max(int(k), int(self.ef_search))}")
            for query in queries:
                found.append(
                    db.execute(
                        f"SELECT id, vector {self._operator} %s FROM embeddings ORDER BY vector {self._operator} %s LIMIT %s",
                        (query, query, int(k)),
                    ).fetchall()
                )
        width = min(len(rows) for rows in found) if found else 0
        ids = np.array([[i for i, _ in rows[:width]] for rows in found], np.int64).reshape(len(queries), width)
        raw = np.array([[d for _, d in rows[:width]] for rows in found], np.float64).reshape(len(queries), width)
        return self._distances(raw), ids

    def _distances(self, raw: np.ndarray) -> np.ndarray:
        """pgvector's distances as the model's (`siamese.numpy_distances`)."""
        if self.distance_name == "cosine":
            return numpy_distances.cosine_from_similarity(1.0 - raw)
        return numpy_distances.euclidean_from_squared(np.square(raw))

    def nearest(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, dict]:
        """(distances (k',), ids (k',), id -> identity name) of the embeddings nearest one `query` (dim,),
        in one statement: one round trip (the search breadth is set on the connection when it changes)."""
        breadth = max(int(k), int(self.ef_search))
        with self.connection.use() as db:
            if getattr(self, "_breadth", None) != (db, breadth):
                db.execute(f"SET hnsw.ef_search = {breadth}")
                self._breadth = (db, breadth)
            rows = db.execute(
                f"SELECT n.id, n.d, i.name FROM (SELECT id, identity, vector {self._operator} %s AS d FROM embeddings "
                f"ORDER BY vector {self._operator} %s LIMIT %s) n JOIN identities i ON i.id = n.identity ORDER BY n.d",
                (np.asarray(query, np.float32), np.asarray(query, np.float32), int(k)),
            ).fetchall()
        ids = np.array([i for i, _, _ in rows], np.int64)
        return self._distances(np.array([d for _, d, _ in rows], np.float64)), ids, {i: n for i, _, n in rows}

    def close(self) -> None:
        self.connection.close()
