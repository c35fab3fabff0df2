"""Data-parallel scaling: training steps per second in 1 process against 2, the same global batch.

**What.** `siamese.training.train` with `distributed=True` on the JAX backend, on CPU
devices: first one process trains alone, then two processes on 127.0.0.1 train together
(`keras.distribution.DataParallel`, joined by `keras.distribution.initialize`, gloo
collectives), each feeding half of every global batch of B images. Both draw the same
batches from the same seed, with the package's default tower. The steady-state steps per
second (the second epoch's steps; the first compiles) give the speedup and the scaling
efficiency, speedup / processes.

**How the cores are shared.** Each process is pinned to one core and XLA to one thread,
so one process has one core and two have two: the efficiency then measures what data
parallelism costs (gradient all-reduce, the all-gathered distance matrix, every process
decoding the data), not how one process uses spare cores. On a machine of 2 cores shared
with other work, expect little: the figure is an upper bound on the overhead at best.

    python benchmarks/scaling.py
    python benchmarks/scaling.py --steps 30 --image-size 32

The images are the bundled `dataset/images_background_small1.zip` (Omniglot alphabets).
Needs jax (pip install 'jax[cpu]'); without it the script says so and exits 0.
"""

import argparse
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from _common import describe_host

"""
## Parameters
"""

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "dataset" / "images_background_small1.zip"
CLASSES_PER_BATCH = 16
EXAMPLES_PER_CLASS = 4  # B = 64 images per global step, 32 per process with two
STEPS = 20  # steps per epoch; epoch 1 compiles, epoch 2 is timed
IMAGE_SIZE = 48
VALIDATION_PAIRS = 200  # validation runs between the epochs, outside the timed steps
SEED = 0
TIMEOUT = 900  # seconds per run


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steps", type=int, default=STEPS, help=f"steps per epoch (default {STEPS}; the second epoch is timed)"
    )
    parser.add_argument(
        "--image-size", type=int, default=IMAGE_SIZE, help=f"input side in pixels (default {IMAGE_SIZE})"
    )
    parser.add_argument(
        "--worker", nargs=3, type=int, help=argparse.SUPPRESS
    )  # (rank, processes, port): one process, JSON out
    parser.add_argument("--out", help=argparse.SUPPRESS)
    return parser.parse_args()


"""
## One process of a run

Pinned to one core; its timer reads the clock when each step of the second epoch has
ended. Keras's own first callback (the bad-loss guard) reads each step's loss, so a step
has finished on the device when its end is timed.
"""


def worker(rank: int, processes: int, port: int, args) -> None:
    os.sched_setaffinity(0, {rank % os.cpu_count()})
    import keras

    from siamese.training import TrainConfig, train

    ends = []

    class StepClock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == 1:
                ends.append(time.perf_counter())

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

    config = TrainConfig.from_settings(
        image_size=(args.image_size, args.image_size),
        epochs=2,
        steps_per_epoch=args.steps,
        classes_per_batch=CLASSES_PER_BATCH,
        examples_per_class=EXAMPLES_PER_CLASS,
        validation_pairs=VALIDATION_PAIRS,
        jit_compile=True,
        distributed=True,
        seed=SEED,
    )
    out = Path(args.out)
    result = train(
        DATA,
        model_path=out / "model.keras",
        config=config,
        results_dir=out / "results",
        verbose=0,
        callbacks=[StepClock()],
    )
    steps_per_second = (len(ends) - 1) / (ends[-1] - ends[0])
    print(json.dumps({"rank": rank, "steps_per_second": steps_per_second, "loss": result.history["loss"]}), flush=True)


def run(processes: int, args, folder: Path) -> list:
    """Start `processes` workers (one cluster), wait, and return their JSON reports."""
    port = _free_port()
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "JAX_PLATFORMS": "cpu",
        "JAX_CPU_COLLECTIVES_IMPLEMENTATION": "gloo",
        "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    for name in (
        "KERAS_DISTRIBUTION_JOB_ADDRESSES",
        "KERAS_DISTRIBUTION_NUM_PROCESSES",
        "KERAS_DISTRIBUTION_PROCESS_ID",
    ):
        env.pop(name, None)  # a cluster of the caller's would not be ours
    started = []
    for rank in range(processes):
        cluster = (
            {
                "KERAS_DISTRIBUTION_JOB_ADDRESSES": f"127.0.0.1:{port}",
                "KERAS_DISTRIBUTION_NUM_PROCESSES": str(processes),
                "KERAS_DISTRIBUTION_PROCESS_ID": str(rank),
            }
            if processes > 1
            else {}
        )
        command = [
            sys.executable,
            __file__,
            "--worker",
            str(rank),
            str(processes),
            str(port),
            "--out",
            str(folder),
            "--steps",
            str(args.steps),
            "--image-size",
            str(args.image_size),
        ]
        started.append(
            subprocess.Popen(command, env={**env, **cluster}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        )
    reports = []
    for process in started:
        out, err = process.communicate(timeout=TIMEOUT)
        if process.returncode != 0:
            raise SystemExit(f"a worker failed (exit {process.returncode}):\n{err[-3000:]}")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main():
    args = parse_args()
    if args.worker:
        return worker(*args.worker, args)
    if importlib.util.find_spec("jax") is None:
        print("jax is not installed (pip install 'jax[cpu]'): nothing to measure")
        return 0
    import tempfile

    """
    ## The two runs

    One after the other, so they do not share the cores; the same seed, batches and steps.
    """
    print(f"machine: {describe_host()}; load average {os.getloadavg()[0]:.1f} at the start")
    print(
        f"global batch: {CLASSES_PER_BATCH * EXAMPLES_PER_CLASS} images of {args.image_size}x{args.image_size}, "
        f"{args.steps} timed steps, each process on one core\n"
    )
    rates = {}
    with tempfile.TemporaryDirectory() as folder:
        for processes in (1, 2):
            begin = time.perf_counter()
            reports = run(processes, args, Path(folder) / f"run{processes}")
            rates[processes] = min(
                report["steps_per_second"] for report in reports
            )  # the slowest process sets the pace
            print(
                f"{processes} process(es): {rates[processes]:.2f} steps/s "
                f"({rates[processes] * CLASSES_PER_BATCH * EXAMPLES_PER_CLASS:.0f} images/s), "
                f"losses {[round(v, 4) for v in reports[0]['loss']]}, run {time.perf_counter() - begin:.0f} s"
            )

    """
    ## Summary

    Speedup: steps per second with two processes over one. Efficiency: speedup / 2
    (1.0 would be perfect scaling: two cores doing twice the steps of one).
    """
    speedup = rates[2] / rates[1]
    print(f"\nspeedup 1 -> 2 processes: {speedup:.2f}x; scaling efficiency {100 * speedup / 2:.0f}%")
    print(f"load average {os.getloadavg()[0]:.1f} at the end (other work on these cores lowers both runs, unevenly)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
