"""Running the service: per-key rate limits, the access log, Prometheus metrics. A real server on 127.0.0.1."""

import re
import time

import pytest

from siamese.gallery import Gallery
from tests.service.conftest import Server, exchange, keys_create, request


@pytest.fixture(scope="module")
def limited(tmp_path_factory, run01):
    """A server at 3 requests a minute per key, logging its requests to a file; keys a, b and a writer."""
    folder = tmp_path_factory.mktemp("limited")
    gallery = Gallery.create(folder / "g.db", "omniglot")
    gallery.enroll("class01", [run01 / "training" / "class01.png"])
    gallery.close()
    keys = {name: keys_create(folder / "g.db", name) for name in ("reader-a", "reader-b")}
    keys["writer"] = keys_create(folder / "g.db", "writer", "--write")
    server = Server(folder / "g.db", "--rate", "3/minute", "--access-log", str(folder / "access.log")).start()
    yield server, keys, folder / "access.log"
    server.stop()


def identify(server, key, run01, k=1):
    files = [("image", "q.png", "image/png", (run01 / "training" / f"class{k:02d}.png").read_bytes())]
    return exchange(server.url + "/identify", "POST", files=files, key=key)


def test_a_key_over_its_rate_is_429_with_retry_after_and_other_keys_go_on(limited, run01):
    server, keys, _ = limited
    assert [identify(server, keys["reader-a"], run01)[0] for _ in range(3)] == [200, 200, 200]
    status, answer, headers = identify(server, keys["reader-a"], run01)
    assert status == 429 and "'reader-a' is over its rate of 3/minute" in answer["error"]
    assert 1 <= int(headers["retry-after"]) <= 60
    assert identify(server, keys["reader-b"], run01)[0] == 200  # each key has its own count
    assert request(server.url + "/health")[0] == 200  # no key, no count


def test_the_access_log_names_the_key_never_the_key_or_the_image(limited, run01):
    server, keys, log = limited
    identify(server, keys["reader-b"], run01)
    assert exchange(server.url + "/identities/class01", "DELETE", key=keys["writer"])[0] == 200
    exchange(server.url + "/identify", "POST", files=[], key="siamese_wrong")
    expected = [
        r"POST /identify 200 [\d.]+ ms key=reader-b$",
        r"DELETE /identities/\{name\} 200 [\d.]+ ms key=writer$",
        r"POST /identify 401 [\d.]+ ms key=-$",
    ]

    def logged():
        return all(re.search(pattern, log.read_text(), re.MULTILINE) for pattern in expected)

    deadline = time.monotonic() + 10  # a line is written once its answer has gone out: it may come a moment later
    while not logged() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert logged(), log.read_text()
    text = log.read_text()
    assert not any(key in text for key in keys.values()) and "siamese_wrong" not in text
    assert "class01" not in text and "PNG" not in text  # no person's name from the path, no image bytes


def test_metrics_count_requests_by_route_and_status_and_the_gallerys_size(limited):
    server, _, _ = limited
    status, text, headers = exchange(server.url + "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")

    def count(route, status):
        found = re.search(rf'siamese_requests_total{{method="[A-Z]+",route="{re.escape(route)}",status="{status}"}} (\S+)', text)  # fmt: skip
        return float(found.group(1)) if found else 0.0

    before = count("/health", 200), count("/identify", 401)
    request(server.url + "/health")
    exchange(server.url + "/identify", "POST", files=[], key="siamese_wrong")
    status, text, _ = exchange(server.url + "/metrics")
    assert (count("/health", 200), count("/identify", 401)) == (before[0] + 1, before[1] + 1)
    assert re.search(r'siamese_request_duration_seconds_count{route="/identify"} \d', text)
    assert re.search(r"^siamese_gallery_identities [01]\.0$", text, re.MULTILINE)
