"""The gallery's storage: identities and their embeddings in one SQLite file, never images.

    identities(id, name UNIQUE, created)
    embeddings(id, identity -> identities ON DELETE CASCADE, vector BLOB float32, created)
    meta(key, value): schema_version, model_id, model, distance, dim, generation (`siamese.gallery.meta`)
    api_keys: the service's keys (`siamese.service.keys`)

One transaction per enrolment or removal; WAL, so readers in other processes go on while
one writes; `secure_delete`, and a WAL checkpoint after each removal (`scrub`, on a
connection of its own), so the bytes of a forgotten person are overwritten in the file
rather than left in free pages. `generation`
grows with every change: an index built from an older generation is out of date.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path

import numpy as np

from siamese.errors import GalleryError
from siamese.gallery.meta import KEY_TABLE, new_meta, read_meta

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS identities (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS embeddings (
    id INTEGER PRIMARY KEY,
    identity INTEGER NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
    vector BLOB NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS embeddings_by_identity ON embeddings(identity);
"""


class Store:
    """A gallery's SQLite file. `Store.create` makes one for a model; `Store(path)` opens one."""

    searches = False  # the gallery searches it with a FAISS index (siamese.gallery.index)

    def __init__(self, path, *, timeout: float = 30.0):
        self.path = Path(path)
        if not self.path.is_file():
            raise GalleryError(f"{self.path}: no such gallery (create it with `siamese enroll --model ...`)")
        self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
        try:
            self._configure()
            meta = dict(self._db.execute("SELECT key, value FROM meta"))
            self.model_id, self.model, self.distance_name, self.dim = read_meta(self.path, meta)
        except (sqlite3.DatabaseError, GalleryError) as error:
            self._db.close()  # a file that is no gallery of ours keeps no connection open
            if isinstance(error, GalleryError):
                raise
            raise GalleryError(f"{self.path}: not a siamese gallery ({error})") from None

    @classmethod
    def create(cls, path, *, model_id: str, model: str, distance_name: str, dim: int) -> Store:
        """A new, empty gallery for the model `model_id` (embeddings of `dim` numbers, compared by the distance named `distance_name`)."""
        path = Path(path)
        if path.exists():
            raise GalleryError(f"{path}: exists already")
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.new")
        db = sqlite3.connect(draft, isolation_level=None)  # made whole aside, then linked in where nothing is
        try:
            db.executescript(_SCHEMA)
            db.execute(KEY_TABLE)
            meta = new_meta(model_id=model_id, model=model, distance_name=distance_name, dim=dim)
            with db:
                db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            os.link(draft, path)  # fails where another process made it first: its gallery stays, whole
        except FileExistsError:
            raise GalleryError(f"{path}: exists already") from None
        finally:
            db.close()
            draft.unlink(missing_ok=True)
        return cls(path)

    def _configure(self) -> None:
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA secure_delete=ON")
        self._db.execute("PRAGMA foreign_keys=ON")

    @contextlib.contextmanager
    def _transaction(self):
        """A write, alone (BEGIN IMMEDIATE takes the write lock): yields the generation it starts
        from, and moves the gallery to the next one."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self.generation
            self._db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    @property
    def generation(self) -> int:
        return int(self._db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])

    def add(self, name: str, vectors: np.ndarray) -> tuple[list[int], int]:
        """Store `vectors` (n, dim) under `name` (made if new), all or nothing; returns their row ids
        and the generation the gallery had just before (no other write came in between)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise GalleryError(f"{self.path}: embeddings of size {self.dim} expected, got shape {vectors.shape}")
        now = time.time()
        with self._transaction() as before:
            self._db.execute("INSERT OR IGNORE INTO identities (name, created) VALUES (?, ?)", (name, now))
            identity = self._db.execute("SELECT id FROM identities WHERE name = ?", (name,)).fetchone()[0]
            ids = [
                self._db.execute(
                    "INSERT INTO embeddings (identity, vector, created) VALUES (?, ?, ?)",
                    (identity, vector.tobytes(), now),
                ).lastrowid
                for vector in vectors
            ]
        return ids, before

    def add_many(self, names: list[str], vectors: np.ndarray) -> int:
        """Store one embedding per name (row i under names[i]) in one transaction: a bulk import."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape != (len(names), self.dim):
            raise GalleryError(
                f"{self.path}: {len(names)} embeddings of size {self.dim} expected, got shape {vectors.shape}"
            )
        now = time.time()
        with self._transaction():
            self._db.executemany(
                "INSERT OR IGNORE INTO identities (name, created) VALUES (?, ?)", ((n, now) for n in names)
            )
            ids = dict(self._db.execute("SELECT name, id FROM identities"))
            self._db.executemany(
                "INSERT INTO embeddings (identity, vector, created) VALUES (?, ?, ?)",
                ((ids[n], v.tobytes(), now) for n, v in zip(names, vectors)),
            )
        return len(names)

    def remove(self, name: str) -> int:
        """Remove `name` and all its embeddings; returns how many embeddings went (0: unknown name)."""
        with self._transaction():
            row = self._db.execute("SELECT id FROM identities WHERE name = ?", (name,)).fetchone()
            if row is None:
                return 0
            count = self._db.execute("DELETE FROM embeddings WHERE identity = ?", (row[0],)).rowcount
            self._db.execute("DELETE FROM identities WHERE id = ?", (row[0],))
        return count

    def scrub(self) -> None:
        """After a removal: empty the WAL, which held the deleted rows' pages (its own connection, so the
        store's goes on answering meanwhile)."""
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.close()

    def count(self) -> int:
        """How many identities there are: one count, cheaper than `identities`."""
        return self._db.execute("SELECT COUNT(*) FROM identities").fetchone()[0]

    def identities(self) -> list[tuple[str, int]]:
        """(name, number of embeddings) of every identity, by name."""
        return self._db.execute(
            "SELECT i.name, COUNT(e.id) FROM identities i LEFT JOIN embeddings e ON e.identity = i.id "
            "GROUP BY i.id ORDER BY i.name"
        ).fetchall()

    def vectors(self) -> tuple[np.ndarray, np.ndarray, int]:
        """(row ids (n,), vectors (n, dim), generation) of every stored embedding, read in one snapshot."""
        with self._snapshot() as generation:
            rows = self._db.execute("SELECT id, vector FROM embeddings ORDER BY id").fetchall()
        return (*self._rows(rows), generation)

    def changes(self, held: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """What changed since an index holding the embeddings `held` (row ids) was made, read in
        one snapshot: (ids of those forgotten since, ids (n,) and vectors (n, dim) of those
        enrolled since, generation)."""
        with self._snapshot() as generation:
            stored = np.array([row[0] for row in self._db.execute("SELECT id FROM embeddings")], dtype=np.int64)
            new = np.setdiff1d(stored, held)
            rows = [
                row
                for start in range(0, len(new), 500)
                for row in self._db.execute(
                    f"SELECT id, vector FROM embeddings WHERE id IN ({','.join('?' * len(new[start : start + 500]))}) ORDER BY id",
                    [int(i) for i in new[start : start + 500]],
                )
            ]
        return (np.setdiff1d(held, stored), *self._rows(rows), generation)

    @contextlib.contextmanager
    def _snapshot(self):
        """One read transaction: yields the generation the reads inside it see."""
        self._db.execute("BEGIN")
        try:
            yield self.generation
        finally:
            self._db.execute("COMMIT")

    def _rows(self, rows) -> tuple[np.ndarray, np.ndarray]:
        ids = np.array([row[0] for row in rows], dtype=np.int64)
        return ids, np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32).reshape(len(rows), self.dim)

    def vectors_of(self, name: str) -> np.ndarray | None:
        """The embeddings (n, dim) enrolled under `name`, in enrolment order; None when no such identity."""
        row = self._db.execute("SELECT id FROM identities WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        blobs = [b for (b,) in self._db.execute("SELECT vector FROM embeddings WHERE identity = ? ORDER BY id", row)]
        return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), self.dim)

    def names(self) -> list[str]:
        """Every identity's name, by name."""
        return [n for (n,) in self._db.execute("SELECT name FROM identities ORDER BY name")]

    def vectors_of_many(self, names: list[str]) -> np.ndarray:
        """The embeddings (n, dim) of the identities `names`, by name and then enrolment (500 names a statement)."""
        names = sorted(names)
        blobs = [
            blob
            for start in range(0, len(names), 500)
            for (blob,) in self._db.execute(
                "SELECT e.vector FROM embeddings e JOIN identities i ON i.id = e.identity "
                f"WHERE i.name IN ({','.join('?' * len(names[start : start + 500]))}) ORDER BY i.name, e.id",
                names[start : start + 500],
            )
        ]
        return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), self.dim)

    def names_of(self, ids) -> dict:
        """Embedding row id -> identity name, for the given ids."""
        ids = [int(i) for i in ids]
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        return dict(
            self._db.execute(
                f"SELECT e.id, i.name FROM embeddings e JOIN identities i ON i.id = e.identity WHERE e.id IN ({marks})",
                ids,
            )
        )

    def close(self) -> None:
        self._db.close()
