"""The service's API keys in a PostgreSQL gallery's database, beside its identities, so that
every service process and host on the gallery shares them (`siamese.service.keys`)."""

from __future__ import annotations

from siamese.gallery.postgres import PostgresStore
from siamese.gallery.postgres_connection import psycopg_modules


class KeyTable:
    """The service's API keys in a PostgreSQL gallery's database, spoken to as sqlite3 is
    (`execute(sql, params)` with ? marks), so `siamese.service.keys` keeps one set of queries."""

    def __init__(self, location, schema: str):
        self._store = PostgresStore(location)  # a gallery must be there, as for a file
        self.execute(schema)

    @staticmethod
    def duplicate() -> type:
        """The error of a second row with the same key (name or digest)."""
        return psycopg_modules()[0].IntegrityError

    def execute(self, sql: str, parameters=()):
        with self._store.connection.use() as db:
            return db.execute(sql.replace("?", "%s"), parameters)

    def close(self) -> None:
        self._store.close()
