"""Verification speed: one pair in a fresh process, warm pairs, and embedding many images.

**What.** Three measurements on the same tower, each beside a baseline written the way
Siamese tutorials write inference (TensorFlow imported, the whole two-input model loaded,
`model.predict([a, b])` per pair, so two tower passes per pair):

1. *Cold start*: `python test.py --image1 A --image2 B --model M` as a whole process, with
   the ONNX export beside `M` (what a user or a shell script pays per call), against the
   baseline script; median wall time of several runs and each process's peak memory.
2. *Warm latency*: one verification (two PNG files in, the answer out) in a process that
   has the model loaded; p50 and p99.
3. *Throughput*: embeddings per second at batch 256, and how much of this machine's
   float32 matmul peak that is (the tower's FLOPs per image are counted from its Conv2D
   and Dense layers; the peak is measured with a large numpy matmul).

**Why.** Verification is what a deployed model does all day. Most of a cold start is
spent importing TensorFlow and building the Keras model; the ONNX engine (`siamese export`,
then `siamese.load_model`) imports neither. Warm, `predict` pays a fixed overhead per call
that dwarfs a small tower's arithmetic.

    python benchmarks/verify_latency.py
    python benchmarks/verify_latency.py --model models/omniglot.keras --cold-runs 9

Without `models/omniglot.keras` an untrained tower of the default architecture stands in:
speed does not depend on the weights. Everything runs on the CPU; numbers depend on the
machine and on what else it is doing, so both sides are measured in the same run,
interleaved.
"""

import argparse
import dataclasses
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from _common import describe_host, p50_p99

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

"""
## Parameters
"""

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "models" / "omniglot.keras"
RUNS_ZIP = REPO / "dataset" / "all_runs.zip"  # the official one-shot runs: real character images
PAIR = ("run01/test/item06.png", "run01/training/class18.png")  # the same character (run01/class_labels.txt)
COLD_RUNS = 5  # fresh processes per side
WARM_PAIRS = 200  # warm verifications, ours
BASELINE_WARM_PAIRS = 100  # warm verifications, baseline (each costs tens of ms)
BATCH_SIZE = 256
THROUGHPUT_BATCHES = 4  # batches per timing
THROUGHPUT_ROUNDS = 3  # interleaved rounds; the best of each is kept
MATMUL_SIZE = 2048  # n of the n x n float32 matmul that measures the peak

"""
## The baseline

What a tutorial's `predict.py` looks like: import TensorFlow, load the two-input model
(its custom layers registered by importing them, as a tutorial defines them inline), read
and scale the two images, `model.predict([a, b])`. The model call runs the tower once per
image, so twice per pair.
"""

BASELINE = """
import sys

import cv2
import keras
import numpy as np
import tensorflow as tf

import siamese.model  # registers the custom layers, as a tutorial's script defines them inline

model = keras.models.load_model(sys.argv[1], compile=False)
height, width = model.preprocessing["image_size"]


def load(path):
    image = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA).astype("float32") / 255.0
    if model.preprocessing["invert"]:
        image = 1.0 - image
    return image[None, :, :, None]


distance = float(model.predict([load(sys.argv[2]), load(sys.argv[3])], verbose=0)[0])
print("same" if distance <= model.threshold else "different", f"(distance {distance:.4f})")
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", type=Path, default=MODEL, help="a .keras model (default models/omniglot.keras, else a stand-in)"
    )
    parser.add_argument("--cold-runs", type=int, default=COLD_RUNS)
    parser.add_argument("--warm-pairs", type=int, default=WARM_PAIRS)
    return parser.parse_args()


"""
## Measuring one process

Peak memory comes from `getrusage(RUSAGE_CHILDREN)`, taken in a small launcher that forks
the measured command and waits for it: asked from this process, the figure would start
from this process's own peak (a child started by vfork + exec inherits it), and it is a
maximum over all children so far. The launcher times the child from fork to exit.
"""

LAUNCHER = """
import json, os, resource, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.dup2(os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 1)
    os.dup2(os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
    os.execv(sys.argv[3], sys.argv[3:])
_, status = os.waitpid(pid, 0)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
print(json.dumps({"seconds": seconds, "status": os.waitstatus_to_exitcode(status), "peak_kib": peak}))
"""


def run_process(command, cwd, work):
    """Wall time (s), peak RSS (MiB) and stdout of one run of `command`."""
    import json

    out, err = work / "child.out", work / "child.err"
    launched = subprocess.run(
        [sys.executable, "-c", LAUNCHER, str(out), str(err), *command],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(launched.stdout)
    if result["status"] != 0:
        raise RuntimeError(f"{command[1]} failed: {err.read_text()[-2000:]}")
    return result["seconds"], result["peak_kib"] / 1024, out.read_text().strip()


def main():
    args = parse_args()
    work = Path(tempfile.mkdtemp(prefix="verify-latency-"))
    try:
        run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args, work):
    """The three measurements, then the summary; each section below is one of them."""
    setup = prepare(args, work)
    describe(setup)
    cold = cold_start(setup, args.cold_runs, work)
    warm = warm_latency(setup, args.warm_pairs)
    throughput = embedding_throughput(setup)
    summary(cold, warm, throughput)


"""
## Setup

A private copy of the model (so the export we write never lands beside the user's model
unasked), its ONNX export beside it, and the official runs' images unpacked. The model is
loaded twice: on the Keras engine (the baseline's network and tower come from it) and as
`load_model` picks by default, on ONNX Runtime.
"""


@dataclasses.dataclass
class Setup:
    model_path: Path
    about: str  # which model, in words
    exported: object  # siamese.inference.export_model's result
    image_a: str  # the pair every verification answers
    image_b: str
    all_images: list  # every PNG of the official runs, for throughput from files
    baseline_script: Path
    keras_model: object  # siamese.SiameseModel on the Keras engine
    fast_model: object  # siamese.SiameseModel on ONNX Runtime


def prepare(args, work) -> Setup:
    from siamese.inference import export_model, load_model

    model_path = work / "model.keras"
    about = copy_or_stand_in(args.model, model_path)
    exported = export_model(model_path)
    with zipfile.ZipFile(RUNS_ZIP) as archive:
        names = [n for n in archive.namelist() if n.endswith(".png")]
        archive.extractall(work / "runs", members=names)
    image_a, image_b = (str(work / "runs" / name) for name in PAIR)
    baseline_script = work / "baseline_predict.py"
    baseline_script.write_text(BASELINE)
    keras_model = load_model(model_path, engine="keras")
    fast_model = load_model(model_path)
    assert fast_model.engine == "onnx"
    all_images = sorted(str(work / "runs" / n) for n in names)
    return Setup(model_path, about, exported, image_a, image_b, all_images, baseline_script, keras_model, fast_model)


def copy_or_stand_in(model: Path, model_path: Path) -> str:
    """Copy `model` to `model_path`, or save an untrained tower of the default architecture
    there when it is absent (speed does not depend on the weights); says which, in words."""
    if model.is_file():
        shutil.copy(model, model_path)
        return str(model.relative_to(REPO) if model.is_relative_to(REPO) else model)
    from siamese.model import save_network
    from siamese.training import TrainConfig, build_network

    config = TrainConfig()
    network = build_network(config, dataclasses.replace(config.preprocessing, invert=True))
    network.threshold = 0.5
    save_network(network, model_path)
    return "untrained stand-in of the default architecture (models/omniglot.keras is absent)"


def describe(setup: Setup) -> None:
    keras_model, exported = setup.keras_model, setup.exported
    tower = keras_model.network.tower
    print(f"model:  {setup.about}")
    print(
        f"tower:  input {keras_model.preprocessing.input_shape}, {tower.count_params():,} parameters, "
        f"embedding {keras_model.embedding_dim}, distance {type(keras_model.network.distance).__name__}"
    )
    print(
        f"export: {exported.path.name} in {exported.seconds:.1f} s, embeddings within {exported.max_difference:.1e} of Keras"
    )
    print(f"machine: {describe_host()}\n")


"""
## 1. Cold start: one pair, one fresh process

Both sides answer the same question about the same two files, alternating so that any
background load hits both alike. Ours is the repository's `test.py` (through the `siamese`
CLI) with the export beside the model.
"""


def cold_start(setup: Setup, runs: int, work: Path) -> dict:
    """{"time": side -> median seconds, "rss": side -> peak MiB} over `runs` runs per side."""
    ours_command = [
        sys.executable,
        str(REPO / "test.py"),
        "--image1",
        setup.image_a,
        "--image2",
        setup.image_b,
        "--model",
        str(setup.model_path),
    ]
    baseline_command = [sys.executable, str(setup.baseline_script), str(setup.model_path), setup.image_a, setup.image_b]
    cold = {"ours": [], "baseline": []}
    for _ in range(runs):
        for side, command in (("ours", ours_command), ("baseline", baseline_command)):
            cold[side].append(run_process(command, cwd=REPO, work=work))
    answers = {side: measured[-1][2] for side, measured in cold.items()}
    cold_time = {side: statistics.median(r[0] for r in measured) for side, measured in cold.items()}
    cold_rss = {side: max(r[1] for r in measured) for side, measured in cold.items()}
    print(f"1. cold start, one pair per process (median of {runs})")
    for side, label in (("ours", "test.py + ONNX export"), ("baseline", "TensorFlow + model.predict")):
        times = ", ".join(f"{r[0]:.2f}" for r in cold[side])
        print(f"   {label:28s} {cold_time[side]:6.2f} s  peak RSS {cold_rss[side]:6.0f} MiB   runs: {times}")
    print(f"   answers: ours '{answers['ours']}', baseline '{answers['baseline']}'\n")
    return {"time": cold_time, "rss": cold_rss}


"""
## 2. Warm latency: one pair, model already loaded

From two PNG paths to the answer: read, preprocess, embed, distance, compare. Ours on both
engines (`load_model` picks ONNX Runtime; `engine="keras"` forces Keras), the baseline with
`predict` on the two-input model. Each is called five times before the timed calls.
"""


def warm_latency(setup: Setup, pairs: int) -> dict:
    """Seconds per verification, label -> samples."""
    keras_model, fast_model, a, b = setup.keras_model, setup.fast_model, setup.image_a, setup.image_b

    def baseline_verify():
        from siamese.data import load_images

        batch_a, batch_b = load_images(a, keras_model.preprocessing), load_images(b, keras_model.preprocessing)
        network = keras_model.network
        return float(network.predict([batch_a, batch_b], verbose=0)[0]) <= network.threshold

    warm = {
        "ours, ONNX Runtime": _samples(lambda: fast_model.verify(a, b), pairs),
        "ours, Keras engine": _samples(lambda: keras_model.verify(a, b), pairs // 2),
        "baseline, model.predict": _samples(baseline_verify, BASELINE_WARM_PAIRS),
    }
    print("2. warm verification of one pair (files in, answer out)")
    for label, samples in warm.items():
        p50, p99 = p50_p99(samples)
        print(f"   {label:28s} p50 {1000 * p50:7.2f} ms   p99 {1000 * p99:7.2f} ms   ({len(samples)} pairs)")
    print()
    return warm


def _samples(function, count: int) -> list:
    for _ in range(5):
        function()
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return samples


"""
## 3. Throughput: many images

The tower on batches of 256 already-prepared images: ONNX Runtime, a plain Keras call, and
`predict`. Then the whole path from PNG files (decoding on threads while the tower runs) with
one thread and with the default. All of them take turns, a few rounds, and each keeps its
best round. FLOPs per image count the multiply-adds of each Conv2D and Dense layer twice;
the peak is the best of a few large float32 matmuls, timed in the same rounds.
"""


def embedding_throughput(setup: Setup) -> dict:
    """Images per second, label -> best round, for the three tower calls."""
    best, flops = _best_rates(setup), tower_flops(setup.keras_model.network.tower)
    peak = 2 * MATMUL_SIZE**3 * best.pop("matmul")  # FLOP/s
    throughput = {label: best[label] for label in list(best)[:3]}
    print(
        f"3. embedding throughput at batch {BATCH_SIZE} ({flops / 1e6:.1f} MFLOP per image; "
        f"numpy float32 matmul peak {peak / 1e9:.1f} GFLOP/s)"
    )
    for label, rate in throughput.items():
        print(
            f"   {label:32s} {rate:8.0f} images/s   {rate * flops / 1e9:6.1f} GFLOP/s = {100 * rate * flops / peak:5.1f}% of peak"
        )
    print(
        f"   {'from PNG files, 1 thread':32s} {best['from PNG files, 1 thread']:8.0f} images/s   ({len(setup.all_images)} files)"
    )
    print(f"   {'from PNG files, threaded':32s} {best['from PNG files, threaded']:8.0f} images/s\n")
    return throughput


def _best_rates(setup: Setup) -> dict:
    """Items per second of each contender, the best of the interleaved rounds."""
    import numpy as np

    fast_model, keras_model, all_images = setup.fast_model, setup.keras_model, setup.all_images
    rng = np.random.default_rng(0)
    batch = rng.random((BATCH_SIZE, *keras_model.preprocessing.input_shape), dtype=np.float32)
    a = rng.random((MATMUL_SIZE, MATMUL_SIZE), dtype=np.float32)
    b = rng.random((MATMUL_SIZE, MATMUL_SIZE), dtype=np.float32)
    tower = keras_model.network.tower
    contenders = {  # label: (items per call, calls per timing, the call)
        "ONNX Runtime (ours)": (BATCH_SIZE, THROUGHPUT_BATCHES, lambda: fast_model._engine.embed_batch(batch)),
        "Keras call (ours, keras engine)": (
            BATCH_SIZE,
            THROUGHPUT_BATCHES,
            lambda: keras_model._engine.embed_batch(batch),
        ),
        "tower.predict (baseline)": (
            BATCH_SIZE,
            THROUGHPUT_BATCHES,
            lambda: tower.predict(batch, batch_size=BATCH_SIZE, verbose=0),
        ),
        "from PNG files, 1 thread": (
            len(all_images),
            1,
            lambda: fast_model.embed(all_images, batch_size=BATCH_SIZE, workers=1),
        ),
        "from PNG files, threaded": (len(all_images), 1, lambda: fast_model.embed(all_images, batch_size=BATCH_SIZE)),
        "matmul": (1, 3, lambda: a @ b),
    }
    best = {label: 0.0 for label in contenders}
    for _ in range(THROUGHPUT_ROUNDS + 1):  # the first round warms up and counts too
        for label, (items, calls, function) in contenders.items():
            seconds = _timed_once(lambda function=function, calls=calls: [function() for _ in range(calls)])
            best[label] = max(best[label], items * calls / seconds)
    return best


def tower_flops(tower) -> int:
    """Floating-point operations per image: 2 x the multiply-adds of each Conv2D and Dense."""
    flops = 0
    for layer in _leaf_layers(tower):
        if layer.__class__.__name__ == "Conv2D":
            _, height, width, _ = layer.output.shape
            kh, kw, cin, cout = layer.kernel.shape
            flops += 2 * height * width * kh * kw * cin * cout
        elif layer.__class__.__name__ == "Dense":
            flops += 2 * layer.kernel.shape[0] * layer.kernel.shape[1]
    return flops


def _leaf_layers(model):
    """The model's layers, those of the models inside it (an ensemble's members) included."""
    for layer in model.layers:
        if hasattr(layer, "layers"):
            yield from _leaf_layers(layer)
        else:
            yield layer


def _timed_once(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


"""
## Summary

Ratios are baseline / ours (how many times faster or smaller ours is).
"""


def summary(cold: dict, warm: dict, throughput: dict) -> None:
    cold_time, cold_rss = cold["time"], cold["rss"]
    ours_cold = cold_time["ours"]
    print("summary")
    print(
        f"   cold start: {ours_cold:.2f} s vs {cold_time['baseline']:.2f} s = {cold_time['baseline'] / ours_cold:.1f}x faster "
        f"(target: under 1 s {'met' if ours_cold < 1 else 'NOT met'}; at least 10x "
        f"{'met' if cold_time['baseline'] / ours_cold >= 10 else 'NOT met'})"
    )
    print(
        f"   peak memory of that process: {cold_rss['ours']:.0f} MiB vs {cold_rss['baseline']:.0f} MiB = "
        f"{cold_rss['baseline'] / cold_rss['ours']:.1f}x smaller"
    )
    ours_warm, base_warm = p50_p99(warm["ours, ONNX Runtime"])[0], p50_p99(warm["baseline, model.predict"])[0]
    print(
        f"   warm pair p50: {1000 * ours_warm:.2f} ms vs {1000 * base_warm:.2f} ms = {base_warm / ours_warm:.1f}x faster"
    )
    ours_rate, base_rate = throughput["ONNX Runtime (ours)"], throughput["tower.predict (baseline)"]
    print(f"   embeddings/s at batch {BATCH_SIZE}: {ours_rate:.0f} vs {base_rate:.0f} = {ours_rate / base_rate:.2f}x")


if __name__ == "__main__":
    main()
