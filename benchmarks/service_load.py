"""The service under load: requests per second, latency, errors and `/health`, by workers and clients,
for the code here and, side by side in the same run, the code of another commit.

**What.** `siamese serve --workers N` is started on 127.0.0.1 over a gallery (the shipped
`--model`) with a read key: for `omniglot`, the 400 characters of the bundled one-shot runs
(one drawing each, a test drawing per query); for `faces`, `--identities` people of a folder
of photos by person (`--images`: the first photo of each enrolled, the second a query). Then
C clients (asyncio tasks, HTTP/1.1 over a kept-alive connection each, as light as can be) send requests as fast as they are
answered, for a bounded time: `/identify` with a query and `/verify` with a pair,
alternately. Every answer that is not a 200 with the expected fields counts as an error, a
refused or broken connection too. Meanwhile `/health` is asked ten times a second, and its
latency is the service's responsiveness under load.

**Before and after.** `--before REF` checks out the commit REF in a temporary git worktree
and serves the same gallery with its code (PYTHONPATH at its `src/`), each row measured for
the code before and then for the code here, back to back, so that a host shared with other
work loads both alike; the summary gives their ratio.

**Why.** Whether throughput rises as clients are added (up to the cores), the latency at 32
clients, `/health` under load, and whether more worker processes pay on the machine at hand.

    python benchmarks/service_load.py                  # 1, 2, 4 workers x 32, 128 clients, 10 s each
    python benchmarks/service_load.py --workers 1 --clients 1 8 32 --seconds 8 --before 784cda1
    python benchmarks/service_load.py --model faces --images FOLDER --clients 1 8 32 --before 784cda1
    python benchmarks/service_load.py --local-postgres   # the same against a gallery in PostgreSQL
"""

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _common import describe_host, p50_p99  # noqa: E402

from tests.service.conftest import ENV, Server, keys_create  # noqa: E402  (the same server the tests start)
from tests.service.test_workers import workers_seen  # noqa: E402


def runs(folder: Path) -> tuple[list, list]:
    """The runs' training drawings (to enrol) and test drawings (queries), extracted into `folder`."""
    with zipfile.ZipFile(REPO / "dataset" / "all_runs.zip") as archive:
        archive.extractall(folder, members=[n for n in archive.namelist() if n.endswith(".png")])
    return sorted(folder.glob("run*/training/*.png")), sorted(folder.glob("run*/test/*.png"))


def photos(folder: Path, identities: int) -> tuple[list, list]:
    """(first photo, second photo) of the first `identities` people of `folder` (one sub-folder each) with two."""
    people = [sorted(p.glob("*.jpg")) + sorted(p.glob("*.png")) for p in sorted(folder.iterdir()) if p.is_dir()]
    people = [files for files in people if len(files) >= 2][:identities]
    return [files[0] for files in people], [files[1] for files in people]


def filled_gallery(address: str, enrolled: list, model: str) -> None:
    """The gallery at `address`, with one identity per image of `enrolled` if it holds nobody yet."""
    from siamese.gallery import Gallery

    gallery = Gallery.open_or_create(address, model)
    if not gallery.identities():
        for path in enrolled:
            gallery.enroll(f"{path.parts[-3]}-{path.parts[-2]}-{path.stem}", [path])
    gallery.close()


@contextlib.contextmanager
def checkout(ref: str | None):
    """The environment of a server of the code at git `ref` (a temporary worktree), or of the code here."""
    if ref is None:
        yield ENV
        return
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--quiet", "--detach", folder, ref], check=True)
        try:
            yield {**ENV, "PYTHONPATH": os.pathsep.join([str(Path(folder) / "src"), ENV.get("PYTHONPATH", "")])}
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", folder], check=True)


BOUNDARY = b"siamese-load"


def multipart(parts: list) -> bytes:
    """A multipart/form-data body of (field, filename, bytes) parts, built once per request from bytes."""
    body = b"".join(
        b"--"
        + BOUNDARY
        + b'\r\nContent-Disposition: form-data; name="'
        + field.encode()
        + b'"; filename="'
        + name.encode()
        + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
        + data
        + b"\r\n"
        for field, name, data in parts
    )
    return body + b"--" + BOUNDARY + b"--\r\n"


async def exchange(reader, writer, head: bytes, body: bytes) -> tuple[int, bytes]:
    """One request on a kept-alive connection: (status, answer's body)."""
    writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        length = int(value) if name.strip().lower() == b"content-length" else length
    return status, await reader.readexactly(length)


async def load(url: str, key: str, queries: list, clients: int, seconds: float) -> dict:
    """Counts and latencies (ms) of `clients` tasks for `seconds`, and of /health asked meanwhile.

    The clients speak HTTP/1.1 over asyncio streams, a kept-alive connection each, with bodies
    joined from bytes: a client that costs the shared cores as little as can be (httpx took
    2.5 ms of CPU a request at 8 clients and 6.5 ms at 32, as much as the server's own work)."""
    host, port = url.split("//")[1].split(":")
    uploads = [(path.name, path.read_bytes()) for path in queries]
    latencies, health, errors = [], [], [0]
    deadline = time.monotonic() + seconds

    def head(route: str) -> bytes:
        return (
            f"POST {route} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY.decode()}\r\nContent-Length: "
        ).encode()

    heads = {"/identify": head("/identify"), "/verify": head("/verify")}

    async def client(worker):
        rng, connection = np.random.default_rng(worker), None
        while time.monotonic() < deadline:
            (a_name, a), (b_name, b) = (uploads[i] for i in rng.choice(len(uploads), 2, replace=False))
            identify = rng.random() < 0.5
            route, expected = ("/identify", b'"candidates"') if identify else ("/verify", b'"distance"')
            parts = [("image", a_name, a)] if identify else [("image1", a_name, a), ("image2", b_name, b)]
            start = time.perf_counter()
            try:
                connection = connection or await asyncio.open_connection(host, int(port))
                status, answer = await exchange(*connection, heads[route], multipart(parts))
                ok = status == 200 and expected in answer
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
                ok, connection = False, None
            latencies.append((time.perf_counter() - start) * 1e3)
            errors[0] += not ok
        if connection is not None:
            connection[1].close()

    def prober():  # a thread of its own, with blocking calls: the clients' event loop does not delay it
        while time.monotonic() < deadline:
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(url + "/health", timeout=60) as answer:
                    ok = answer.status == 200
            except OSError:
                ok = False
            health.append((time.perf_counter() - start) * 1e3 if ok else float("inf"))
            time.sleep(0.1)

    probe = threading.Thread(target=prober)
    probe.start()

    await asyncio.gather(*(client(w) for w in range(clients)))
    probe.join()
    return {"requests": len(latencies), "errors": errors[0], "latencies": latencies, "health": health}


def worker_memory_mib(pid: int) -> list[float]:
    """Peak resident memory (Linux /proc) of the server's worker processes (or of the server itself), MiB."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    peaks = []
    for process in children or [str(pid)]:
        for line in Path(f"/proc/{process}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return peaks


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--clients", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--model", default="omniglot", help="the shipped model: omniglot (default) or faces")
    parser.add_argument("--images", type=Path, help="for faces: a folder of photos, a sub-folder per person")
    parser.add_argument("--identities", type=int, default=100, help="for faces: people enrolled (default 100)")
    parser.add_argument("--before", help="a git commit whose code is measured beside the code here, row by row")
    parser.add_argument("--gallery", help="a gallery's address (default: a new SQLite file in a temporary folder)")
    parser.add_argument(
        "--local-postgres",
        action="store_true",
        help="start a PostgreSQL server on 127.0.0.1 (the tests' own, from the pgserver wheel) and load a gallery in it",
    )
    args = parser.parse_args()
    if args.local_postgres:
        from tests.postgres import PostgresServer

        server = PostgresServer().start()
        try:
            measure(args, server.new_database())
        finally:
            server.remove()
    else:
        measure(args, args.gallery)


def row(server: Server, key: str, queries: list, workers: int, clients: int, seconds: float) -> tuple:
    """One measurement: workers, clients, requests/s, p50, p99, errors, requests, /health p50, p99, max."""
    result = asyncio.run(load(server.url, key, queries, clients, seconds))
    rate, latency, health = result["requests"] / seconds, p50_p99(result["latencies"]), p50_p99(result["health"])
    return (workers, clients, rate, *latency, result["errors"], result["requests"], *health, max(result["health"]))


def measure(args, address: str | None) -> None:
    """Every row of workers x clients against the gallery at `address` (None: a new SQLite file),
    for the code before (`--before`) and the code here, one after the other."""
    print(f"machine: {describe_host()}")
    versions = [("before", args.before), ("after", None)] if args.before else [("here", None)]
    rows = {name: [] for name, _ in versions}
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        if args.model == "faces":
            enrolled, queries = photos(args.images, args.identities)
        else:
            enrolled, queries = runs(Path(folder))
        gallery = address or str(Path(folder) / "g.db")
        filled_gallery(gallery, enrolled, args.model)
        key = keys_create(gallery, f"load-{time.time_ns()}")
        envs = {name: stack.enter_context(checkout(ref)) for name, ref in versions}
        for workers in args.workers:
            for clients in args.clients:
                for name, _ in versions:
                    extra = ["--workers", str(workers)] if workers > 1 else []
                    server = Server(gallery, *extra, env=envs[name]).start()
                    try:
                        if workers > 1:
                            workers_seen(server, workers)
                        asyncio.run(load(server.url, key, queries, 4, 2.0))  # warm up
                        rows[name].append(row(server, key, queries, workers, clients, args.seconds))
                        peaks = ", ".join(f"{peak:.0f}" for peak in worker_memory_mib(server.process.pid))
                        print(f"  {name}: " + " ".join(f"{value:.6g}" for value in rows[name][-1]) + f"  ({peaks} MiB)")
                    finally:
                        server.stop()
    summary(args, rows, len(enrolled))


def summary(args, rows: dict, identities: int) -> None:
    print(
        f"\nsummary ({args.model}, {identities} identities, {args.seconds:g} s per row, half /identify, half /verify)"
    )
    print(
        f"{'code':>6} {'workers':>7} {'clients':>7} {'requests/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
        f" {'requests':>9} {'health p50':>10} {'p99':>7} {'max ms':>7}"
    )
    for name, measured in rows.items():
        for workers, clients, rate, p50, p99, errors, count, h50, h99, hmax in measured:
            print(
                f"{name:>6} {workers:>7} {clients:>7} {rate:>11.1f} {p50:>8.1f} {p99:>8.1f} {errors:>7} {count:>9}"
                f" {h50:>10.1f} {h99:>7.1f} {hmax:>7.1f}"
            )
    if "before" in rows:
        ratios = [after[2] / max(before[2], 1e-9) for before, after in zip(rows["before"], rows["after"])]
        print("requests/s after / before, row by row: " + ", ".join(f"{ratio:.2f}x" for ratio in ratios))


if __name__ == "__main__":
    main()
