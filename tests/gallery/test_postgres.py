"""What a gallery in PostgreSQL promises beyond the common store interface: many processes on
one database, forgetting for all, schema and distance checks, a typed error when the server is
gone, and no password in anything printed. A real server (`tests.postgres`)."""

import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from siamese.cli import main
from siamese.errors import ConfigError, GalleryUnavailableError
from siamese.gallery import Gallery, open_store
from siamese.gallery.postgres import PostgresStore
from tests.conftest import BUNDLED
from tests.postgres import _free_port

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


@pytest.fixture(scope="module")
def characters(tmp_path_factory):
    """run01's twenty training drawings, class01.png .. class20.png."""
    root = tmp_path_factory.mktemp("run")
    with zipfile.ZipFile(BUNDLED / "all_runs.zip") as archive:
        archive.extractall(root, members=[n for n in archive.namelist() if n.startswith("run01/training/")])
    return root / "run01" / "training"


def _sql(url, statement, parameters=()):
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        cursor = db.execute(statement, parameters)
        return cursor.fetchall() if cursor.description else None


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
