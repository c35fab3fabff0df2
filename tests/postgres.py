"""A real PostgreSQL server with pgvector for the tests, from the `pgserver` wheel's binaries.

Started once per session on 127.0.0.1 at a free port, in a temporary folder of its own,
stopped and removed at the end; each test gets a fresh database on it (`postgres_url`).
Where pgserver, psycopg or pgvector is not installed, the tests that need a server skip and
say so; where they are installed and the server does not start, those tests fail (with the
server's own output), so that CI never passes by skipping them.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import uuid
import warnings
from pathlib import Path

import pytest

LEAST_RIGHTS = (  # what a role that owns nothing needs to serve a gallery (docs/scaling.md)
    "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}",
    "GRANT INSERT, DELETE ON identities, embeddings TO {role}",
    "GRANT UPDATE (value) ON meta TO {role}",
    "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}",
)


def sql(url, statement, parameters=()):
    """The rows of one statement run on the database at `url` (None for a statement without rows)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        cursor = db.execute(statement, parameters)
        return cursor.fetchall() if cursor.description else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """initdb + pg_ctl on 127.0.0.1:`port`; trust authentication for the user postgres."""

    def __init__(self):
        with warnings.catch_warnings():  # pgserver looks for a runtime folder at import; these tests need none
            warnings.simplefilter("ignore")
            import pgserver
            import pgserver.utils

        self.bin = Path(pgserver.__file__).parent / "pginstall" / "bin"
        self.folder = Path(tempfile.mkdtemp(prefix="siamese-pg-"))
        self.data, self.port = self.folder / "data", _free_port()
        self.user = None
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root: as pgserver does, run it as its own user
            from pgserver.utils import ensure_folder_permissions, ensure_user_exists

            self.user = ensure_user_exists("pgserver").pw_name
            ensure_folder_permissions(self.bin, 0o055)
            ensure_folder_permissions(self.bin.parent / "lib", 0o044)
            os.chmod(self.folder, 0o755)
            shutil.chown(self.folder, self.user)

    def _run(self, *args, timeout=60):
        subprocess.run(
            [str(self.bin / args[0]), *args[1:]], check=True, capture_output=True, user=self.user, timeout=timeout
        )

    def start(self) -> "PostgresServer":
        if not (self.data / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.data), "--auth=trust", "-U", "postgres", "--encoding=utf8")
        self._run(
            "pg_ctl", "-D", str(self.data), "-w", "-l", str(self.folder / "log"),
            "-o", f"-h 127.0.0.1 -p {self.port} -k {self.folder}", "start",
        )  # fmt: skip
        return self

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-m", "fast", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def pause(self, resume: bool = False) -> None:
        """Freeze every process of the server (SIGSTOP; a hung machine, a silent network), or thaw them."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _parent(p) == postmaster]
        for pid in [postmaster, *children]:
            os.kill(pid, signal.SIGCONT if resume else signal.SIGSTOP)

    def new_database(self) -> str:
        """The URL of a fresh, empty database (pgvector not yet installed in it)."""
        import psycopg

        name = "g_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def remove(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # stopped already (a test stops its own server)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def _parent(process: Path) -> int | None:
    try:
        return int((process / "stat").read_text().rpartition(")")[2].split()[1])
    except (OSError, IndexError, ValueError):
        return None  # gone meanwhile


def start_server() -> PostgresServer:
    """A started server; a skip only where its packages are not installed, a failure (saying why) where it
    does not start."""
    for package in ("pgserver", "psycopg", "pgvector"):
        with warnings.catch_warnings():  # pgserver's import warns of a runtime folder these tests need not
            warnings.simplefilter("ignore")
            pytest.importorskip(package, reason=f"no PostgreSQL server for the tests: {package} is not installed")
    server = PostgresServer()
    try:
        return server.start()
    except (OSError, KeyError, subprocess.SubprocessError) as error:
        output = getattr(error, "stderr", b"") or b""
        server.remove()
        pytest.fail(f"the PostgreSQL server for the tests did not start: {error!r} {output.decode(errors='replace')}")


@pytest.fixture(scope="session")
def postgres_server():
    """The session's PostgreSQL server."""
    server = start_server()
    yield server
    server.remove()


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """A fresh database on the session's server."""
    return postgres_server.new_database()
