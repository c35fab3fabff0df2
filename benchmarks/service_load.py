"""The service under load: requests per second, latency, errors and `/health` at 1, 2, 4 workers and 32, 128 clients.

**What.** `siamese serve --workers N` is started on 127.0.0.1 over a gallery of the 400
characters of the bundled one-shot runs (one drawing each, the shipped model) with a read
key. Then C clients (asyncio tasks over httpx, one connection each) send requests as fast as
they are answered, for a bounded time: `/identify` with a test drawing and `/verify` with a
pair, alternately. Every answer that is not a 200 with the expected fields counts as an
error, a refused or broken connection too. Meanwhile `/health` is asked ten times a second,
and its latency is the service's responsiveness under load.

**Why.** The issue's targets: 0 errors at 128 clients, `/health` answered under load, and
whether more worker processes pay on the machine at hand (each has its own ONNX Runtime
session, of the cores shared out among them). `--gallery` points the same load at another
gallery (a SQLite file, or any address the gallery takes): it is filled with the runs'
characters if empty.

    python benchmarks/service_load.py                  # 1, 2, 4 workers x 32, 128 clients, 10 s each
    python benchmarks/service_load.py --workers 1 2 --clients 32 --seconds 5
    python benchmarks/service_load.py --local-postgres   # the same against a gallery in PostgreSQL
"""

import argparse
import asyncio
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

from tests.service.conftest import Server, keys_create  # noqa: E402  (the same server the tests start)
from tests.service.test_workers import workers_seen  # noqa: E402


def runs(folder: Path) -> tuple[list, list]:
    """The runs' training drawings (to enrol) and test drawings (queries), extracted into `folder`."""
    with zipfile.ZipFile(REPO / "dataset" / "all_runs.zip") as archive:
        archive.extractall(folder, members=[n for n in archive.namelist() if n.endswith(".png")])
    return sorted(folder.glob("run*/training/*.png")), sorted(folder.glob("run*/test/*.png"))


def filled_gallery(address: str, drawings: list) -> None:
    """The gallery at `address`, with the runs' characters enrolled if it holds nobody yet."""
    from siamese.gallery import Gallery

    gallery = Gallery.open_or_create(address, "omniglot")
    if not gallery.identities():
        for path in drawings:
            gallery.enroll(f"{path.parts[-3]}-{path.stem}", [path])
    gallery.close()


async def load(url: str, key: str, queries: list, clients: int, seconds: float) -> dict:
    """Counts and latencies (ms) of `clients` tasks for `seconds`, and of /health asked meanwhile."""
    import httpx

    uploads = [(path.name, path.read_bytes()) for path in queries]
    latencies, health, errors = [], [], [0]
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients + 1, max_keepalive_connections=clients + 1)
    headers = {"Authorization": f"Bearer {key}"}

    async def client(http, worker):
        rng = np.random.default_rng(worker)
        while time.monotonic() < deadline:
            (a_name, a), (b_name, b) = (uploads[i] for i in rng.choice(len(uploads), 2, replace=False))
            identify = rng.random() < 0.5
            start = time.perf_counter()
            try:
                if identify:
                    files = {"image": (a_name, a, "image/png")}
                    answer = await http.post(url + "/identify", files=files, headers=headers)
                    ok = answer.status_code == 200 and "candidates" in answer.json()
                else:
                    files = {"image1": (a_name, a, "image/png"), "image2": (b_name, b, "image/png")}
                    answer = await http.post(url + "/verify", files=files, headers=headers)
                    ok = answer.status_code == 200 and "distance" in answer.json()
            except httpx.HTTPError:
                ok = False
            latencies.append((time.perf_counter() - start) * 1e3)
            errors[0] += not ok

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
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        await asyncio.gather(*(client(http, w) for w in range(clients)))
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


def measure(args, address: str | None) -> None:
    """Every row of workers x clients against the gallery at `address` (None: a new SQLite file)."""
    print(f"machine: {describe_host()}")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        drawings, queries = runs(Path(folder))
        gallery = address or str(Path(folder) / "g.db")
        filled_gallery(gallery, drawings)
        key = keys_create(gallery, f"load-{time.time_ns()}")
        for workers in args.workers:
            begin = time.perf_counter()
            server = Server(gallery, *(["--workers", str(workers)] if workers > 1 else [])).start()
            try:
                if workers > 1:
                    workers_seen(server, workers)
                print(f"{workers} worker(s): all answer /health {time.perf_counter() - begin:.2f} s after the start")
                asyncio.run(load(server.url, key, queries, 4, 2.0))  # warm up
                for clients in args.clients:
                    result = asyncio.run(load(server.url, key, queries, clients, args.seconds))
                    rows.append(
                        (
                            workers,
                            clients,
                            result["requests"] / args.seconds,
                            *p50_p99(result["latencies"]),
                            result["errors"],
                            result["requests"],
                            *p50_p99(result["health"]),
                            max(result["health"]),
                        )
                    )
                    print("  " + " ".join(f"{value:.6g}" for value in rows[-1]))
                peaks = worker_memory_mib(server.process.pid)
                print(f"  peak memory per worker: {', '.join(f'{peak:.0f}' for peak in peaks)} MiB")
            finally:
                server.stop()
    print(f"\nsummary (400 identities, {args.seconds:g} s per row, half /identify, half /verify, PNG uploads)")
    print(
        f"{'workers':>7} {'clients':>7} {'requests/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'requests':>9}"
        f" {'health p50':>10} {'p99':>7} {'max ms':>7}"
    )
    for workers, clients, rate, p50, p99, errors, count, h50, h99, hmax in rows:
        print(
            f"{workers:>7} {clients:>7} {rate:>11.1f} {p50:>8.1f} {p99:>8.1f} {errors:>7} {count:>9}"
            f" {h50:>10.1f} {h99:>7.1f} {hmax:>7.1f}"
        )


if __name__ == "__main__":
    main()
