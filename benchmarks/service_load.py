"""The service under load: requests per second, latency and errors at 1, 8 and 32 clients.

**What.** `siamese serve` is started on 127.0.0.1 over a gallery of the 400 characters of
the bundled one-shot runs (one drawing each, the shipped model), with a read key. Then N
client threads send requests as fast as they are answered for a bounded time each:
`/identify` with a test drawing, and `/verify` with a pair, alternately. Every answer
that is not a 200 with the expected fields counts as an error.

**Why.** The issue's target: no error at 32 concurrent clients. The server is one
process; embedding runs on ONNX Runtime outside the gallery's lock, searches inside it.

    python benchmarks/service_load.py                 # 1, 8, 32 clients, 20 s each
    python benchmarks/service_load.py --seconds 10 --clients 1 32
"""

import argparse
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _common import describe_host, p50_p99  # noqa: E402

from tests.service.conftest import Server, keys_create, request  # noqa: E402  (the same server and client the tests use)


def gallery_of_the_runs(folder: Path) -> tuple[Path, list]:
    """A gallery of the runs' 400 characters (training drawings), and the test drawings as queries."""
    from siamese.gallery import Gallery

    with zipfile.ZipFile(REPO / "dataset" / "all_runs.zip") as archive:
        archive.extractall(folder, members=[n for n in archive.namelist() if n.endswith(".png")])
    gallery = Gallery.create(folder / "g.db", "omniglot")
    for path in sorted(folder.glob("run*/training/*.png")):
        gallery.enroll(f"{path.parts[-3]}-{path.stem}", [path])
    gallery.close()
    return folder / "g.db", sorted(folder.glob("run*/test/*.png"))


def load(server, key, queries, clients: int, seconds: float):
    """(requests, errors, latencies in ms) of `clients` threads for `seconds`."""
    latencies, errors, lock = [], [0], threading.Lock()
    deadline = time.monotonic() + seconds

    def client(worker):
        rng = np.random.default_rng(worker)
        while time.monotonic() < deadline:
            a, b = (queries[i] for i in rng.choice(len(queries), 2, replace=False))
            start = time.perf_counter()
            if rng.random() < 0.5:
                status, answer = request(
                    server.url + "/identify", "POST", files=[("image", a.name, "image/png", a.read_bytes())], key=key
                )
                ok = status == 200 and "candidates" in answer
            else:
                files = [
                    ("image1", a.name, "image/png", a.read_bytes()),
                    ("image2", b.name, "image/png", b.read_bytes()),
                ]
                status, answer = request(server.url + "/verify", "POST", files=files, key=key)
                ok = status == 200 and "distance" in answer
            with lock:
                latencies.append((time.perf_counter() - start) * 1e3)
                errors[0] += not ok

    threads = [threading.Thread(target=client, args=(w,)) for w in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies), errors[0], latencies


def peak_memory_mib(pid: int) -> float:
    """The process's peak resident memory (Linux /proc), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    print(f"machine: {describe_host()}")
    with tempfile.TemporaryDirectory() as folder:
        gallery, queries = gallery_of_the_runs(Path(folder))
        key = keys_create(gallery, "load")
        begin = time.perf_counter()
        server = Server(gallery).start()
        print(
            f"server answers /health {time.perf_counter() - begin:.2f} s after its start "
            f"(a new interpreter, the gallery of {len(queries)} identities and its model loaded)"
        )
        try:
            load(server, key, queries, 2, 2.0)  # warm up
            rows = []
            for clients in args.clients:
                count, errors, latencies = load(server, key, queries, clients, args.seconds)
                rows.append((clients, count / args.seconds, *p50_p99(latencies), errors, count))
                print(
                    f"{clients:>3} clients: {rows[-1][1]:7.1f} requests/s, p50 {rows[-1][2]:7.2f} ms, p99 {rows[-1][3]:7.2f} ms, "
                    f"{errors} errors of {count}"
                )
            print(f"server peak memory: {peak_memory_mib(server.process.pid):.0f} MiB")
        finally:
            server.stop()
    print("\nsummary (400 identities, half /identify, half /verify, PNG uploads, one server process)")
    print(f"{'clients':>7} {'requests/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'requests':>9}")
    for clients, rate, p50, p99, errors, count in rows:
        print(f"{clients:>7} {rate:>11.1f} {p50:>8.2f} {p99:>8.2f} {errors:>7} {count:>9}")


if __name__ == "__main__":
    main()
