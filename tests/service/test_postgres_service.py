"""Two `siamese serve` processes on one PostgreSQL gallery answer as one; a database stopped or
frozen is a 503 that says nothing of where it lives, a statement it gave up on a 500, and
`/health` says so within seconds; a role that owns nothing serves; a failed start leaks nothing.

Real servers on 127.0.0.1 over a real PostgreSQL (`tests.postgres`)."""

import json
import logging
import time

import pytest

from siamese.errors import ConfigError
from siamese.gallery import Gallery
from siamese.service.factory import ServiceConfig, open_service
from tests.postgres import LEAST_RIGHTS, start_server
from tests.postgres import sql as _sql
from tests.service.conftest import Server, keys_create, request


def _image(run01, k: int):
    return [("image", "x.png", "image/png", (run01 / "training" / f"class{k:02d}.png").read_bytes())]


def _identify(server, key, run01, k: int) -> dict:
    status, answer = request(server.url + "/identify", "POST", files=_image(run01, k), key=key)
    assert status == 200, answer
    return answer


def test_an_enrolment_on_one_process_is_found_by_the_other_and_forget_is_for_all(postgres_url, run01):
    gallery = Gallery.create(postgres_url, "omniglot")
    gallery.enroll("class01", [run01 / "training" / "class01.png"])
    gallery.close()
    key = keys_create(postgres_url, "writer", "--write")  # one key table in the database: both servers know it
    first, second = Server(postgres_url).start(), Server(postgres_url).start()
    try:
        assert _identify(second, key, run01, 7)["name"] == "unknown"
        status, answer = request(
            first.url + "/enroll", "POST", fields={"name": "class07"}, files=_image(run01, 7), key=key
        )
        assert status == 200 and answer["embeddings"] == 1
        assert _identify(second, key, run01, 7)["name"] == "class07"
        assert request(second.url + "/identities/class07", "DELETE", key=key) == (
            200,
            {"name": "class07", "removed": 1},
        )
        assert _identify(first, key, run01, 7)["name"] == "unknown"
        assert request(first.url + "/identities/class07", "DELETE", key=key)[0] == 404
        assert request(first.url + "/health")[1]["identities"] == request(second.url + "/health")[1]["identities"] == 1
    finally:
        first.stop()
        second.stop()


@pytest.fixture
def own_postgres(postgres_server):
    """A PostgreSQL server of the test's own, which it may stop, freeze and start again."""
    server = start_server()
    yield server
    server.remove()


def _where(server) -> list[str]:
    """What would tell a client where the database lives: host, port, socket folder (as given and by name)."""
    return ["127.0.0.1", "localhost", str(server.port), str(server.folder), server.folder.name, ".s.PGSQL"]


def _silent(answer, server) -> bool:
    text = json.dumps(answer)
    return not [where for where in _where(server) if where in text]


def _url(server, how: str, options: str = "") -> str:
    """A new database's URL over TCP (host and port) or over the server's Unix socket (its folder)."""
    url = server.new_database()
    if how == "socket":
        url = f"postgresql:///{url.rsplit('/', 1)[1]}?host={server.folder}&port={server.port}&user=postgres"
    return url + (("&" if "?" in url else "?") + options if options else "")


@pytest.mark.parametrize("how", ["tcp", "socket"])
def test_a_stopped_database_is_a_503_that_says_nothing_of_where_it_lives_and_the_service_recovers(
    own_postgres, run01, how
):
    url = _url(own_postgres, how)
    Gallery.create(url, "omniglot").close()
    key = keys_create(url, "writer", "--write")
    server = Server(url).start()
    try:
        enrol = request(server.url + "/enroll", "POST", fields={"name": "class03"}, files=_image(run01, 3), key=key)
        assert enrol[0] == 200
        own_postgres.stop()
        answers = [
            request(server.url + "/identify", "POST", files=_image(run01, 3), key=key),
            request(server.url + "/enroll", "POST", fields={"name": "class04"}, files=_image(run01, 4), key=key),
            request(server.url + "/identities/class03", "DELETE", key=key),
        ]
        deadline = time.monotonic() + 10  # /health counts off the request path: within a count or two
        while (health := request(server.url + "/health"))[0] == 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        for status, answer in [*answers, health]:  # /health too: a load balancer sends no one here meanwhile
            assert status == 503 and set(answer) == {"error"} and "\n" not in answer["error"], answer
            assert answer["error"].startswith("PostgreSQL unavailable (") and _silent(answer, own_postgres), answer
        own_postgres.start()
        deadline = time.monotonic() + 10  # connects again (after its backoff); nothing answered 200 was lost
        while (found := request(server.url + "/identify", "POST", files=_image(run01, 3), key=key))[0] != 200:
            assert time.monotonic() < deadline, found
            time.sleep(0.2)
        assert found[1]["name"] == "class03"
        deadline = time.monotonic() + 10
        while request(server.url + "/health")[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert request(server.url + "/health")[0] == 200
    finally:
        server.stop()


def test_a_frozen_database_is_a_503_within_seconds_and_health_says_so(own_postgres, run01):
    """A database that answers nothing (SIGSTOP: a hung host, a silent network): no timer of its own fires."""
    url = _url(own_postgres, "tcp", "options=-c%20statement_timeout%3D1000")
    Gallery.create(url, "omniglot").close()
    key = keys_create(url, "reader")
    server = Server(url).start()
    try:
        assert _identify(server, key, run01, 3)["name"] == "unknown"
        own_postgres.pause()
        try:
            started = time.monotonic()
            status, answer = request(server.url + "/identify", "POST", files=_image(run01, 3), key=key, timeout=20)
            assert status == 503 and time.monotonic() - started < 6, (status, answer)
            assert answer["error"] == "PostgreSQL unavailable (no answer within 3 s)"
            deadline = time.monotonic() + 8
            while (health := request(server.url + "/health", timeout=5))[0] == 200 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert health[0] == 503 and _silent(health[1], own_postgres), health
        finally:
            own_postgres.pause(resume=True)
        deadline = time.monotonic() + 10
        while request(server.url + "/health")[0] != 200:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert _identify(server, key, run01, 3)["name"] == "unknown"
    finally:
        server.stop()


def test_a_locked_table_is_a_500_that_says_nothing_and_health_reports_it(postgres_server, run01):
    import psycopg

    url = _url(postgres_server, "tcp", "options=-c%20lock_timeout%3D300")
    Gallery.create(url, "omniglot").close()
    key = keys_create(url, "writer", "--write")
    server = Server(url).start()
    try:
        with psycopg.connect(url.split("?")[0]) as holder:  # another session holds the gallery's tables
            holder.execute("LOCK TABLE meta, identities, embeddings IN ACCESS EXCLUSIVE MODE")
            status, answer = request(
                server.url + "/enroll", "POST", fields={"name": "x"}, files=_image(run01, 3), key=key
            )
            assert (status, answer) == (500, {"error": "the gallery's database failed this request"})
            deadline = time.monotonic() + 8
            while (health := request(server.url + "/health"))[0] == 200 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert health == (503, {"error": "the gallery cannot be read now"})
        deadline = time.monotonic() + 10
        while request(server.url + "/health")[0] != 200:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        status, _ = request(server.url + "/enroll", "POST", fields={"name": "x"}, files=_image(run01, 3), key=key)
        assert status == 200
    finally:
        server.stop()
    assert "lock timeout" in server.process.stderr.read()  # the reason is in the service's log, for its operator


def test_a_role_that_owns_nothing_serves_identifies_enrols_and_forgets(postgres_url, run01):
    Gallery.create(postgres_url, "omniglot").close()  # by the database's owner, as are the keys
    key = keys_create(postgres_url, "writer", "--write")
    role = "server_" + postgres_url.rsplit("/", 1)[1]
    _sql(postgres_url, f"CREATE ROLE {role} LOGIN")
    for grant in LEAST_RIGHTS:
        _sql(postgres_url, grant.format(role=role))
    url = postgres_url.replace("postgres@", f"{role}@")
    server = Server(url).start()
    try:
        assert request(server.url + "/health")[0] == 200
        status, answer = request(
            server.url + "/enroll", "POST", fields={"name": "class07"}, files=_image(run01, 7), key=key
        )
        assert (status, answer["embeddings"]) == (200, 1)
        status, answer = request(
            server.url + "/enroll", "POST", fields={"name": "class07"}, files=_image(run01, 7), key=key
        )
        assert (status, answer["embeddings"]) == (200, 1)  # a second enrolment of one name: no UPDATE right needed
        assert _identify(server, key, run01, 7)["name"] == "class07"
        assert request(server.url + "/identities/class07", "DELETE", key=key) == (
            200,
            {"name": "class07", "removed": 2},
        )
        assert _identify(server, key, run01, 7)["name"] == "unknown"
    finally:
        server.stop()
    assert "deleted rows not vacuumed (permission denied to vacuum" in server.process.stderr.read()
    owned = _sql(postgres_url, "SELECT count(*) FROM pg_class WHERE pg_get_userbyid(relowner) = %s", (role,))
    assert owned == [(0,)]


def test_a_service_that_fails_to_open_leaves_no_connection_or_log_handler(postgres_url, tmp_path):
    Gallery.create(postgres_url, "omniglot").close()
    access = logging.getLogger("siamese.service.access")
    handlers = list(access.handlers)
    config = ServiceConfig(gallery=postgres_url, rate="many", access_log=str(tmp_path / "access.log"))
    with pytest.raises(ConfigError) as caught:  # the rate is refused after the gallery and keys were opened
        open_service(config)
    assert access.handlers == handlers and caught.value is not None
    name = postgres_url.rsplit("/", 1)[1]
    sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = 'siamese'"
    assert _sql(postgres_url, sql, (name,)) == [(0,)]
