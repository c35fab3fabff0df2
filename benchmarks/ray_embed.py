"""Embedding a collection into shards: one process, and Ray with 1 and 2 actors, in images/s.

**What.** `siamese embed DATA --out DIR` writes Parquet shards of (path, embedding, model
id); with `--ray` the same shards come from Ray Data, one ONNX Runtime engine per actor.
This benchmark embeds the same images (PNG files on disk: the official one-shot runs'
800 character images, copied until there are `--images` of them) three ways, each into a
fresh folder, and checks the three give the same embeddings:

1. *plain*: `embed_to_shards`, one process (ONNX Runtime's own threads, decoding threads);
2. *Ray, 1 actor* and 3. *Ray, 2 actors*: `embed_on_ray` on a local Ray cluster of this
   machine's cores, started once before the timings (a job on a running cluster pays
   only its actors' start: each loads the model).

**Why.** Ray is for many machines; on one it only adds scheduling, so the figure that
matters here is what it costs against one process, and whether a second actor helps
when both share a machine's cores. On a cluster each node adds its cores.

    nice -n 10 python benchmarks/ray_embed.py
    python benchmarks/ray_embed.py --images 20000 --model omniglot
"""

import argparse
import logging
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
from _common import describe_host

"""
## Parameters
"""

REPO = Path(__file__).resolve().parents[1]
RUNS_ZIP = REPO / "dataset" / "all_runs.zip"
IMAGES = 4000
SHARD_SIZE = 1000
BATCH_SIZE = 256
ROUNDS = 2  # interleaved; the best of each way is kept


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=IMAGES)
    parser.add_argument("--model", default="omniglot", help="a shipped model's name or a model file")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    return parser.parse_args()


"""
## The images

Real PNG files, written once: the runs' images, each copied into group/class folders until
there are enough, so reading and decoding cost what they cost on any folder of images.
"""


def write_images(root: Path, count: int) -> Path:
    with zipfile.ZipFile(RUNS_ZIP) as archive:
        sources = [archive.read(n) for n in sorted(archive.namelist()) if n.endswith(".png")]
    for i in range(count):
        folder = root / f"group{i // 1000:03d}" / f"class{i // 20:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i:06d}.png").write_bytes(sources[i % len(sources)])
    return root


"""
## One timing

Each run writes into a fresh folder (nothing to skip) and returns images/s and the
embeddings, read back from its shards.
"""


def timed(run, data: Path, out: Path, **kwargs) -> tuple[float, np.ndarray]:
    from siamese.inference.shards import iter_shards

    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    job = run([data], out, shard_size=SHARD_SIZE, batch_size=BATCH_SIZE, **kwargs)
    seconds = time.perf_counter() - start
    assert not job.problems, job.problems[:3]
    return job.embedded / seconds, np.concatenate([s.embeddings for s in iter_shards(out)])


def main():
    args = parse_args()
    import ray

    from siamese.inference.ray_embedding import embed_on_ray
    from siamese.inference.sharded_embedding import embed_to_shards

    print(f"machine: {describe_host()}")
    print(f"ray {ray.__version__}; {args.images} PNG images, shards of {SHARD_SIZE}, batch {BATCH_SIZE}")
    ways = {
        "plain": lambda d, o: timed(embed_to_shards, d, o, model=args.model),
        "ray, 1 actor": lambda d, o: timed(embed_on_ray, d, o, model=args.model, actors=1),
        "ray, 2 actors": lambda d, o: timed(embed_on_ray, d, o, model=args.model, actors=2),
    }
    with tempfile.TemporaryDirectory() as folder:
        data = write_images(Path(folder) / "images", args.images)
        start = time.perf_counter()
        ray.init(logging_level=logging.WARNING, log_to_driver=False, include_dashboard=False)
        print(
            f"local Ray cluster started in {time.perf_counter() - start:.1f} s ({ray.cluster_resources()['CPU']:.0f} CPUs)"
        )
        best, embeddings = {}, {}
        for _ in range(args.rounds):
            for name, way in ways.items():
                rate, embeddings[name] = way(data, Path(folder) / "out")
                best[name] = max(best.get(name, 0.0), rate)
        ray.shutdown()
    worst = max(float(np.abs(embeddings[n] - embeddings["plain"]).max()) for n in ways)
    print(f"\nthe same embeddings every way: largest difference {worst:.1e}")
    for name, rate in best.items():
        print(f"{name:>14}: {rate:7.0f} images/s ({rate / best['plain']:.2f}x plain)")


if __name__ == "__main__":
    sys.exit(main())
