"""A real server on 127.0.0.1 (`siamese serve` in its own process) over a gallery made for the test."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile

import pytest

from tests.conftest import BUNDLED

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`siamese serve` on a free port; `start` waits for /health, `kill` sends SIGKILL; `env`: its
    environment (default `ENV`; a PYTHONPATH there serves another checkout's code)."""

    def __init__(self, gallery, *extra, env=None):
        self.gallery, self.extra, self.port, self.process = gallery, extra, free_port(), None
        self.env = ENV if env is None else env

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Server":
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "siamese",
                "serve",
                "--gallery",
                str(self.gallery),
                "--port",
                str(self.port),
                *self.extra,
            ],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(self.process.stderr.read())
            try:
                urllib.request.urlopen(self.url + "/health", timeout=1).read()
                return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        raise RuntimeError("the server did not answer within 60 s")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def keys_create(gallery, name, *extra) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "siamese", "keys", "create", "--gallery", str(gallery), name, *extra],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture(scope="module")
def run01(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    with zipfile.ZipFile(BUNDLED / "all_runs.zip") as archive:
        archive.extractall(root, members=[n for n in archive.namelist() if n.startswith("run01/")])
    return root / "run01"


@pytest.fixture(scope="module")
def service(tmp_path_factory, run01):
    """A server over a gallery of run01's class01..class10, a read key and a write key."""
    from siamese.gallery import Gallery

    gallery_path = tmp_path_factory.mktemp("gallery") / "g.db"
    gallery = Gallery.create(gallery_path, "omniglot")
    for k in range(1, 11):
        gallery.enroll(f"class{k:02d}", [run01 / "training" / f"class{k:02d}.png"])
    gallery.close()
    keys = {"read": keys_create(gallery_path, "reader"), "write": keys_create(gallery_path, "writer", "--write")}
    server = Server(gallery_path, "--max-request-mb", "1", "--max-pixels", "4000000").start()
    yield server, keys
    server.stop()


def request(url, method="GET", fields=None, files=None, key=None, timeout=60):
    """(status, JSON or text) of an HTTP request with multipart fields and files [(field, filename, type, bytes)]."""
    status, answer, _ = exchange(url, method, fields, files, key, timeout)
    return status, answer


def exchange(url, method="GET", fields=None, files=None, key=None, timeout=60):
    """(status, JSON or text, headers) of a request as `request` makes it."""
    boundary = "----siamese-test-boundary"
    body = b""
    for name, value in (fields or {}).items():
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    for field, filename, kind, data in files or []:
        body += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
                f"Content-Type: {kind}\r\n\r\n"
            ).encode()
            + data
            + b"\r\n"
        )
    headers = {}
    if fields or files:
        body += f"--{boundary}--\r\n".encode()
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    if key:
        headers["Authorization"] = f"Bearer {key}"
    req = urllib.request.Request(url, data=body or None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            status, text, got = response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as error:
        status, text, got = error.code, error.read().decode(), dict(error.headers)
    try:
        return status, json.loads(text), got
    except ValueError:
        return status, text, got
