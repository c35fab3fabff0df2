"""The service's API keys in a PostgreSQL gallery's database, beside its identities, so that
every service process and host on the gallery shares them (`siamese.service.keys`, which
keeps the same rows in an SQLite gallery's file). The table is made with the gallery
(`siamese.gallery.meta`): opening it makes nothing, so a role that owns nothing can."""

from __future__ import annotations

from siamese.gallery.meta import KEY_TABLE
from siamese.gallery.postgres import PostgresStore
from siamese.gallery.postgres_connection import psycopg_modules


class KeyTable:
    """The `api_keys` rows of the PostgreSQL gallery at `location` (name, digest, can_write, created, revoked)."""

    def __init__(self, location):
        self._store = PostgresStore(location)  # a gallery must be there, as for a file
        try:
            with self._store.connection.use() as db:
                if db.execute("SELECT to_regclass('api_keys') IS NULL").fetchone()[0]:
                    db.execute(KEY_TABLE)  # a gallery made before its keys were part of it: once, by its owner
        except BaseException:
            self._store.close()
            raise

    def insert(self, name: str, digest: str, can_write: bool, created: float) -> bool:
        """Store a new key's row; False when its name (or digest) is taken."""
        psycopg, _ = psycopg_modules()
        with self._store.connection.use() as db:
            try:
                db.execute(
                    "INSERT INTO api_keys VALUES (%s, %s, %s, %s, NULL)", (name, digest, int(can_write), created)
                )
            except psycopg.IntegrityError:
                return False
        return True

    def revoke(self, name: str, when: float) -> bool:
        """Mark the active key `name` revoked at `when`; False when there is none."""
        with self._store.connection.use() as db:
            sql = "UPDATE api_keys SET revoked = %s WHERE name = %s AND revoked IS NULL"
            return db.execute(sql, (when, name)).rowcount > 0

    def rows(self) -> list[tuple]:
        """(name, can_write, created, revoked) of every key, by name."""
        with self._store.connection.use() as db:
            return db.execute("SELECT name, can_write, created, revoked FROM api_keys ORDER BY name").fetchall()

    def row(self, digest: str) -> tuple | None:
        """(name, digest, can_write, created, revoked) of the key with this digest, or None."""
        with self._store.connection.use() as db:
            sql = "SELECT name, digest, can_write, created, revoked FROM api_keys WHERE digest = %s"
            return db.execute(sql, (digest,)).fetchone()

    def close(self) -> None:
        self._store.close()
