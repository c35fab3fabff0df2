"""Training throughput: our trainer on each Keras 3 backend beside a pytorch-metric-learning trainer.

**What.** The same tower (48x48 grey input, 4 blocks of Conv 3x3 64 with max-pooling,
BatchNorm and ReLU, a 128-d unit-length embedding) trained on the same batches (64 images:
16 Omniglot characters x 4 drawings, distorted as in training, from
`siamese.training.batches.ClassBatches`), with the contrastive loss over all 2,016 pairs of
the batch and Adam, four ways:

* *ours on TensorFlow, JAX and PyTorch*: `siamese.training.trainer.PairwiseTrainer` under
  `keras.Model.fit`, with `KERAS_BACKEND` set to each backend;
* *the PyTorch peer*: the same tower in plain PyTorch with pytorch-metric-learning's
  `ContrastiveLoss` (cosine similarity, all pairs of the batch), as its users write it
  (NCHW), and once more in channels-last memory format, PyTorch's fast layout on CPUs.

Each runs in a process of its own (a Keras backend is chosen once per process), so the
peak memory (`ru_maxrss`) is that trainer's alone. The runs take turns for a few rounds and
each keeps its fastest round: a burst of background load cannot favour one. The work of a
step is counted from the layers (multiply-adds of the convolutions and the dense layer, x2
for FLOPs, x3 for forward + both backward passes) and set against this machine's measured
convolution peak: the best of a large 3x3 convolution (256 -> 256 channels, 24x24, batch 64)
in TensorFlow (oneDNN) and in PyTorch.

**Why.** A training step's time is what users wait for; comparing with the tool they would
otherwise use, on the same machine in the same run, is the only fair figure on hosts whose
speed differs by 2.5x.

    pip install torch pytorch-metric-learning   # the peer, for this benchmark only
    python benchmarks/train_throughput.py
    python benchmarks/train_throughput.py --steps 40 --rounds 3 --backends tensorflow jax
"""

import argparse
import json
import os
import resource
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
CLASSES = 120  # classes decoded (of the zip's), enough for varied batches
CLASSES_PER_BATCH = 16
EXAMPLES_PER_CLASS = 4  # 64 images per step
IMAGE_SIZE = 48
FILTERS = (64, 64, 64, 64)
EMBEDDING = 128
MARGIN = 0.6  # cosine distance; the peer's negative margin in similarity is 1 - MARGIN
LEARNING_RATE = 1e-3
WARMUP_STEPS = 3  # untimed steps first (graph tracing, compilation)
SEED = 0
RUNNERS = {
    "ours, TensorFlow": ("keras", "tensorflow"),
    "ours, JAX": ("keras", "jax"),
    "ours, PyTorch backend": ("keras", "torch"),
    "PyTorch + pytorch-metric-learning (NCHW)": ("peer", "nchw"),
    "PyTorch + pytorch-metric-learning (channels-last)": ("peer", "channels_last"),
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per run and round (default 20)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds the runs take turns for (default 3)")
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax", "torch"], help="Keras backends of ours")
    parser.add_argument("--no-peer", action="store_true", help="leave out the PyTorch peer")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)  # (kind, variant): one timed run, JSON on stdout
    return parser.parse_args()


"""
## The batches, shared by every run

The images are decoded once per process from the bundled zip; the batches are drawn and
distorted by the package's own pipeline, so every run trains on the same pixels.
"""


def batches(steps, seed):
    from siamese.data import ClassBatchSampler, Preprocessing, load_dataset
    from siamese.data.augmentation import Distortions
    from siamese.training.batches import ClassBatches

    dataset = load_dataset(DATA)
    dataset = dataset.subset(range(min(CLASSES, dataset.num_classes)))
    images = dataset.load(Preprocessing(image_size=(IMAGE_SIZE, IMAGE_SIZE), channels=1, invert=True))
    sampler = ClassBatchSampler(CLASSES_PER_BATCH, EXAMPLES_PER_CLASS)
    return ClassBatches(images, dataset, sampler, steps=steps, seed=seed, augmentation=Distortions())


"""
## Ours: `PairwiseTrainer` under `fit`, on the backend this process was started with
"""


def keras_worker(steps):
    import keras

    from siamese.model import ContrastiveLoss, build_tower, distances
    from siamese.training.trainer import PairwiseTrainer

    keras.utils.set_random_seed(SEED)
    tower = build_tower((IMAGE_SIZE, IMAGE_SIZE, 1), filters=FILTERS, embedding_dim=EMBEDDING)
    trainer = PairwiseTrainer(tower, distances.get("cosine"), ContrastiveLoss(MARGIN))
    trainer.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE))
    trainer.fit(batches(WARMUP_STEPS, SEED + 1), epochs=1, verbose=0)
    data = batches(steps, SEED)
    begin = time.perf_counter()
    trainer.fit(data, epochs=1, verbose=0)
    seconds = (time.perf_counter() - begin) / steps
    begin = time.perf_counter()
    for index in range(steps):
        data[index]  # the input pipeline alone: draw, gather and distort a batch
    return seconds, forward_flops(tower), (time.perf_counter() - begin) / steps


def forward_flops(tower):
    """FLOPs of one image's forward pass through the convolutions and the dense layer."""
    import keras

    total = 0
    for layer in tower.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, height, width, out = layer.output.shape
            kh, kw, inputs, _ = layer.kernel.shape
            total += 2 * height * width * out * kh * kw * inputs
        elif isinstance(layer, keras.layers.Dense):
            total += 2 * layer.kernel.shape[0] * layer.kernel.shape[1]
    return total


"""
## The peer: plain PyTorch and pytorch-metric-learning

pytorch-metric-learning's `ContrastiveLoss` on cosine similarity scores every pair of the
batch (its default miner-free form), with a positive margin of 1 and a negative margin of
1 - 0.6 in similarity: the same loss as ours in distance units.
"""


def peer_worker(steps, layout):
    import numpy as np
    import torch
    from pytorch_metric_learning import distances as pml_distances
    from pytorch_metric_learning import losses as pml_losses

    torch.manual_seed(SEED)
    layers, channels = [], 1
    for count in FILTERS:
        layers += [
            torch.nn.Conv2d(channels, count, 3, padding=1, bias=False),
            torch.nn.MaxPool2d(2),
            torch.nn.BatchNorm2d(count, momentum=0.1),
            torch.nn.ReLU(),
        ]
        channels = count
    side = IMAGE_SIZE // 2 ** len(FILTERS)
    tower = torch.nn.Sequential(*layers, torch.nn.Flatten(), torch.nn.Linear(channels * side * side, EMBEDDING))
    memory_format = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    tower = tower.to(memory_format=memory_format)
    loss_function = pml_losses.ContrastiveLoss(
        pos_margin=1.0, neg_margin=1.0 - MARGIN, distance=pml_distances.CosineSimilarity()
    )
    optimizer = torch.optim.Adam(tower.parameters(), LEARNING_RATE)

    def run(data):
        for index in range(len(data)):
            images, labels = data[index]
            x = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))).to(memory_format=memory_format)
            optimizer.zero_grad()
            loss = loss_function(torch.nn.functional.normalize(tower(x)), torch.from_numpy(labels))
            loss.backward()
            optimizer.step()

    run(batches(WARMUP_STEPS, SEED + 1))
    data = batches(steps, SEED)
    begin = time.perf_counter()
    run(data)
    return (time.perf_counter() - begin) / steps, None, None


"""
## This machine's convolution peak

A large convolution, forward only, timed in both TensorFlow (oneDNN) and PyTorch; the
better figure is the peak a training step's GFLOP/s is compared with.
"""


def conv_peak_worker():
    import numpy as np

    shape, channels, repeats = (64, 24, 24), 256, 10
    flops = 2 * shape[0] * shape[1] * shape[2] * channels * channels * 9
    best = {}
    import tensorflow as tf

    x, kernel = tf.random.normal((shape[0], shape[1], shape[2], channels)), tf.random.normal((3, 3, channels, channels))
    conv = tf.function(lambda: tf.nn.conv2d(x, kernel, 1, "SAME"))
    conv()
    begin = time.perf_counter()
    for _ in range(repeats):
        conv().numpy()
    best["TensorFlow"] = flops * repeats / (time.perf_counter() - begin) / 1e9
    try:
        import torch
    except ImportError:
        return best
    layer = torch.nn.Conv2d(channels, channels, 3, padding=1, bias=False).to(memory_format=torch.channels_last)
    tx = torch.from_numpy(np.random.default_rng(0).random((shape[0], channels, shape[1], shape[2]), dtype=np.float32))
    tx = tx.to(memory_format=torch.channels_last)
    with torch.no_grad():
        layer(tx)
        begin = time.perf_counter()
        for _ in range(repeats):
            layer(tx)
    best["PyTorch"] = flops * repeats / (time.perf_counter() - begin) / 1e9
    return best


def worker(kind, variant, steps):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if kind == "peak":
        result = {"peak_gflops": conv_peak_worker()}
    else:
        seconds, flops, pipeline = keras_worker(steps) if kind == "keras" else peer_worker(steps, variant)
        result = {"seconds": seconds, "forward_flops": flops, "pipeline_seconds": pipeline}
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result))


"""
## Taking turns

Each (runner, round) is one process; its JSON line is collected. A runner that cannot start
(a backend or the peer not installed) is reported and left out.
"""


def spawn(kind, variant, steps):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if kind == "keras":
        env["KERAS_BACKEND"] = variant
    done = subprocess.run(
        [sys.executable, __file__, "--worker", kind, variant, "--steps", str(steps)],
        env=env,
        capture_output=True,
        text=True,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        return None, (done.stderr.strip().splitlines() or ["no output"])[-1]
    return json.loads(lines[-1][len("RESULT ") :]), None


def main():
    args = parse_args()
    if args.worker:
        return worker(*args.worker, args.steps)
    runners = {
        label: spec
        for label, spec in RUNNERS.items()
        if (spec[0] == "keras" and spec[1] in args.backends) or (spec[0] == "peer" and not args.no_peer)
    }
    print(f"{describe_host()}; {args.steps} timed steps x {args.rounds} rounds; 64 images and 2,016 pairs a step\n")
    peak, _ = spawn("peak", "-", 0)
    results, failed = {}, {}
    for _ in range(args.rounds):
        for label, (kind, variant) in runners.items():
            if label in failed:
                continue
            result, error = spawn(kind, variant, args.steps)
            if result is None:
                failed[label] = error
                continue
            best = results.setdefault(label, result)
            if result["seconds"] < best["seconds"]:
                results[label] = {**result, "peak_rss_mb": max(result["peak_rss_mb"], best["peak_rss_mb"])}
    report(results, failed, peak)


"""
## Summary

Images per second and GFLOP/s of training work per runner, the share of the measured
convolution peak, peak memory, and each runner's speed as a ratio to the PyTorch peer.
"""


def report(results, failed, peak):
    flops = next((r["forward_flops"] for r in results.values() if r.get("forward_flops")), None)
    peak_gflops = max(peak["peak_gflops"].values()) if peak else None
    images = CLASSES_PER_BATCH * EXAMPLES_PER_CLASS
    peers = {label: r for label, r in results.items() if label.startswith("PyTorch")}
    print(f"{'':52s} {'ms/step':>8s} {'images/s':>9s} {'GFLOP/s':>8s} {'of peak':>8s} {'peak MB':>8s}  vs peers")
    for label, r in results.items():
        rate = images / r["seconds"]
        gflops = 3 * flops * rate / 1e9 if flops else float("nan")
        share = f"{100 * gflops / peak_gflops:7.0f}%" if peak_gflops else "       -"
        ratios = ", ".join(f"{rate * p['seconds'] / images:.2f}x" for p in peers.values())
        print(
            f"{label:52s} {1000 * r['seconds']:8.0f} {rate:9.0f} {gflops:8.1f} {share} {r['peak_rss_mb']:8.0f}  {ratios}"
        )
    if flops:
        print(f"\ntraining work: {3 * flops / 1e6:.0f} MFLOP an image (3 x {flops / 1e6:.1f} forward)")
    pipeline = [r["pipeline_seconds"] for r in results.values() if r.get("pipeline_seconds")]
    if pipeline:
        print(f"input pipeline alone (draw, gather and distort a batch): {1000 * min(pipeline):.1f} ms a step")
    if peak:
        print(
            "convolution peak (3x3, 256 -> 256, 24x24, batch 64): "
            + ", ".join(f"{name} {value:.0f} GFLOP/s" for name, value in peak["peak_gflops"].items())
        )
    print("vs peers: images/s over " + " and ".join(peers) if peers else "")
    for label, error in failed.items():
        print(f"not run: {label}: {error}")


if __name__ == "__main__":
    main()
