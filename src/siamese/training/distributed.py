"""Data-parallel training with the backend's own machinery: nothing here moves a gradient.

    JAX         keras.distribution.DataParallel over every device of every process; the
                processes join with keras.distribution.initialize (jax.distributed.initialize)
    TensorFlow  tf.distribute.MirroredStrategy over the GPUs of this host (one process)
    other       DistributionError

On JAX a training step is one XLA program over the global batch: each device embeds its
slice, and the (B, B) distance matrix, the BatchNorm statistics and the loss are those of
the whole batch, so N devices compute the one-device step (up to the order of float sums).
Each process feeds its own slice of every global batch (`ProcessShard`): a batch is drawn
from (seed, epoch, step), so every process draws the same global batch and keeps its part.
That is what Keras asks of data other than a tf.data.Dataset (`auto_shard_dataset=False`).

On TensorFlow each replica scores the pairs of its own slice only: MirroredStrategy
averages gradients, not distance matrices, so N GPUs see N matrices of B/N images.

The cluster is given by Keras's own environment variables, read by
`keras.distribution.initialize`; without them the run is one process (all its devices):

    KERAS_DISTRIBUTION_JOB_ADDRESSES   host:port of process 0 (the coordinator)
    KERAS_DISTRIBUTION_NUM_PROCESSES   how many processes take part
    KERAS_DISTRIBUTION_PROCESS_ID      this process's number, 0 .. N-1

Process 0 writes the model and the results; the others write theirs to a scratch folder
that is removed at the end (`Replicas.own_outputs`), so no two processes touch one file.
See docs/scaling.md for the commands and what is known not to work.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import tempfile
from pathlib import Path

import keras
import numpy as np

from siamese.errors import DistributionError

logger = logging.getLogger(__name__)

ADDRESSES, PROCESSES, PROCESS_ID = (
    "KERAS_DISTRIBUTION_JOB_ADDRESSES",
    "KERAS_DISTRIBUTION_NUM_PROCESSES",
    "KERAS_DISTRIBUTION_PROCESS_ID",
)


@dataclasses.dataclass(frozen=True)
class Replicas:
    """Where one run's steps go: `devices` replicas of the model in `processes` processes.

    `strategy` is the Keras distribution (JAX) or the tf.distribute strategy (TensorFlow)
    the model is built, compiled and trained under (`scope`), or None for a plain run.
    """

    backend: str
    devices: int = 1
    processes: int = 1
    process_id: int = 0
    strategy: object = None

    @property
    def chief(self) -> bool:
        """True in the process that writes the model and the results (process 0)."""
        return self.process_id == 0

    def scope(self):
        """The context to build, compile and train in."""
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()

    @contextlib.contextmanager
    def own_outputs(self, model_path: Path, results_dir: Path | None):
        """Yield (model path, results folder) this process writes: the given ones in process 0,
        a scratch folder's elsewhere (removed afterwards)."""
        if self.chief:
            yield model_path, results_dir
            return
        scratch = Path(tempfile.mkdtemp(prefix=f"siamese-process-{self.process_id}-"))
        try:
            if results_dir is not None:
                (scratch / "results").mkdir()
            yield scratch / Path(model_path).name, None if results_dir is None else scratch / "results"
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def setup(enabled: bool, *, resume: bool = False) -> Replicas:
    """The replicas of a run: a plain one unless `enabled`, else data-parallel on the active backend.

    Call it before any computation: on JAX it joins the cluster the environment names
    (once per process). Raises `DistributionError` on a backend without data-parallel
    training here, a malformed cluster, or `resume` with several processes.
    """
    backend = keras.backend.backend()
    if not enabled:
        return Replicas(backend)
    if backend == "jax":
        replicas = _jax()
    elif backend == "tensorflow":
        replicas = _tensorflow()
    else:
        raise DistributionError(
            f"--distributed: the {backend} backend has no data-parallel training here; "
            "use KERAS_BACKEND=jax (devices, processes, hosts) or tensorflow (GPUs of one host)"
        )
    if resume and replicas.processes > 1:
        raise DistributionError(
            f"--resume with {replicas.processes} processes: a run resumes in one process only "
            "(its saved state lives in process 0's results folder)"
        )
    logger.info(
        "data-parallel on %s: %d device(s) in %d process(es), this is process %d",
        backend,
        replicas.devices,
        replicas.processes,
        replicas.process_id,
    )
    return replicas


def _cluster() -> int:
    """The number of processes the environment asks for (1 when it names no cluster), checked."""
    given = {name: os.environ.get(name) for name in (ADDRESSES, PROCESSES, PROCESS_ID)}
    if given[PROCESSES] is None and given[ADDRESSES] is None:
        return 1
    try:
        count = int(given[PROCESSES] or 0)
        rank = int(given[PROCESS_ID]) if given[PROCESS_ID] is not None else 0 if count == 1 else -1
    except ValueError:
        raise DistributionError(
            f"{PROCESSES}={given[PROCESSES]!r}, {PROCESS_ID}={given[PROCESS_ID]!r}: both must be whole numbers"
        ) from None
    if count < 1 or not 0 <= rank < count:
        raise DistributionError(
            f"{PROCESSES}={given[PROCESSES]!r}, {PROCESS_ID}={given[PROCESS_ID]!r}: give the number "
            "of processes and this process's number, from 0 to that number less one"
        )
    if count > 1 and not given[ADDRESSES]:
        raise DistributionError(f"{ADDRESSES}: not set; give host:port of process 0 (the coordinator)")
    return count


def _jax() -> Replicas:
    import jax

    if _cluster() > 1 and not getattr(jax.distributed, "is_initialized", lambda: False)():
        try:
            keras.distribution.initialize()  # reads the KERAS_DISTRIBUTION_* variables itself
        except (RuntimeError, ValueError) as error:  # jax's XlaRuntimeError is a RuntimeError
            raise DistributionError(
                f"{ADDRESSES}={os.environ.get(ADDRESSES)}: cannot join the cluster ({str(error).splitlines()[0]})"
            ) from None
    devices = keras.distribution.list_devices()
    distribution = keras.distribution.DataParallel(devices=devices, auto_shard_dataset=False)
    return Replicas("jax", len(devices), jax.process_count(), jax.process_index(), distribution)


def _tensorflow() -> Replicas:
    if _cluster() > 1 or os.environ.get("TF_CONFIG"):
        raise DistributionError(
            "--distributed with several processes on TensorFlow: Keras 3 trains with tf.distribute on "
            "one host only (MultiWorkerMirroredStrategy does not work with it, keras-team/keras#20585); "
            "use KERAS_BACKEND=jax"
        )
    import tensorflow as tf

    strategy = tf.distribute.MirroredStrategy()
    return Replicas("tensorflow", strategy.num_replicas_in_sync, strategy=strategy)


def jit_compile(requested: bool) -> bool:
    """Whether to compile the steps with XLA: as `requested`, and always under a JAX distribution
    (op by op, every op of a step would be a program of its own, across every device and process)."""
    return requested or (
        keras.backend.backend() == "jax"
        and isinstance(keras.distribution.distribution(), keras.distribution.DataParallel)
    )


def _data_parallel():
    """The active Keras DataParallel distribution over more than one device, or None."""
    distribution = keras.distribution.distribution()
    if isinstance(distribution, keras.distribution.DataParallel) and distribution.num_model_replicas > 1:
        return distribution
    return None


def shard(batches: keras.utils.PyDataset) -> keras.utils.PyDataset:
    """`batches` as this process must feed them under the active distribution (unchanged without one)."""
    distribution = _data_parallel()
    if distribution is None:
        return batches
    return ProcessShard(
        batches,
        devices=distribution.num_model_replicas,
        processes=distribution.num_processes,
        process_id=distribution.data_shard_id,
    )


class ProcessShard(keras.utils.PyDataset):
    """This process's rows of each global (images, labels) batch of `batches`.

    A global batch of B rows is cut to a multiple of `devices` (the last rows go: forgeries,
    when a batch draws some) and split in `processes` equal runs of rows; process p feeds run p.
    The epoch counter is `batches`'s own, so resuming sets it as before.
    """

    def __init__(self, batches: keras.utils.PyDataset, *, devices: int, processes: int, process_id: int):
        super().__init__()
        if devices % processes:
            raise DistributionError(f"{devices} devices cannot be split evenly over {processes} processes")
        self.batches = batches
        self.devices, self.processes, self.process_id = devices, processes, process_id

    def __len__(self) -> int:
        return len(self.batches)

    def rows(self, size: int) -> slice:
        """The rows of a global batch of `size` this process feeds."""
        usable = size - size % self.devices
        if not usable:
            raise DistributionError(
                f"a batch of {size} images cannot be split over {self.devices} devices; "
                "draw more classes or examples per batch"
            )
        share = usable // self.processes
        return slice(self.process_id * share, (self.process_id + 1) * share)

    def __getitem__(self, index: int):
        images, labels = self.batches[index]
        part = self.rows(len(labels))
        return images[part], labels[part]

    def on_epoch_end(self):
        self.batches.on_epoch_end()

    @property
    def epoch(self) -> int:
        return self.batches.epoch

    @epoch.setter
    def epoch(self, value: int) -> None:
        self.batches.epoch = value


def embed(tower: keras.Model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The tower's embeddings of `images`, (n, d), under whatever distribution is active.

    Under a DataParallel distribution, Keras's `predict` cannot hand back outputs spread over
    several processes, and on one process fails on a last batch that does not divide among
    the devices; there the tower is called on whole batches, each device computing all of
    each (it is validation: small next to training).
    """
    if _data_parallel() is None or not len(images):
        return tower.predict(images, batch_size=batch_size, verbose=0)
    parts = [
        keras.ops.convert_to_numpy(tower(images[start : start + batch_size], training=False))
        for start in range(0, len(images), batch_size)
    ]
    return np.concatenate(parts)
