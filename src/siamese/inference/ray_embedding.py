"""Embedding shards on a Ray cluster: Ray Data streams the image list to a pool of actors,
each with an engine of its own, and this process writes the shards as they complete.

The job is the one `embed_to_shards` runs in one process (`ShardJob`: the same shards, the
same skip of shards already written, the same report of bad images); only who embeds
changes. The image list (`ImageList`: indices into folders, zips and list files) is put in
Ray's object store once; the dataset holds only the indices of the images still to embed,
in blocks of `batch_size`; each actor loads the model once (ONNX Runtime when an export
lies beside it) and embeds whole blocks with `embed_images`. The images must be readable
at the same paths on every node (a shared filesystem); the shards are written here, by the
driver, so only this machine needs to reach `out`.

Ray is imported only here, and only when a job runs (`pip install "siamese[ray]"`).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Sequence

import numpy as np

from siamese.errors import ConfigError
from siamese.inference.model import load_model
from siamese.inference.sharded_embedding import EmbeddedImages, ShardJob, embed_images
from siamese.inference.shards import SHARD_SIZE
from siamese.shipped import lasting_name

logger = logging.getLogger(__name__)


def _ray():
    try:
        import ray
        import ray.data
    except ImportError:
        raise ConfigError('--ray needs Ray Data: pip install "siamese[ray]"') from None
    return ray


class Embedder:
    """A Ray Data actor: one model, loaded once, embedding blocks of image indices."""

    def __init__(
        self, *, model: str, engine: str, images, detect: bool, on_no_face: str, workers: int | None, batch_size: int
    ):
        import ray

        self.model = load_model(model, engine=engine)
        self.images = ray.get(images) if isinstance(images, ray.ObjectRef) else images
        self.settings = {"detect": detect, "on_no_face": on_no_face, "workers": workers, "batch_size": batch_size}

    def __call__(self, batch: dict) -> dict:
        indices = np.asarray(batch["data"], np.int64)
        part = embed_images(self.model, self.images, indices, **self.settings)
        faceless = set(part.faceless)
        return {
            "index": indices,
            "embedding": part.embeddings,
            "problem": np.asarray(part.problems, dtype=object),
            "faceless": np.asarray([self.images.name(int(i)) in faceless for i in indices]),
        }


def _reachable(address: str) -> None:
    """A one-line error now for a HOST:PORT where nothing listens (Ray itself retries for minutes)."""
    host, _, port = address.rpartition(":")
    if address == "auto" or "://" in address or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=10).close()
    except OSError as error:
        raise ConfigError(
            f"--ray {address}: no Ray cluster answers there ({error.strerror or error}); start one with `ray start --head`"
        ) from None


def _connect(ray, address: str | None) -> bool:
    """Join the cluster at `address` (a local one of this machine's cores when None); whether we started it."""
    if address:
        _reachable(address)
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # its progress log: one line a second
    if ray.is_initialized():
        return False
    local = {} if address else {"include_dashboard": False}
    ray.init(address=address or None, logging_level=logging.WARNING, log_to_driver=False, **local)
    return True


def _collect(job: ShardJob, rows, progress, total: int) -> None:
    """Gather the actors' rows by shard and write each shard as soon as all its rows are in."""
    waiting: dict[int, dict] = {}
    done = 0
    for batch in rows:
        for row, index in enumerate(batch["index"]):
            shard = int(index) // job.shard_size
            waiting.setdefault(shard, {})[int(index)] = (
                batch["embedding"][row],
                batch["problem"][row],
                batch["faceless"][row],
            )
            if len(waiting[shard]) == len(job.indices(shard)):
                got = waiting.pop(shard)
                ordered = [got[i] for i in job.indices(shard)]
                faceless = [job.images.name(i) for i, (_, _, face) in zip(job.indices(shard), ordered) if face]
                job.write(
                    shard, EmbeddedImages(np.stack([r[0] for r in ordered]), [str(r[1]) for r in ordered], faceless)
                )
        done += len(batch["index"])
        if progress is not None:
            progress(done, total)


def embed_on_ray(
    data: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    address: str | None = None,
    actors: int | None = None,
    model: str | os.PathLike | None = None,
    engine: str = "auto",
    shard_size: int = SHARD_SIZE,
    batch_size: int = 256,
    workers: int | None = 1,
    detect: bool = True,
    on_no_face: str = "whole",
    progress: Callable[[int, int], None] | None = None,
) -> ShardJob:
    """`embed_to_shards` on Ray: `address` of a running cluster (`ray start --head`), or None for a
    local one; `actors` engines (default one per CPU of the cluster), each decoding with `workers` threads."""
    ray = _ray()
    if actors is not None and actors < 1:
        raise ConfigError(f"actors must be at least 1, got {actors}")
    spec = lasting_name(model)
    job = ShardJob.plan(data, out, model=load_model(model, engine=engine), spec=spec, shard_size=shard_size)
    indices = np.concatenate(
        [np.arange(r.start, r.stop) for r in map(job.indices, job.pending)] or [np.zeros(0, np.int64)]
    )
    if not len(indices):
        return job
    started = _connect(ray, address)
    try:
        actors = actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
        per_block = min(batch_size, -(-len(indices) // actors))  # every actor gets work, even on a small job
        blocks = np.array_split(indices, -(-len(indices) // per_block))
        settings = {
            "model": spec,
            "engine": engine,
            "images": ray.put(job.images),
            "detect": detect,
            "on_no_face": on_no_face,
            "workers": workers,
            "batch_size": batch_size,
        }
        rows = ray.data.from_numpy(blocks).map_batches(
            Embedder,
            fn_constructor_kwargs=settings,
            batch_size=None,
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=1,
            batch_format="numpy",
        )
        _collect(job, rows.iter_batches(batch_size=None, batch_format="numpy"), progress, len(indices))
    finally:
        if started:
            ray.shutdown()
    return job
