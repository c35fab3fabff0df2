"""API keys: made once, shown once, stored as hashes, checked in constant time.

A key is 32 random bytes (`siamese_...`, URL-safe); the gallery (its SQLite file, or its
PostgreSQL database: every service process on it shares the keys) keeps only its SHA-256,
with a name, whether it may write (enrol, forget) and whether it was revoked. A fast hash
suits keys of full entropy (no one guesses 256 bits); the comparison of digests uses
`hmac.compare_digest`, so timing tells nothing about how much of a key was right.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from pathlib import Path

from siamese.errors import GalleryError
from siamese.gallery import is_postgres
from siamese.gallery.meta import KEY_TABLE

PREFIX = "siamese_"


@dataclasses.dataclass(frozen=True)
class Key:
    name: str
    can_write: bool
    created: float
    revoked: float | None


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class _SqliteKeys:
    """The `api_keys` rows of an SQLite gallery's file, as `siamese.gallery.postgres_keys.KeyTable` keeps them
    in a PostgreSQL one (the table is made with the gallery; here too for a gallery made before that)."""

    def __init__(self, path: Path):
        if not path.is_file():
            raise GalleryError(f"{path}: no such gallery (enrol someone first, or create it with `siamese enroll`)")
        self._db = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            if (
                self._db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'api_keys'").fetchone()
                is None
            ):
                self._db.execute(KEY_TABLE)
        except sqlite3.DatabaseError as error:
            self._db.close()
            raise GalleryError(f"{path}: not a siamese gallery ({error})") from None

    def insert(self, name: str, digest: str, can_write: bool, created: float) -> bool:
        try:
            self._db.execute("INSERT INTO api_keys VALUES (?, ?, ?, ?, NULL)", (name, digest, int(can_write), created))
        except sqlite3.IntegrityError:
            return False
        return True

    def revoke(self, name: str, when: float) -> bool:
        sql = "UPDATE api_keys SET revoked = ? WHERE name = ? AND revoked IS NULL"
        return self._db.execute(sql, (when, name)).rowcount > 0

    def rows(self) -> list[tuple]:
        return self._db.execute("SELECT name, can_write, created, revoked FROM api_keys ORDER BY name").fetchall()

    def row(self, digest: str) -> tuple | None:
        sql = "SELECT name, digest, can_write, created, revoked FROM api_keys WHERE digest = ?"
        return self._db.execute(sql, (digest,)).fetchone()

    def close(self) -> None:
        self._db.close()


class KeyStore:
    """The keys of one gallery (table `api_keys` beside the gallery's own, in its file or its database)."""

    def __init__(self, gallery_path):
        self.local = not is_postgres(gallery_path)  # an SQLite file: a check is a local read, in microseconds
        if is_postgres(gallery_path):
            from siamese.gallery.postgres_keys import KeyTable

            self._table = KeyTable(gallery_path)
        else:
            self._table = _SqliteKeys(Path(gallery_path))
        self._lock = threading.Lock()

    def create(self, name: str, *, can_write: bool = False) -> str:
        """A new key named `name`; the key itself is returned once and never stored."""
        if not name or len(name) > 100 or not name.isprintable():
            raise GalleryError(f"key name {name!r}: must be 1 to 100 printable characters")
        key = PREFIX + secrets.token_urlsafe(32)
        with self._lock:
            if not self._table.insert(name, _digest(key), can_write, time.time()):
                raise GalleryError(f"key name {name!r}: exists already")
        return key

    def revoke(self, name: str) -> None:
        with self._lock:
            if not self._table.revoke(name, time.time()):
                raise GalleryError(f"no active key named {name!r}")

    def list(self) -> list[Key]:
        with self._lock:
            rows = self._table.rows()
        return [Key(name, bool(write), created, revoked) for name, write, created, revoked in rows]

    def check(self, key: str | None) -> Key | None:
        """The active key that `key` is, or None (no such key, or revoked)."""
        if not key or not key.startswith(PREFIX) or len(key) > 200:
            return None
        digest = _digest(key)
        with self._lock:
            row = self._table.row(digest)
        if row is None or not hmac.compare_digest(row[1], digest) or row[4] is not None:
            return None
        return Key(row[0], bool(row[2]), row[3], row[4])

    def close(self) -> None:
        self._table.close()
