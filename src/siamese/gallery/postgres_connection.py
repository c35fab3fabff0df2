"""One connection to a gallery's PostgreSQL database: made again when it was lost, never left waiting.

The gallery's store and the service's key table talk to the database through it.

- Bounds. Each session gets a statement, lock and idle-in-transaction timeout (`SESSION`,
  where the server, the role, the database or the URL's `options` set none of its own) and
  TCP keepalives; a use that outlives its statement timeout by `GRACE_S` (a server frozen, a
  network gone silent: no timer of the server's fires then) has its socket shut by a watchdog
  thread, so the caller gets an error within seconds rather than waiting for ever.
- Backoff. A connect that failed is tried again only after a wait that doubles from
  `FIRST_BACKOFF_S` to `MAX_BACKOFF_S`; meanwhile every use fails at once with the last reason,
  so requests queued on a lost database do not each wait out a connect in turn.
- Errors. A server that cannot be reached, or a connection lost, is a `GalleryUnavailableError`
  (the service: 503); a statement the server refused or gave up on (a timeout, a deadlock, no
  right to a table) is a `GalleryDatabaseError` (500). Neither carries libpq's text, which
  names the server's host, port or socket folder: a reason from a short list instead, and
  the whole text to this module's debug log.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time

from siamese.errors import ConfigError, GalleryDatabaseError, GalleryUnavailableError

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 3  # libpq's least is 2
CONNECTION = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}
CONNECTION["tcp_user_timeout"] = 20_000  # ms: data unacknowledged this long drops the connection
SESSION = {"statement_timeout": "10s", "lock_timeout": "5s", "idle_in_transaction_session_timeout": "60s"}
GRACE_S = 2.0
FIRST_BACKOFF_S, MAX_BACKOFF_S = 0.25, 4.0
# what a failed connect or a lost connection is called, found in libpq's text (which is never shown)
_REASONS = [
    (("refused",), "connection refused"),
    (("timeout expired", "timed out"), "no answer to the connection"),
    (("translate host name", "not known", "resolve"), "host name not found"),
    (("no such file or directory",), "no server at the socket"),
    (("authentication", "pg_hba.conf", "password"), "authentication refused"),
    (('database "',), "no such database"),
    (('role "',), "no such role"),
    (("starting up", "shutting down", "recovery mode", "administrator command"), "the server is starting or stopping"),
    (("too many clients", "connection slots"), "too many connections"),
    (("ssl",), "SSL negotiation failed"),
]
_STATEMENT = {"57014": "statement timeout or cancelled", "55P03": "lock timeout", "40P01": "deadlock"}
_STATEMENT |= {"40001": "serialization failure", "25P03": "idle in transaction too long"}


def psycopg_modules():
    """(psycopg, pgvector's register_vector), or a ConfigError naming the extra to install."""
    try:
        import psycopg
        from pgvector.psycopg import register_vector
    except ImportError:
        raise ConfigError("a PostgreSQL gallery needs psycopg and pgvector: pip install 'siamese[postgres]'") from None
    return psycopg, register_vector


def _reason(text: str) -> str:
    text = text.lower()
    return next((said for words, said in _REASONS if any(word in text for word in words)), "connection lost")


class _Watchdog:
    """One thread for every connection of the process: shuts the socket of a use past its deadline."""

    def __init__(self):
        self._lock, self._busy, self._thread = threading.Lock(), {}, None

    def watch(self, token, fd: int, deadline: float) -> None:
        with self._lock:
            self._busy[token] = (fd, deadline)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="siamese-pg-watchdog", daemon=True)
                self._thread.start()

    def done(self, token) -> None:
        with self._lock:
            self._busy.pop(token, None)

    def _run(self) -> None:
        while True:
            time.sleep(0.1)
            with self._lock:
                if not self._busy:
                    self._thread = None
                    return
                for token, (fd, deadline) in list(self._busy.items()):
                    if time.monotonic() > deadline:
                        del self._busy[token]
                        token.timed_out = True
                        with contextlib.suppress(OSError), socket.socket(fileno=os.dup(fd)) as peer:
                            peer.shutdown(socket.SHUT_RDWR)  # the blocked read returns: the connection is lost


_WATCHDOG = _Watchdog()


class Connection:
    """The connection to the database at `location` (a `PostgresLocation`), opened on first use."""

    def __init__(self, location):
        self.location = location
        self._db, self._statement_s = None, None
        self._backoff, self._retry_at, self._last_reason = 0.0, 0.0, None

    def _unavailable(self, reason: str) -> GalleryUnavailableError:
        return GalleryUnavailableError(f"{self.location}: PostgreSQL unavailable ({reason})")

    def _connect(self):
        psycopg, register_vector = psycopg_modules()
        given = psycopg.conninfo.conninfo_to_dict(self.location.url)
        extra = {key: value for key, value in CONNECTION.items() if key not in given}
        defaults = {"application_name": "siamese", "connect_timeout": CONNECT_TIMEOUT_S, **extra}
        db = psycopg.connect(self.location.url, autocommit=True, **{**defaults, **given})  # the URL's own win
        setting = _Use()  # a server that froze just after accepting is not waited for either
        _WATCHDOG.watch(setting, db.pgconn.socket, time.monotonic() + CONNECT_TIMEOUT_S + GRACE_S)
        try:
            db.execute(  # ours only where nothing (server, role, database, the URL's options) set one
                "SELECT set_config(s.name, d.value, false) FROM pg_settings s "
                "JOIN unnest(%s::text[], %s::text[]) AS d(name, value) ON d.name = s.name WHERE s.source = 'default'",
                (list(SESSION), list(SESSION.values())),
            )
            statement, has_vector = db.execute(
                "SELECT current_setting('statement_timeout')::interval, to_regtype('vector') IS NOT NULL"
            ).fetchone()
            if has_vector:
                register_vector(db)  # numpy arrays in and out as pgvector's binary vectors
        except BaseException:
            db.close()
            raise
        finally:
            _WATCHDOG.done(setting)
        self._statement_s = statement.total_seconds() or None  # 0: no timeout, no watchdog
        return db

    def _open(self):
        """The open connection, made again when it was lost, unless the last attempt failed too recently."""
        psycopg, _ = psycopg_modules()
        if self._db is not None and not self._db.closed and not self._db.broken:
            return self._db
        self.close()
        if time.monotonic() < self._retry_at:
            raise self._unavailable(self._last_reason)
        try:
            self._db = self._connect()
        except psycopg.Error as error:
            logger.debug("connecting to %s failed: %s", self.location, error)
            self._backoff = min(MAX_BACKOFF_S, max(FIRST_BACKOFF_S, 2 * self._backoff))
            self._retry_at, self._last_reason = time.monotonic() + self._backoff, _reason(str(error))
            raise self._unavailable(self._last_reason) from None
        self._backoff, self._retry_at = 0.0, 0.0
        return self._db

    def _failure(self, error, db, use):
        """The typed error of a psycopg error raised while `db` was in `use`."""
        psycopg, _ = psycopg_modules()
        logger.debug("a statement on %s failed: %s", self.location, error)
        state = error.sqlstate or ""
        if use.timed_out:
            return self._unavailable(f"no answer within {use.limit + GRACE_S:g} s")
        if db.broken or db.closed or state.startswith("08") or state in ("57P01", "57P02", "57P03"):
            return self._unavailable(_reason(str(error)))
        if isinstance(error, psycopg.errors.InsufficientPrivilege):  # a managed server's user without rights
            return GalleryDatabaseError(f"{self.location}: {error.diag.message_primary}")
        said = _STATEMENT.get(state, f"SQLSTATE {state or 'none'}")
        return GalleryDatabaseError(f"{self.location}: the database did not complete a statement ({said})")

    @staticmethod
    def _set_timeout(db, seconds: float) -> None:
        db.execute("SELECT set_config('statement_timeout', %s, false)", (f"{int(seconds * 1000)}ms",))

    @contextlib.contextmanager
    def use(self, *, timeout_s: float | None = None):
        """The open connection; lost or unreachable: GalleryUnavailableError; a statement refused:
        GalleryDatabaseError. `timeout_s`: this use's statement timeout (0: none) instead of the session's."""
        psycopg, _ = psycopg_modules()
        db, use, restored = self._open(), _Use(), timeout_s is None
        try:
            if timeout_s is not None:
                self._set_timeout(db, timeout_s)
            use.limit = self._statement_s if timeout_s is None else (timeout_s or None)
            if use.limit is not None:
                _WATCHDOG.watch(use, db.pgconn.socket, time.monotonic() + use.limit + GRACE_S)
            yield db
            if not restored:
                self._set_timeout(db, self._statement_s or 0)
                restored = True
        except psycopg.Error as error:
            raise self._failure(error, db, use) from None
        finally:
            _WATCHDOG.done(use)
            if not restored:  # the session keeps no timeout of this use's: made afresh next time
                self.close()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


class _Use:
    """One use of the connection, as the watchdog knows it."""

    timed_out, limit = False, None
