"""One connection to a gallery's PostgreSQL database, made again when it was lost.

The gallery's store and the service's key table talk to the database through it: a lost
server (restarted, the network down) is a `GalleryUnavailableError` and the next use
connects again; a user without rights on the tables is one line, not a traceback.
"""

from __future__ import annotations

import contextlib

from siamese.errors import ConfigError, GalleryError, GalleryUnavailableError

CONNECT_TIMEOUT_S = 5


def psycopg_modules():
    """(psycopg, pgvector's register_vector), or a ConfigError naming the extra to install."""
    try:
        import psycopg
        from pgvector.psycopg import register_vector
    except ImportError:
        raise ConfigError("a PostgreSQL gallery needs psycopg and pgvector: pip install 'siamese[postgres]'") from None
    return psycopg, register_vector


def one_line(error) -> str:
    """PostgreSQL's message, on one line."""
    return " ".join(str(error).split()) or type(error).__name__


class Connection:
    """The connection to the database at `location` (a `PostgresLocation`), opened on first use."""

    def __init__(self, location):
        self.location = location
        self._db = None

    def _connect(self):
        psycopg, register_vector = psycopg_modules()
        db = psycopg.connect(
            self.location.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S, application_name="siamese"
        )
        if db.execute("SELECT to_regtype('vector') IS NOT NULL").fetchone()[0]:
            register_vector(db)  # numpy arrays in and out as pgvector's binary vectors
        return db

    @contextlib.contextmanager
    def use(self):
        """The open connection (made again when it was lost); a lost server is GalleryUnavailableError."""
        psycopg, _ = psycopg_modules()
        try:
            if self._db is None or self._db.closed or self._db.broken:
                if self._db is not None:
                    self._db.close()
                self._db = self._connect()
            yield self._db
        except (psycopg.OperationalError, psycopg.InterfaceError) as error:
            raise GalleryUnavailableError(f"{self.location}: PostgreSQL unavailable ({one_line(error)})") from None
        except psycopg.errors.InsufficientPrivilege as error:  # a managed server's user without rights on the tables
            raise GalleryError(f"{self.location}: {one_line(error)}") from None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
