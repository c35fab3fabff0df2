"""The HTTP service as clients meet it: keys, routes, limits, bad images; a real server on 127.0.0.1."""

import struct
import subprocess
import sys
import zlib

import pytest

from tests.service.conftest import ENV, request


def png(path):
    return path.read_bytes()


def test_health_page_and_docs_need_no_key(service):
    server, _ = service
    status, health = request(server.url + "/health")
    assert status == 200 and health["status"] == "ok" and health["identities"] == 10 and health["engine"] == "onnx"
    status, page = request(server.url + "/")
    assert status == 200 and "<title>siamese</title>" in page
    status, spec = request(server.url + "/openapi.json")
    assert status == 200 and {"/verify", "/identify", "/enroll", "/identities/{name}"} <= set(spec["paths"])


def test_verify_and_identify_answer_with_the_library_fields(service, run01):
    server, keys = service
    files = [
        ("image1", "a.png", "image/png", png(run01 / "test" / "item06.png")),
        ("image2", "b.png", "image/png", png(run01 / "training" / "class18.png")),
    ]
    status, answer = request(server.url + "/verify", "POST", files=files, key=keys["read"])
    assert status == 200 and answer["same"] is True and round(answer["distance"], 4) == 0.1177
    assert answer["threshold"] == pytest.approx(0.3205, abs=1e-4) and len(answer["model_id"]) == 64
    status, answer = request(
        server.url + "/identify",
        "POST",
        fields={"top": "3"},
        files=[("image", "q.png", "image/png", png(run01 / "training" / "class04.png"))],
        key=keys["read"],
    )
    assert status == 200 and answer["name"] == "class04" and answer["known"] is True and len(answer["candidates"]) == 3
    status, answer = request(
        server.url + "/identify",
        "POST",
        files=[("image", "q.png", "image/png", png(run01 / "training" / "class15.png"))],
        key=keys["read"],
    )
    assert status == 200 and answer["name"] == "unknown" and answer["known"] is False


@pytest.mark.parametrize("key, status", [(None, 401), ("siamese_wrong", 401), ("Basic abc", 401)])
def test_no_key_or_a_wrong_one_is_401(service, run01, key, status):
    server, _ = service
    files = [("image", "q.png", "image/png", png(run01 / "training" / "class04.png"))]
    got, answer = request(server.url + "/identify", "POST", files=files, key=key)
    assert got == status and "API key" in answer["error"]


def test_enrol_and_forget_need_a_write_key(service, run01):
    server, keys = service
    files = [("image", "x.png", "image/png", png(run01 / "training" / "class19.png"))]
    status, answer = request(server.url + "/enroll", "POST", fields={"name": "class19"}, files=files, key=keys["read"])
    assert status == 403 and "may read only" in answer["error"]
    status, answer = request(
        server.url + "/enroll", "POST", fields={"name": "class19"}, files=files * 2, key=keys["write"]
    )
    assert status == 200 and answer == {"name": "class19", "embeddings": 2, "model_id": answer["model_id"]}
    assert request(server.url + "/identities/class19", "DELETE", key=keys["read"])[0] == 403
    assert request(server.url + "/identities/class19", "DELETE", key=keys["write"]) == (
        200,
        {"name": "class19", "removed": 2},
    )
    assert request(server.url + "/identities/class19", "DELETE", key=keys["write"])[0] == 404


def test_a_revoked_key_is_refused(service, run01):
    server, _ = service
    from tests.service.conftest import keys_create

    key = keys_create(server.gallery, "temporary")
    files = [("image", "q.png", "image/png", png(run01 / "training" / "class04.png"))]
    assert request(server.url + "/identify", "POST", files=files, key=key)[0] == 200
    subprocess.run(
        [sys.executable, "-m", "siamese", "keys", "revoke", "--gallery", str(server.gallery), "temporary"],
        env=ENV,
        check=True,
        capture_output=True,
    )
    assert request(server.url + "/identify", "POST", files=files, key=key)[0] == 401


def _bomb() -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 50_000, 50_000, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\0" * 100))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    "upload, status, reason",
    [
        (("q.png", "text/plain", b"hello"), 415, "content type 'text/plain' is not an image type"),
        (
            ("q.png", "image/png", b"<html>not an image</html>"),
            415,
            "not an image (its first bytes are no image format's)",
        ),
        (
            ("bomb.png", "image/png", _bomb()),
            413,
            "bomb.png: declares 2,500,000,000 pixels, more than the 4,000,000 this service takes",
        ),
        (("cut.png", "image/png", None), 422, "cut.png: truncated or corrupt PNG"),
        (("empty.png", "image/png", b""), 400, "empty.png: empty upload"),
    ],
)
def test_bad_uploads_are_4xx_with_one_line_and_never_500(service, run01, upload, status, reason):
    server, keys = service
    filename, kind, data = upload
    if data is None:
        data = png(run01 / "training" / "class04.png")[:300]
    got, answer = request(server.url + "/identify", "POST", files=[("image", filename, kind, data)], key=keys["read"])
    assert got == status and reason in answer["error"]
    assert "\n" not in answer["error"]


def test_a_cli_enrolment_in_another_process_is_seen_by_the_server(service, run01):
    server, keys = service
    enrolled = subprocess.run(
        [
            sys.executable,
            "-m",
            "siamese",
            "enroll",
            "--gallery",
            str(server.gallery),
            "class16",
            str(run01 / "training" / "class16.png"),
        ],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert enrolled.returncode == 0, enrolled.stderr
    files = [("image", "q.png", "image/png", png(run01 / "training" / "class16.png"))]
    assert request(server.url + "/identify", "POST", files=files, key=keys["read"])[1]["name"] == "class16"
    assert request(server.url + "/identities/class16", "DELETE", key=keys["write"])[0] == 200


def _raw(server, key, head: bytes, body_chunks=()):
    """Send a request by hand and read the answer's first bytes (the server may answer before the body)."""
    import socket

    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as connection:
        connection.sendall(
            b"POST /identify HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
            + key.encode()
            + b"\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            + head
            + b"\r\n"
        )
        for chunk in body_chunks:
            try:
                connection.sendall(chunk)
            except OSError:  # the server answered and closed: the rest is not read
                break
        answer = b""
        while not answer.endswith(b"}"):  # the JSON body may come in a packet of its own
            part = connection.recv(4096)
            if not part:
                break
            answer += part
        return answer


def test_an_oversized_request_is_refused_before_its_body_is_read(service):
    server, keys = service
    declared = _raw(server, keys["read"], b"Content-Length: 2097152\r\n")  # 2 MB declared, not a byte sent
    assert declared.startswith(b"HTTP/1.1 413") and b"request larger than 1048576 bytes" in declared
    part = b'--b\r\nContent-Disposition: form-data; name="image"; filename="x.png"\r\nContent-Type: image/png\r\n\r\n'
    chunks = [part] + [b"\0" * 65536] * 40  # a file part that never ends, sent with no length: counted as it comes
    streamed = _raw(
        server, keys["read"], b"Transfer-Encoding: chunked\r\n", [b"%x\r\n" % len(c) + c + b"\r\n" for c in chunks]
    )
    assert streamed.startswith(b"HTTP/1.1 413") and b"request larger than 1048576 bytes" in streamed
