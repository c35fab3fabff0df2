"""Does micro-batching pay on a CPU? The shipped tower's time per image, one image at a time or in batches.

**What.** A service that gathered concurrent requests into one batch would run the tower
once on n images instead of n times on one. Here the shipped model's ONNX tower embeds
batches of 1 to 32 prepared images (the 105 x 105 drawings of the bundled runs), with ONNX
Runtime's intra-op threads at 1 and at every core, and the time per image is measured.

**Why.** Batching is worth its cost (a request waits for others to arrive, and code that
gathers and splits batches) only if the time per image falls a good deal. The request
around the tower (HTTP, multipart, PNG decoding, the gallery's search) is measured in
`service_load.py`; the gain here is an upper bound on what batching could save there.

    python benchmarks/micro_batching.py
    python benchmarks/micro_batching.py --batches 1 8 32 --repeats 200
"""

import argparse
import os
import sys
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _common import describe_host, p50_p99  # noqa: E402


def drawings(count: int) -> list[bytes]:
    """PNG bytes of the bundled runs' test drawings, as uploads arrive."""
    with zipfile.ZipFile(REPO / "dataset" / "all_runs.zip") as archive:
        names = sorted(n for n in archive.namelist() if "/test/" in n and n.endswith(".png"))[:count]
        return [archive.read(n) for n in names]


def tower_time(threads: int, batches: list[int], repeats: int) -> dict:
    """{batch size: (p50, p99) ms per image} of the tower alone on prepared images."""
    os.environ["SIAMESE_ONNX_THREADS"] = str(threads)  # read when the model loads
    from siamese.data.images import iter_image_batches
    from siamese.inference import decode_image, load_model

    model = load_model("omniglot", engine="onnx")
    images = [
        decode_image(data, name="x.png", channels=model.preprocessing.channels) for data in drawings(max(batches))
    ]
    prepared = next(iter_image_batches(images, model.preprocessing, batch_size=len(images), workers=1))
    engine = model._engine  # the tower itself: what batching would run fewer times
    result = {}
    for size in batches:
        batch = prepared[:size]
        for _ in range(5):
            engine.embed_batch(batch)
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            engine.embed_batch(batch)
            seconds.append((time.perf_counter() - start) / size * 1e3)
        result[size] = p50_p99(seconds)
    return result


def decoding_time(repeats: int) -> tuple[float, float]:
    """(p50, p99) ms to check and decode one upload, which batching does not save."""
    from siamese.inference import decode_image

    data = drawings(1)[0]
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        decode_image(data, name="x.png", channels=1)
        seconds.append((time.perf_counter() - start) * 1e3)
    return p50_p99(seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, os.cpu_count() or 1])
    parser.add_argument("--repeats", type=int, default=100)
    args = parser.parse_args()
    print(f"machine: {describe_host()}")
    print(f"decoding one 105x105 PNG upload: p50 {decoding_time(args.repeats)[0]:.3f} ms")
    print(f"\n{'threads':>7} {'batch':>5} {'ms/image p50':>13} {'p99':>8} {'vs batch 1':>10}")
    for threads in args.threads:
        # A fresh session per thread count: ONNX Runtime reads the setting when the session is made.
        times = tower_time(threads, args.batches, args.repeats)
        for size, (p50, p99) in times.items():
            print(f"{threads:>7} {size:>5} {p50:>13.3f} {p99:>8.3f} {times[args.batches[0]][0] / p50:>9.2f}x")


if __name__ == "__main__":
    main()
