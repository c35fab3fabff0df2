"""The tables of a PostgreSQL gallery, made once, with the gallery: the one time a role must own
anything (every later use reads and writes rows only; docs/scaling.md has the grants)."""

from __future__ import annotations

from siamese.errors import GalleryError
from siamese.gallery.meta import KEY_TABLE
from siamese.gallery.postgres_connection import psycopg_modules

HNSW_NEIGHBOURS = 16  # pgvector's default m: its graph is built in the database, where a larger one costs inserts
EF_CONSTRUCTION = 64


def has_gallery(db) -> bool:
    """Whether the database `db` is connected to holds a gallery (its meta table)."""
    return db.execute("SELECT to_regclass('meta') IS NOT NULL").fetchone()[0]


def make_gallery(connection, location: str, operator_class: str, dim: int, meta: dict) -> None:
    """The gallery's tables, its indexes (the HNSW one by pgvector's `operator_class`) and its
    meta rows, in one transaction on `connection` (a `postgres_connection.Connection`)."""
    psycopg, _ = psycopg_modules()
    with connection.use() as db, db.transaction():
        db.execute("SELECT pg_advisory_xact_lock(hashtext('siamese gallery'))")  # two creators: one makes it
        if has_gallery(db):
            raise GalleryError(f"{location}: holds a gallery already")
        try:
            db.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except psycopg.Error as error:  # not permitted, or pgvector not on the server at all
            raise GalleryError(
                f"{location}: no pgvector extension ({error.diag.message_primary}); "
                "the database's owner runs: CREATE EXTENSION vector"
            ) from None
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute(
            "CREATE TABLE identities (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE, created DOUBLE PRECISION NOT NULL)"
        )
        db.execute(
            f"CREATE TABLE embeddings (id BIGSERIAL PRIMARY KEY, "
            f"identity BIGINT NOT NULL REFERENCES identities(id) ON DELETE CASCADE, "
            f"vector vector({int(dim)}) NOT NULL, created DOUBLE PRECISION NOT NULL)"
        )
        db.execute("CREATE INDEX embeddings_by_identity ON embeddings(identity)")
        db.execute(
            f"CREATE INDEX embeddings_by_vector ON embeddings USING hnsw (vector {operator_class}) "
            f"WITH (m = {HNSW_NEIGHBOURS}, ef_construction = {EF_CONSTRUCTION})"
        )
        db.execute(KEY_TABLE)
        with db.cursor() as cursor:
            cursor.executemany("INSERT INTO meta VALUES (%s, %s)", list(meta.items()))
