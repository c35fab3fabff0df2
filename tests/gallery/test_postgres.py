"""What a gallery in PostgreSQL promises beyond the common store interface: many processes on
one database, forgetting for all, schema and distance checks, a typed error when the server is
gone (told at once while it stays gone, within seconds when it freezes), statements bounded in
time, no connection left by a failed open, an honest VACUUM, and no secret or server address
in anything printed. A real server (`tests.postgres`)."""

import concurrent.futures
import contextlib
import os
import socket
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

from siamese.cli import main
from siamese.errors import ConfigError, GalleryUnavailableError
from siamese.gallery import Gallery, gallery_location, open_store
from siamese.gallery.postgres import PostgresStore
from tests.conftest import BUNDLED
from tests.postgres import LEAST_RIGHTS, _free_port
from tests.postgres import sql as _sql

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


@pytest.fixture(scope="module")
def characters(tmp_path_factory):
    """run01's twenty training drawings, class01.png .. class20.png."""
    root = tmp_path_factory.mktemp("run")
    with zipfile.ZipFile(BUNDLED / "all_runs.zip") as archive:
        archive.extractall(root, members=[n for n in archive.namelist() if n.startswith("run01/training/")])
    return root / "run01" / "training"


def test_the_database_searches_and_no_index_is_kept(postgres_url, characters):
    gallery = Gallery.create(postgres_url, "omniglot")
    gallery.enroll("class01", [characters / "class01.png"])
    assert gallery.index is None and gallery.index_path is None
    assert gallery.identify(characters / "class01.png").name == "class01"
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute("SET enable_seqscan = off")  # one row: the planner would scan; is the index usable by <=>?
        query = str(gallery.model.embed(characters / "class02.png")[0].tolist()).replace(" ", "")
        plan = db.execute(f"EXPLAIN SELECT id FROM embeddings ORDER BY vector <=> '{query}' LIMIT 5").fetchall()
    indexes = _sql(postgres_url, "SELECT indexdef FROM pg_indexes WHERE indexname = 'embeddings_by_vector'")
    assert "USING hnsw (vector vector_cosine_ops)" in indexes[0][0]
    assert "Index Scan using embeddings_by_vector" in "\n".join(row[0] for row in plan)


def test_forget_removes_for_every_process_and_vacuums(postgres_url, characters):
    first = Gallery.create(postgres_url, "omniglot")
    second = Gallery.open(postgres_url)
    for k in (1, 2):
        first.enroll(f"class{k:02d}", [characters / f"class{k:02d}.png"])
    assert second.identify(characters / "class02.png").name == "class02"  # enrolled by the other: found at once
    assert second.forget("class02") == 1
    assert first.identify(characters / "class02.png").candidates[0].name == "class01"
    assert first.store.vectors_of("class02") is None and first.identities() == [("class01", 1)]
    vacuumed = _sql(
        postgres_url,
        "SELECT relname, last_vacuum IS NOT NULL FROM pg_stat_user_tables "
        "WHERE relname IN ('identities', 'embeddings') ORDER BY relname",
    )
    assert vacuumed == [("embeddings", True), ("identities", True)]  # autovacuum would not have come yet


_ENROL_MANY = """
import sys
import numpy as np
from siamese.gallery.postgres import PostgresStore

store = PostgresStore(sys.argv[1])
rng = np.random.default_rng(int(sys.argv[2]))
for _ in range(25):
    store.add("same", rng.normal(size=(2, store.dim)))
store.close()
"""


def test_an_identification_reads_the_size_in_one_small_statement_not_every_identity(postgres_url, characters):
    """The open-set point needs the gallery's size: it used to come from every identity's name and
    count (a GROUP BY over all embeddings, sent whole) on each identification."""
    gallery = Gallery.create(postgres_url, "omniglot")
    gallery.enroll("class01", [characters / "class01.png", characters / "class02.png"])
    gallery.enroll("class03", [characters / "class03.png"])
    gallery.store.identities = lambda: pytest.fail("every identity read to identify one image")
    assert gallery.identify(characters / "class03.png").name == "class03"
    assert gallery.store.size() == 3
    gallery.forget("class01")
    assert gallery.store.size() == 1 and Gallery.open(postgres_url).store.size() == 1


def test_two_processes_enrolling_one_name_at_once_end_consistent(postgres_url):
    store = PostgresStore.create(postgres_url, model_id="m" * 64, model="test", distance_name="euclidean", dim=8)
    writers = [
        subprocess.Popen([sys.executable, "-c", _ENROL_MANY, postgres_url, str(seed)], env=ENV, stderr=subprocess.PIPE)
        for seed in (1, 2)
    ]
    for writer in writers:
        assert writer.wait(timeout=120) == 0, writer.stderr.read().decode()
    ids, vectors, generation = store.vectors()
    assert store.identities() == [("same", 100)] and generation == 50 and len(set(ids.tolist())) == 100
    assert np.isfinite(vectors).all()


@pytest.mark.parametrize("version", ["0", "2"])
def test_a_gallery_of_another_schema_is_refused_with_one_line(postgres_url, version, capsys):
    PostgresStore.create(postgres_url, model_id="m" * 64, model="test", distance_name="cosine", dim=8).close()
    _sql(postgres_url, "UPDATE meta SET value = %s WHERE key = 'schema_version'", (version,))
    assert main(["gallery", "--gallery", postgres_url]) == 2
    err = capsys.readouterr().err
    assert err == f"siamese: error: {postgres_url}: gallery schema '{version}', this version reads 1\n"


@pytest.mark.parametrize("distance", ["manhattan", "learned"])
def test_a_distance_without_a_pgvector_operator_is_refused(postgres_url, distance):
    with pytest.raises(ConfigError, match=f"the model's distance '{distance}' has no pgvector operator"):
        PostgresStore.create(postgres_url, model_id="m" * 64, model="test", distance_name=distance, dim=8)
    assert not PostgresStore.exists(postgres_url)


def test_a_database_without_a_gallery_is_named(postgres_url, capsys):
    assert main(["gallery", "--gallery", postgres_url]) == 2
    assert capsys.readouterr().err == f"siamese: error: {postgres_url}: no gallery in this database " + (
        "(create it with `siamese enroll --model ...`)\n"
    )


def test_an_unreachable_server_is_a_typed_error_and_one_line_without_the_password(characters, capsys):
    url = f"postgresql://someone:sekret-word@127.0.0.1:{_free_port()}/people"
    with pytest.raises(
        GalleryUnavailableError, match=r"^postgresql://someone@127.0.0.1:\d+/people: PostgreSQL unavailable"
    ):
        open_store(url)
    assert main(["identify", "--gallery", url, str(characters / "class01.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "PostgreSQL unavailable" in err and "sekret" not in err


def test_the_cli_never_prints_a_password(postgres_server, characters, capsys):
    url = postgres_server.new_database().replace("postgres@", "postgres:sekret-word@")  # trust: the password is unused
    assert main(["enroll", "--gallery", url, "class01", str(characters / "class01.png")]) == 0
    assert main(["gallery", "--gallery", url]) == 0
    assert main(["identify", "--gallery", url, str(characters / "class01.png")]) == 0
    out = capsys.readouterr().out
    assert "enrolled class01: 1 embedding(s) in new gallery postgresql://postgres@127.0.0.1:" in out
    assert "sekret" not in out and out.count("class01") >= 3


def test_a_user_without_rights_on_the_tables_is_told_in_one_line(postgres_url, capsys):
    PostgresStore.create(postgres_url, model_id="m" * 64, model="test", distance_name="cosine", dim=8).close()
    visitor = "visitor_" + postgres_url.rsplit("/", 1)[1]
    _sql(postgres_url, f"CREATE ROLE {visitor} LOGIN")
    url = postgres_url.replace("postgres@", f"{visitor}@")
    assert main(["gallery", "--gallery", url]) == 2
    assert capsys.readouterr().err == f"siamese: error: {url}: permission denied for table meta\n"


def _siamese_connections(url) -> int:
    """How many connections siamese holds open to the database at `url`."""
    name = url.rsplit("/", 1)[1].split("?")[0]
    return _sql(
        url, "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = 'siamese'", (name,)
    )[0][0]


def _visitor(url, *grants) -> str:
    """The URL of a new role of the database's own (it owns nothing), with `grants` run for it."""
    role = "visitor_" + url.rsplit("/", 1)[1]
    _sql(url, f"CREATE ROLE {role} LOGIN")
    for grant in grants:
        _sql(url, grant.format(role=role))
    return url.replace("postgres@", f"{role}@")


def test_no_connection_is_left_open_where_opening_or_creating_fails(postgres_url, monkeypatch):
    import psycopg

    from siamese.errors import GalleryError
    from siamese.gallery import postgres_connection
    from siamese.service import KeyStore

    failures = []  # each failure's traceback holds the store it came from, as a caller's would
    with pytest.raises(GalleryError, match="no gallery") as caught:
        KeyStore(postgres_url)
    failures.append(caught)
    PostgresStore.create(postgres_url, model_id="m" * 64, model="test", distance_name="cosine", dim=8).close()
    with pytest.raises(GalleryError, match="holds a gallery already") as caught:
        PostgresStore.create(postgres_url, model_id="m" * 64, model="test", distance_name="cosine", dim=8)
    failures.append(caught)
    with pytest.raises(GalleryError, match="permission denied for table meta") as caught:
        PostgresStore(_visitor(postgres_url))
    failures.append(caught)
    with monkeypatch.context() as patch:  # connected, then the vector adapter fails

        def adapter_fails(db):
            raise RuntimeError("no adapter")

        patch.setattr(postgres_connection, "psycopg_modules", lambda: (psycopg, adapter_fails))
        with pytest.raises(RuntimeError, match="no adapter") as caught:
            PostgresStore(postgres_url)
    failures.append(caught)
    _sql(postgres_url, "DELETE FROM meta WHERE key = 'dim'")
    with pytest.raises(GalleryError, match="not a siamese gallery .its meta table lacks dim") as caught:
        PostgresStore(postgres_url)
    failures.append(caught)
    assert _siamese_connections(postgres_url) == 0 and len(failures) == 5


def test_a_lost_server_is_not_tried_again_by_every_caller_in_turn(tmp_path):
    """A server that accepts and never answers: the first caller waits out one connect, the next
    are told at once (until the backoff is over), and no message names the host, port or socket."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    port = silent.getsockname()[1]
    try:
        store = PostgresStore._bare(f"postgresql://someone@127.0.0.1:{port}/people")
        started = time.monotonic()
        reasons = []
        for _ in range(10):
            with pytest.raises(GalleryUnavailableError) as caught:
                with store.connection.use():
                    pass
            reasons.append(str(caught.value).removeprefix(f"{store.location}: "))
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert 2 <= elapsed < 6, elapsed  # one connect timeout (3 s), not ten
    assert set(reasons) == {"PostgreSQL unavailable (no answer to the connection)"}
    socket_folder = f"postgresql:///people?host={tmp_path}&port={_free_port()}&user=someone"
    with pytest.raises(GalleryUnavailableError) as caught:
        open_store(socket_folder)
    said = str(caught.value).removeprefix(f"{gallery_location(socket_folder)}: ")
    assert said == "PostgreSQL unavailable (no server at the socket)"
    assert tmp_path.name not in str(caught.value).replace(str(gallery_location(socket_folder)), "")


def test_a_statement_timed_out_or_refused_is_not_a_lost_server(postgres_url):
    PostgresStore.create(postgres_url, model_id="m" * 64, model="test", distance_name="cosine", dim=8).close()
    store = PostgresStore(postgres_url)
    with store.connection.use() as db:  # siamese's bounds where the server set none
        assert [db.execute(f"SHOW {name}").fetchone()[0] for name in ("statement_timeout", "lock_timeout")] == [
            "10s",
            "5s",
        ]
    quick = PostgresStore(postgres_url + "?options=-c%20statement_timeout%3D300%20-c%20lock_timeout%3D200&keepalives=0")
    with quick.connection.use() as db:  # and the URL's own where it sets them
        assert db.execute("SHOW lock_timeout").fetchone()[0] == "200ms"
    from siamese.errors import GalleryDatabaseError

    with pytest.raises(GalleryDatabaseError, match=r"did not complete a statement \(statement timeout or cancelled\)"):
        with quick.connection.use() as db:
            db.execute("SELECT pg_sleep(2)")
    import psycopg

    with psycopg.connect(postgres_url) as holder:  # another session holds the gallery's tables
        holder.execute("LOCK TABLE meta IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(GalleryDatabaseError, match=r"\(lock timeout\)"):
            quick.add("someone", np.ones((1, 8)))
    assert quick.identities() == [] and not isinstance(GalleryDatabaseError("x"), GalleryUnavailableError)
    quick.close()
    store.close()


def test_a_frozen_server_is_unavailable_within_seconds_and_found_again():
    from tests.postgres import start_server

    server = start_server()
    try:
        url = server.new_database()
        PostgresStore.create(url, model_id="m" * 64, model="test", distance_name="cosine", dim=8).close()
        store = PostgresStore(url + "?options=-c%20statement_timeout%3D1000")
        store.add("someone", np.ones((1, 8)))
        server.pause()
        pool = concurrent.futures.ThreadPoolExecutor(1)
        try:
            started, waiting = time.monotonic(), pool.submit(store.identities)
            with pytest.raises(GalleryUnavailableError, match=r"PostgreSQL unavailable \(no answer within 3 s\)"):
                waiting.result(timeout=10)  # no server-side timer fires in a frozen server: the client's does
            assert time.monotonic() - started < 6
        finally:
            server.pause(resume=True)
            pool.shutdown()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(GalleryUnavailableError):
                assert store.identities() == [("someone", 1)]
                break
            time.sleep(0.2)
        else:
            pytest.fail("the store did not connect again")
        store.close()
    finally:
        server.remove()


def test_forget_by_a_role_that_cannot_vacuum_says_so(postgres_url, caplog):
    PostgresStore.create(postgres_url, model_id="m" * 64, model="test", distance_name="cosine", dim=8).close()
    url = _visitor(postgres_url, *LEAST_RIGHTS)
    store = PostgresStore(url)
    store.add("someone", np.ones((2, 8)))
    with caplog.at_level("WARNING", logger="siamese.gallery.postgres"):
        assert store.remove("someone") == 2  # the rows are gone for everyone ...
        assert store.scrub() is False  # (the forget's VACUUM, after the gallery's lock, on its own connection)
    assert store.identities() == []
    assert "deleted rows not vacuumed (permission denied to vacuum" in caplog.text  # ... and that it was not vacuumed
    vacuumed = _sql(postgres_url, "SELECT bool_or(last_vacuum IS NOT NULL) FROM pg_stat_user_tables")
    assert vacuumed == [(False,)] and store.vacuum() is False
    store.close()
    owner = PostgresStore(postgres_url)
    assert owner.vacuum() is True
    owner.close()


def test_no_secret_of_a_url_is_shown():
    url = (
        "postgresql://app:pass-word-1@db.example:5433/people?sslmode=verify-full&sslpassword=pass-word-2"
        "&password=pass-word-3&sslkey=/keys/app.key&passfile=/keys/pgpass&application_name=x"
    )
    shown = str(gallery_location(url))
    assert shown == "postgresql://app@db.example:5433/people?sslmode=verify-full&application_name=x"
    assert gallery_location(url).url == url  # kept for connecting


def test_a_server_that_does_not_start_fails_the_tests_and_only_a_missing_package_skips_them(monkeypatch):
    import tests.postgres

    def broken(server):
        raise subprocess.CalledProcessError(1, "pg_ctl", stderr=b"could not bind IPv4 address")

    monkeypatch.setattr(tests.postgres.PostgresServer, "start", broken)
    with pytest.raises(pytest.fail.Exception, match="did not start.*could not bind IPv4 address"):
        tests.postgres.start_server()
    monkeypatch.setitem(sys.modules, "pgvector", None)  # as where the package is not installed
    with pytest.raises(pytest.skip.Exception, match="pgvector is not installed"):
        tests.postgres.start_server()
