"""Two `siamese serve` processes on one PostgreSQL gallery answer as one; a database gone is a 503.

Real servers on 127.0.0.1 over a real PostgreSQL (`tests.postgres`)."""

import time

import pytest

from siamese.gallery import Gallery
from tests.postgres import PostgresServer
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
    """A PostgreSQL server of the test's own, which it may stop and start again."""
    server = PostgresServer().start()
    yield server
    server.remove()


def test_a_stopped_database_is_a_503_with_one_line_and_the_service_recovers(own_postgres, run01):
    url = own_postgres.new_database()
    Gallery.create(url, "omniglot").close()
    key = keys_create(url, "writer", "--write")
    server = Server(url).start()
    try:
        assert (
            request(server.url + "/enroll", "POST", fields={"name": "class03"}, files=_image(run01, 3), key=key)[0]
            == 200
        )
        own_postgres.stop()
        status, answer = request(server.url + "/identify", "POST", files=_image(run01, 3), key=key)
        assert status == 503 and set(answer) == {"error"} and "\n" not in answer["error"]
        assert (
            answer["error"].startswith("PostgreSQL unavailable") and url not in answer["error"]
        )  # the address is the server's own
        deadline = time.monotonic() + 10  # /health counts off the request path: within a count or two
        while (health := request(server.url + "/health"))[0] == 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        status, answer = health  # a load balancer sends no one here meanwhile
        assert status == 503 and answer["error"].startswith("PostgreSQL unavailable") and url not in answer["error"]
        own_postgres.start()
        assert _identify(server, key, run01, 3)["name"] == "class03"  # connects again; nothing answered 200 was lost
        deadline = time.monotonic() + 10
        while request(server.url + "/health")[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert request(server.url + "/health")[0] == 200
    finally:
        server.stop()
