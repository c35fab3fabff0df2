"""A hostile client against a real server (`siamese serve` on 127.0.0.1): images whose size their
header does not tell, too many images, keys checked before the body is read; the server's peak
memory read from /proc (VmHWM) stays under 1 GB, and it answers right afterwards."""

import socket
import sys
import time
from pathlib import Path

import pytest

from siamese.gallery import Gallery
from tests.reliability.test_hostile_images import MEASURED, UNMEASURED, bmp_rle
from tests.service.conftest import Server, keys_create, request

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/PID/status")


def peak_mib(pid: int) -> float:
    """The process's peak resident memory (VmHWM), MiB."""
    line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, run01):
    path = tmp_path_factory.mktemp("hostile") / "g.db"
    gallery = Gallery.create(path, "omniglot")
    gallery.enroll("class01", [run01 / "training" / "class01.png"])
    gallery.close()
    keys = {"write": keys_create(path, "writer", "--write"), "slow": keys_create(path, "slow")}
    server = Server(path).start()
    yield server, keys, path
    server.stop()


def test_hostile_uploads_are_refused_in_one_line_with_the_servers_memory_under_1_gb(hostile, run01):
    server, keys, _ = hostile
    odd = ("image", "odd.bmp", "image/bmp", bmp_rle(30_000, 30_000))
    status, answer = request(
        server.url + "/enroll", "POST", fields={"name": "blank"}, files=[odd] * 40, key=keys["write"]
    )
    assert (
        status == 422
        and answer["error"] == "odd.bmp: a BMP whose header does not tell its size; refused before decoding"
    )
    for kind, (data, problem) in UNMEASURED.items():
        status, answer = request(
            server.url + "/enroll",
            "POST",
            fields={"name": "x"},
            files=[("image", "odd", "image/bmp", data)],
            key=keys["write"],
        )
        refused = answer["error"].startswith(f"odd: {problem}") or status == 415  # a format the service never takes
        assert status in (415, 422) and refused and "\n" not in answer["error"], kind
    for kind, data in MEASURED.items():
        status, answer = request(
            server.url + "/enroll",
            "POST",
            fields={"name": "x"},
            files=[("image", "odd", "image/tiff", data)],
            key=keys["write"],
        )
        assert status in (413, 415) and "\n" not in answer["error"], (kind, answer)
    good = ("image", "c.png", "image/png", (run01 / "training" / "class02.png").read_bytes())
    status, answer = request(
        server.url + "/enroll", "POST", fields={"name": "many"}, files=[good] * 21, key=keys["write"]
    )
    assert status == 413 and answer["error"] == "21 images in one request, more than the 20 this service takes"
    assert peak_mib(server.process.pid) < 1024, f"the server's peak memory: {peak_mib(server.process.pid):.0f} MiB"
    assert request(server.url + "/health")[1]["identities"] == 1  # nobody enrolled from blank images
    status, answer = request(server.url + "/identify", "POST", files=[good], key=keys["write"])
    assert status == 200 and answer["candidates"][0]["name"] == "class01"


def _headers_only(server, key: str | None) -> tuple[int, float]:
    """(status, seconds) of a POST /enroll that announces a 5 MB body and sends none of it."""
    auth = f"Authorization: Bearer {key}\r\n" if key else ""
    head = (
        f"POST /enroll HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Length: 5000000\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\n\r\n"
    )
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(head.encode())
        answer = connection.recv(4096).decode("latin-1")
    return int(answer.split()[1]), time.perf_counter() - start


def test_the_key_and_its_rate_are_checked_before_the_body_is_read(hostile):
    _, keys, path = hostile
    server = Server(path, "--rate", "2/minute").start()
    try:
        status, seconds = _headers_only(server, None)
        assert status == 401 and seconds < 5  # answered without waiting for the 5 MB that never come
        assert _headers_only(server, "siamese_not-a-key")[0] == 401
        for _ in range(2):  # the rate's two requests, each refused later for its missing body
            request(server.url + "/identify", "POST", files=[], key=keys["slow"])
        status, seconds = _headers_only(server, keys["slow"])
        assert status == 429 and seconds < 5
    finally:
        server.stop()
