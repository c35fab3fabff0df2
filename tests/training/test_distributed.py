"""Data-parallel training (`siamese.training.distributed`).

On JAX, two worker processes on 127.0.0.1 (CPU devices, gloo collectives) train the tiny
model of `distributed_worker.py` together, while a third trains it alone on the same
global batches: each worker must have fed a different half of every global batch, the two
halves together must be that batch, and the model process 0 saved must be the one the
lone process saved, within float tolerance (the order of float sums differs). A fourth
trains it on two CPU devices of its own (the one-host, several-GPU layout) and must match
the lone process too. On
TensorFlow, MirroredStrategy trains on the one CPU device, and on two logical ones a
replica's loss is its share of the mean. The rest: the slicing, and the typed errors.
"""

import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from siamese.errors import DistributionError
from siamese.training import TrainConfig, distributed
from siamese.training.distributed import ProcessShard

HERE = Path(__file__).parent
# Measured: 1.3e-6 at most between the weights of the two runs (float32, 4 Adam steps at lr 0.01).
WEIGHT_TOLERANCE = 1e-5
LOSS_TOLERANCE = 1e-5  # relative
WORKER_TIMEOUT = 240  # seconds; a run takes about 20 s on 2 idle cores


def _why_no_jax_cluster():
    """None when JAX processes can compute together on CPUs here, else the reason they cannot."""
    if importlib.util.find_spec("jax") is None:
        return "jax is not installed (pip install 'jax[cpu]'): the JAX data-parallel path cannot run"
    import jax

    if "jax_cpu_collectives_implementation" not in jax.config.values:
        return f"jax {jax.__version__} has no cross-process CPU collectives (gloo)"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(data: Path, out: Path, mode: str, folder: Path, cluster: dict):
    """A worker process, its own files in `folder`: (Popen, record path, log path)."""
    record, log, scratch = folder / f"{out.name}.json", folder / f"{out.name}.log", folder / f"{out.name}-tmp"
    scratch.mkdir(parents=True)
    env = {
        **os.environ,
        "JAX_PLATFORMS": "cpu",
        "JAX_CPU_COLLECTIVES_IMPLEMENTATION": "gloo",
        "TMPDIR": str(scratch),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        **cluster,
    }
    for name in (distributed.ADDRESSES, distributed.PROCESSES, distributed.PROCESS_ID):
        if name not in cluster:
            env.pop(name, None)
    with open(log, "w") as handle:
        process = subprocess.Popen(
            [sys.executable, str(HERE / "distributed_worker.py"), str(data), str(out), str(record), mode],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    return process, record, log


def _finish(started) -> list:
    """Wait for the workers; their records, or a failure with the logs' tails."""
    failed = []
    for process, _, log in started:
        try:
            process.wait(timeout=WORKER_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.returncode != 0:
            failed.append(f"{log.name} (exit {process.returncode}):\n" + "\n".join(log.read_text().splitlines()[-15:]))
    if failed:
        for process, _, _ in started:
            if process.poll() is None:
                process.kill()
        pytest.fail("a worker failed:\n" + "\n\n".join(failed))
    return [json.loads(record.read_text()) for _, record, _ in started]


def _files(folder: Path) -> set:
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}


def test_two_processes_feed_halves_of_each_batch_and_match_one_process(shapes_dir, tmp_path):
    reason = _why_no_jax_cluster()
    if reason:
        pytest.skip(reason)
    address = f"127.0.0.1:{_free_port()}"
    started = []
    for rank in (0, 1):
        cluster = {distributed.ADDRESSES: address, distributed.PROCESSES: "2", distributed.PROCESS_ID: str(rank)}
        started.append(_start(shapes_dir, tmp_path / "together", "distributed", tmp_path / f"p{rank}", cluster))
    started.append(_start(shapes_dir, tmp_path / "alone", "single", tmp_path / "one", {}))
    started.append(
        _start(
            shapes_dir,
            tmp_path / "local",
            "distributed",
            tmp_path / "two-devices",
            {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"},
        )
    )
    first, second, alone, local = _finish(started)

    assert (first["process"], second["process"], first["processes"], alone["processes"], local["processes"]) == (
        0,
        1,
        2,
        1,
        1,
    )
    assert local["devices"] == 2 and first["devices"] == 2 and alone["devices"] == 1
    # Every global batch: the halves differ, and together (process 0's rows first) they are the batch.
    assert first["seen"].keys() == second["seen"].keys() == alone["seen"].keys() and len(alone["seen"]) >= 4
    for step, rows in alone["seen"].items():
        assert len(first["seen"][step]) == len(second["seen"][step]) == len(rows) // 2
        assert set(first["seen"][step]).isdisjoint(second["seen"][step])
        assert first["seen"][step] + second["seen"][step] == rows
    # One training, whichever way it ran: the same losses, figures and saved weights.
    assert first["history"] == second["history"]
    np.testing.assert_allclose(first["history"]["loss"], alone["history"]["loss"], rtol=LOSS_TOLERANCE)
    assert first["metrics"]["val_auc"] == pytest.approx(alone["metrics"]["val_auc"], abs=1e-6)
    assert local["seen"] == alone["seen"]  # one process of two devices feeds the whole batch
    np.testing.assert_allclose(local["history"]["loss"], alone["history"]["loss"], rtol=LOSS_TOLERANCE)
    together, single, two_devices = (
        np.load(tmp_path / name / f"{run}.json.npz")
        for name, run in (("p0", "together"), ("one", "alone"), ("two-devices", "local"))
    )
    assert len(together.files) == len(single.files) == len(two_devices.files) > 0
    for name in single.files:
        np.testing.assert_allclose(together[name], single[name], atol=WEIGHT_TOLERANCE, rtol=0)
        np.testing.assert_allclose(two_devices[name], single[name], atol=WEIGHT_TOLERANCE, rtol=0)
    # Only process 0 wrote the model and results; process 1 left nothing behind, and reports the real paths.
    assert _files(tmp_path / "together") == _files(tmp_path / "alone")
    assert not any((tmp_path / "p1" / "together-tmp").iterdir())
    assert second["model_path"] == first["model_path"] == str(tmp_path / "together" / "model.keras")


def test_mirrored_strategy_trains_on_the_one_cpu(shapes_dir, tmp_path):
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the TensorFlow path runs under the TensorFlow backend")
    import tensorflow as tf

    from siamese.training import train

    seen, first_losses = [], []

    class Strategy(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen.append(self.model.distribute_strategy)

        def on_train_batch_end(self, batch, logs=None):
            if batch == 0:
                first_losses.append(logs["loss"])

    config = TrainConfig.from_settings(
        image_size=(16, 16),
        filters=(8, 8),
        embedding_dim=8,
        epochs=1,
        steps_per_epoch=3,
        classes_per_batch=4,
        examples_per_class=2,
        validation_pairs=40,
        seed=7,
        distributed=True,
    )
    mirrored = train(
        shapes_dir, model_path=tmp_path / "mirrored.keras", config=config, verbose=0, callbacks=[Strategy()]
    )
    plain = train(
        shapes_dir,
        model_path=tmp_path / "plain.keras",
        config=config.with_settings(distributed=False),
        verbose=0,
        callbacks=[Strategy()],
    )
    assert isinstance(seen[0], tf.distribute.MirroredStrategy) and seen[0].num_replicas_in_sync == 1
    assert not isinstance(seen[1], tf.distribute.MirroredStrategy)
    assert mirrored.model_path.is_file() and np.isfinite(mirrored.history["loss"]).all() and plain.model_path.is_file()
    # The same first batch from the same weights: the same loss. (Later batches may differ: through
    # tf.data, Keras reads batches ahead of a strategy's steps and may draw them at another epoch count.)
    assert first_losses[0] == pytest.approx(first_losses[1], rel=1e-5)


def test_mirrored_replicas_take_the_step_of_the_mean_gradient(tmp_path):
    """Two replicas: the loss reported is the mean of theirs, the step that of the mean gradient
    (not their sum, which tf.distribute makes of unscaled losses)."""
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("TensorFlow is not installed")
    record = tmp_path / "mirrored.json"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(
        [sys.executable, str(HERE / "mirrored_worker.py"), str(record)],
        env=env,
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(record.read_text())
    assert result["replicas"] == 2
    assert result["loss"] == pytest.approx(result["mean_of_halves"], rel=1e-5)
    assert result["weight_difference"] < 1e-6


class _Batches:
    """Stands in for ClassBatches: batch i has `sizes[i]` rows numbered 0.. ."""

    def __init__(self, sizes):
        self.sizes, self.epoch = sizes, 0

    def __len__(self):
        return len(self.sizes)

    def __getitem__(self, index):
        rows = np.arange(self.sizes[index])
        return rows[:, None].astype("float32"), rows.astype("int32")

    def on_epoch_end(self):
        self.epoch += 1


def test_each_process_takes_its_run_of_rows_cut_to_the_devices():
    batches = _Batches([8, 10])
    shards = [ProcessShard(batches, devices=4, processes=2, process_id=rank) for rank in (0, 1)]
    assert [list(shard[0][1]) for shard in shards] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert [list(shard[1][1]) for shard in shards] == [[0, 1, 2, 3], [4, 5, 6, 7]]  # rows 8, 9 (forgeries last) go
    shards[0].on_epoch_end()
    shards[1].epoch = 5  # a resumed run sets the counter through the shard
    assert batches.epoch == 5 and len(shards[0]) == 2


@pytest.mark.parametrize(
    "sizes, devices, processes, message",
    [
        ([3], 4, 2, "a batch of 3 images cannot be split over 4 devices"),
        ([8], 3, 2, "3 devices cannot be split evenly over 2 processes"),
    ],
)
def test_batches_that_cannot_be_split_are_refused(sizes, devices, processes, message):
    with pytest.raises(DistributionError, match=message):
        ProcessShard(_Batches(sizes), devices=devices, processes=processes, process_id=0)[0]


@pytest.mark.parametrize(
    "environment, message",
    [
        ({distributed.PROCESSES: "2", distributed.PROCESS_ID: "0"}, "KERAS_DISTRIBUTION_JOB_ADDRESSES: not set"),
        ({distributed.ADDRESSES: "127.0.0.1:1", distributed.PROCESSES: "2", distributed.PROCESS_ID: "2"}, "from 0 to"),
        (
            {distributed.ADDRESSES: "127.0.0.1:1", distributed.PROCESSES: "two", distributed.PROCESS_ID: "0"},
            "whole numbers",
        ),
    ],
)
def test_a_malformed_cluster_is_a_typed_error(monkeypatch, environment, message):
    for name in (distributed.ADDRESSES, distributed.PROCESSES, distributed.PROCESS_ID):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(DistributionError, match=message):
        distributed.setup(True)


def test_several_processes_on_tensorflow_and_other_backends_are_refused(monkeypatch):
    keras = pytest.importorskip("keras")
    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    with pytest.raises(DistributionError, match="the torch backend has no data-parallel training here"):
        distributed.setup(True)
    monkeypatch.setattr(keras.backend, "backend", lambda: "tensorflow")
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {}}')
    with pytest.raises(DistributionError, match="keras-team/keras#20585"):
        distributed.setup(True)
    assert distributed.setup(False).devices == 1  # a plain run asks nothing of the backend
