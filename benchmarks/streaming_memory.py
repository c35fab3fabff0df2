"""Streaming memory: training reads a million-image dataset from sharded zips in flat memory.

**What.** A synthetic dataset of 1,000,000 small PNGs (32x32, 50,000 classes of 20 images
in 250 groups) is written as sharded zip archives of class folders, indexed as one dataset
(`load_dataset([...shards])`), and trained on with `TrainConfig.from_settings(stream=True)` for a number
of steps. Every few steps the process's resident memory (RSS) is sampled, with the count of
images read from the archives so far. The summary gives the time to index the dataset,
the images read per second while training, and the slope of RSS against images read.

**Why.** Decoding every image up front (what `train` does without `stream`) needs
n x 48 x 48 x 4 bytes: 9 GB for a million images, more than many machines hold. Streamed,
an image is read and decoded when a batch draws it, a bounded cache keeps the most recent
ones, and zip shards are read from one shared file each with a compact index, so memory
after indexing should not grow with the images read: the slope should be about zero. The
cache is held to 16 MiB here (4,096 images) so that it is full within the first epoch; at
its default (256 MiB, 65,536 of these images) memory rises by that much more, then stays.

    python benchmarks/streaming_memory.py                        # 1,000,000 images (minutes)
    python benchmarks/streaming_memory.py --images 100000 --steps 300
    python benchmarks/streaming_memory.py --dir /tmp/synthetic --keep   # keep the shards to rerun

The encoded PNGs are a few hundred distinct drawings, each member made unique by a text
chunk holding its number (so no image stands in two classes). Not run by the tests.
"""

import argparse
import os
import shutil
import struct
import tempfile
import time
import zipfile
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from _common import describe_host

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

"""
## Parameters
"""

IMAGES = 1_000_000
PER_CLASS = 20  # images per class: 50,000 classes at a million
CLASSES_PER_GROUP = 200  # classes per group folder (an "alphabet")
SHARDS = 10  # zip archives
DISTINCT = 400  # distinct drawings whose bytes the members reuse
SIZE = 32  # pixels, square
STEPS = 1200  # training steps (over 3 epochs)
SAMPLE_EVERY = 50  # steps between RSS samples
CACHE_MB = 16  # the streamed arrays' cache (default 256 MiB): small, so that it fills in the first epoch
SEED = 0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=IMAGES, help=f"images in the dataset (default {IMAGES:,})")
    parser.add_argument("--steps", type=int, default=STEPS, help=f"training steps (default {STEPS})")
    parser.add_argument(
        "--every", type=int, default=SAMPLE_EVERY, help=f"steps between RSS samples (default {SAMPLE_EVERY})"
    )
    parser.add_argument(
        "--dir", type=Path, default=None, help="where to write the shards (default: a temporary folder)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the shards afterwards (reused when --dir already holds them)"
    )
    return parser.parse_args()


def rss_mb() -> float:
    """Resident memory of this process, in MB (psutil if installed, else /proc)."""
    try:
        import psutil
    except ImportError:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))
    return psutil.Process().memory_info().rss / 2**20


"""
## The synthetic shards

Drawings of a few random strokes on white paper, encoded once. A member is a drawing with a
`tEXt` chunk naming the member inserted before `IEND` (a valid PNG, unique bytes). Shards
are written by separate processes, so the zip writers' per-member records never enter the
memory of the process that trains.
"""


def drawings(count: int, seed: int) -> list:
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    encoded = []
    for _ in range(count):
        canvas = np.full((SIZE, SIZE), 255, np.uint8)
        for _ in range(int(rng.integers(1, 4))):
            points = rng.integers(3, SIZE - 3, size=(int(rng.integers(2, 5)), 2)).astype(np.int32)
            cv2.polylines(canvas, [points], bool(rng.integers(2)), 0, int(rng.integers(1, 3)))
        encoded.append(cv2.imencode(".png", canvas)[1].tobytes())
    return encoded


def unique_png(png: bytes, number: int) -> bytes:
    text = b"id\x00" + str(number).encode()
    chunk = struct.pack(">I", len(text)) + b"tEXt" + text + struct.pack(">I", zlib.crc32(b"tEXt" + text))
    return png[:-12] + chunk + png[-12:]  # the last 12 bytes are IEND


def write_shard(path: Path, shard: int, shards: int, images: int) -> int:
    pngs = drawings(DISTINCT, SEED)
    classes = -(-images // PER_CLASS)
    written = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for label in range(shard, classes, shards):
            for k in range(min(PER_CLASS, images - label * PER_CLASS)):
                number = label * PER_CLASS + k
                name = f"g{label // CLASSES_PER_GROUP:04d}/c{label:07d}/{k:02d}.png"
                archive.writestr(name, unique_png(pngs[(number * 7919) % DISTINCT], number))
                written += 1
    return written


def write_shards(folder: Path, images: int) -> list:
    paths = [folder / f"shard-{s:02d}-of-{SHARDS:02d}.zip" for s in range(SHARDS)]
    marker = folder / f"complete-{images}"
    if marker.exists():
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(max_workers=min(SHARDS, os.cpu_count() or 1)) as pool:
        counts = list(pool.map(write_shard, paths, range(SHARDS), [SHARDS] * SHARDS, [images] * SHARDS))
    assert sum(counts) == images, (sum(counts), images)
    marker.touch()
    return paths


"""
## Counting what training reads

Each source is wrapped so its reads are counted: every read is one image taken from an
archive, decoded or (when its bytes are hashed for the duplicate check) not.
"""


class CountedSource:
    def __init__(self, source):
        self.source, self.reads = source, 0

    def read(self, member):
        self.reads += 1  # a lost update between threads only undercounts by a hair
        return self.source.read(member)

    def __getattr__(self, name):
        return getattr(self.source, name)


def main():
    args = parse_args()
    import dataclasses

    import keras
    import numpy as np

    from siamese.data import Preprocessing, load_dataset, streaming
    from siamese.training import TrainConfig, train

    print(f"machine: {describe_host()}")
    folder = args.dir or Path(tempfile.mkdtemp(prefix="siamese-stream-"))
    try:
        start = time.perf_counter()
        paths = write_shards(folder, args.images)
        size = sum(p.stat().st_size for p in paths)
        print(
            f"data:    {args.images:,} PNGs of {SIZE}x{SIZE} in {len(paths)} zip shards, {size / 2**20:,.0f} MB, "
            f"written in {time.perf_counter() - start:.0f} s ({folder})"
        )
        """
        ## Indexing

        Listing the shards' members and their classes; nothing is decoded.
        """
        rss_before_index = rss_mb()
        start = time.perf_counter()
        dataset = load_dataset(paths)
        index_seconds = time.perf_counter() - start
        sources = tuple(CountedSource(s) for s in dataset.sources)
        dataset = dataclasses.replace(dataset, sources=sources)
        print(
            f"index:   {len(dataset):,} images of {dataset.num_classes:,} classes in {index_seconds:.1f} s; "
            f"RSS {rss_before_index:,.0f} -> {rss_mb():,.0f} MB"
        )
        """
        ## Training, streamed, RSS sampled

        A small tower, so steps are quick and reading is a large part of each; validation
        each epoch decodes only the images its pairs and batches use.
        """
        """
        ## Reading alone

        Random images read, decoded and prepared with no cache, by one thread and by two.
        """
        images = streaming.StreamedImages(dataset, Preprocessing(image_size=(SIZE, SIZE), invert=True), cache_size=0)
        positions = np.random.default_rng(SEED).integers(0, len(dataset), 4000)
        for workers in (1, 2):
            start = time.perf_counter()
            images.take(positions, workers=workers)
            print(f"read:    {len(positions) / (time.perf_counter() - start):,.0f} images/s alone, {workers} thread(s)")
        del images
        streaming.CACHE_BYTES = CACHE_MB * 2**20
        samples = []

        class Sample(keras.callbacks.Callback):
            step = 0

            def on_train_batch_end(self, batch, logs=None):
                self.step += 1
                if self.step % args.every == 0 or self.step == 1:
                    samples.append((self.step, sum(s.reads for s in sources), rss_mb(), time.perf_counter()))

        config = TrainConfig.from_settings(
            stream=True,
            image_size=(SIZE, SIZE),
            filters=(32, 32, 32),
            embedding_dim=64,
            epochs=3,
            steps_per_epoch=max(1, args.steps // 3),
            classes_per_batch=16,
            examples_per_class=4,
            validation_pairs=1000,
            invert=True,
            seed=SEED,
        )
        start, reads_at_call = time.perf_counter(), sum(s.reads for s in sources)
        result = train(dataset, model_path=folder / "model.keras", config=config, verbose=0, callbacks=[Sample()])
        seconds = time.perf_counter() - start
        print(
            f"train:   first step {samples[0][3] - start:.0f} s after the call ({samples[0][1] - reads_at_call:,} images read by then: "
            "the check for images in two classes reads every file once, validation decodes its own)"
        )
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    report(samples, seconds, result, config)


"""
## Summary

RSS against images read from the first step on, and its least-squares slope over the
samples from the second epoch on (by then the graph is traced, the cache is full and the
validation images are decoded: what is left to grow is what streaming would leak).
"""


def report(samples, seconds, result, config):
    import numpy as np

    samples = [
        (step, reads - samples[0][1], rss, at) for step, reads, rss, at in samples
    ]  # reads from the first step on
    print(f"\n{'step':>6s} {'seconds':>8s} {'images read':>12s} {'RSS MB':>9s}")
    for step, reads, rss, at in samples:
        print(f"{step:6d} {at - samples[0][3]:8.0f} {reads:12,d} {rss:9,.0f}")
    steady = [s for s in samples if s[0] > config.schedule.steps_per_epoch] or samples
    reads = np.array([s[1] for s in steady], float)
    rss = np.array([s[2] for s in steady], float)
    slope = np.polyfit(reads, rss, 1)[0] * 100_000 if len(steady) > 1 and np.ptp(reads) else float("nan")
    first, last = samples[0], samples[-1]
    print(
        f"\nRSS: {first[2]:,.0f} MB at step {first[0]}, {steady[0][2]:,.0f} MB at step {steady[0][0]}, "
        f"{last[2]:,.0f} MB at step {last[0]} (max {max(s[2] for s in samples):,.0f} MB); "
        f"slope from step {steady[0][0]}: {slope:+.1f} MB per 100,000 images read"
    )
    print(
        f"read while training: {last[1] / (last[3] - first[3]):,.0f} images/s "
        f"({last[1]:,} images from step 1 to {last[0]}, validation included)"
    )
    print(
        f"train: {seconds:.0f} s in all, {result.metrics['epochs_run']} epochs of {config.schedule.steps_per_epoch} steps; "
        f"validation AUC {result.metrics.get('val_auc', float('nan')):.3f} (random drawings: about 0.5 is expected)"
    )


if __name__ == "__main__":
    main()
