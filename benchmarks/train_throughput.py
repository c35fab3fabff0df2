"""Training throughput: all pairs of a batch per step, against two tower passes per pair.

**What.** The same tower trained for a few dozen steps two ways, on the same images:

* *ours*, `siamese.training.trainer.PairwiseTrainer`: a batch of B images of a few classes
  goes through the tower once, and every one of its B(B-1)/2 pairs is scored by the
  distance's `pairwise` and enters the loss;
* *the baseline*, the two-input Siamese model of the tutorials: `model.fit` on numpy arrays
  of pairs (left images, right images, labels), each pair costing two tower passes.

Both see the same number of images per step (B = 64: ours 64 images, the baseline 32 pairs),
so a step costs about the same and the difference is in what a step learns from: pairs
scored per second. Ours is also timed with the augmentation (random affine layers inside
the model) off, to show what the input pipeline's work costs per step.

**Why.** One-shot learning lives on pairs, and most pairs are cheap to score once their
embeddings exist: the tower pass is the cost, the pairs are nearly free. The baseline pays
the tower twice for every pair it scores.

    python benchmarks/train_throughput.py
    python benchmarks/train_throughput.py --steps 60

The images are the bundled `dataset/images_background_small1.zip` (a few Omniglot
alphabets), decoded once up front; the tower is the package's default architecture.
"""

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

"""
## Parameters
"""

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "dataset" / "images_background_small1.zip"
CLASSES = 120  # classes decoded (of the zip's), enough for varied batches
CLASSES_PER_BATCH = 16
EXAMPLES_PER_CLASS = 4  # B = 64 images per step, ours
BASELINE_PAIRS_PER_STEP = 32  # 64 images per step, the baseline
STEPS = 20  # timed steps per run and round
ROUNDS = 3  # runs take turns; each keeps its fastest round
WARMUP_STEPS = 3  # untimed steps first (graph tracing)
MARGIN = 0.6
LEARNING_RATE = 1e-3
SEED = 0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=STEPS, help=f"timed steps per run (default {STEPS})")
    return parser.parse_args()


def main():
    args = parse_args()

    """
    ## Data and tower

    The images are decoded once into an array; both sides draw from it, so neither pays
    for decoding during the steps. Each run starts from the same freshly built tower.
    """
    import keras

    from siamese.data import ClassBatchSampler, PairSampler, Preprocessing, load_dataset
    from siamese.model.augmentation import build_augmentation
    from siamese.model import ContrastiveLoss, SiameseNetwork, build_tower, distances
    from siamese.training.batches import ClassBatches
    from siamese.training.trainer import PairwiseTrainer

    start = time.perf_counter()
    dataset = load_dataset(DATA)
    dataset = dataset.subset(range(min(CLASSES, dataset.num_classes)))
    preprocessing = Preprocessing(image_size=(48, 48), channels=1, invert=True)
    images = dataset.load(preprocessing)  # (n, 48, 48, 1) float32
    print(f"data:  {len(dataset)} images of {dataset.num_classes} classes from {DATA.name}, "
          f"decoded in {time.perf_counter() - start:.1f} s")

    def fresh_tower():
        keras.utils.set_random_seed(SEED)
        return build_tower(preprocessing.input_shape)

    tower = fresh_tower()
    batch_images = CLASSES_PER_BATCH * EXAMPLES_PER_CLASS
    print(f"tower: input {preprocessing.input_shape}, {tower.count_params():,} parameters, embedding {tower.output.shape[-1]}")
    print(f"step:  ours {batch_images} images -> {batch_images * (batch_images - 1) // 2} pairs; "
          f"baseline {BASELINE_PAIRS_PER_STEP} pairs -> {2 * BASELINE_PAIRS_PER_STEP} tower passes; {args.steps} timed steps\n")

    sampler = ClassBatchSampler(CLASSES_PER_BATCH, EXAMPLES_PER_CLASS)

    def timed_fit(model, make_data, fit_kwargs):
        """Seconds per step of `fit` over args.steps steps."""
        data = make_data(args.steps)
        begin = time.perf_counter()
        model.fit(*data, epochs=1, verbose=0, **fit_kwargs)
        return (time.perf_counter() - begin) / args.steps

    """
    ## Ours: one tower pass per image, every pair of the batch

    `ClassBatches` gathers B images of a few classes from the array; `PairwiseTrainer`
    embeds them once and scores all B(B-1)/2 pairs with the distance's `pairwise`.
    With the augmentation on (as in training) and off.
    """

    def ours(augment):
        trainer = PairwiseTrainer(fresh_tower(), distances.get("cosine"), ContrastiveLoss(MARGIN),
                                  augmentation=build_augmentation(seed=SEED) if augment else None)
        trainer.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE))
        return trainer, lambda steps: (ClassBatches(images, dataset, sampler, steps=steps, seed=SEED),), {}

    runs = {"ours, augmentation on": ours(True), "ours, augmentation off": ours(False)}

    # The input pipeline on its own: drawing and gathering a batch (augmentation runs in the model).
    pipeline = ClassBatches(images, dataset, sampler, steps=args.steps, seed=SEED)
    begin = time.perf_counter()
    for index in range(args.steps):
        pipeline[index]
    gather = (time.perf_counter() - begin) / args.steps

    """
    ## The baseline: two-input model, `model.fit` on arrays of pairs

    Half same and half different pairs from the same classes, as numpy arrays; the model
    takes `[left, right]` and runs the tower on each (the shared weights are one tower
    called twice). The same loss, optimizer and tower.
    """
    pairs = PairSampler(BASELINE_PAIRS_PER_STEP * max(args.steps, WARMUP_STEPS), seed=SEED).sample(dataset)
    left, right, same = images[pairs.first], images[pairs.second], pairs.same.astype("float32")

    def pair_arrays(steps):
        count = steps * BASELINE_PAIRS_PER_STEP
        return [left[:count], right[:count]], same[:count]

    network = SiameseNetwork(fresh_tower(), "cosine", preprocessing=preprocessing.to_dict())
    network.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss=ContrastiveLoss(MARGIN))
    runs["baseline, pairs + model.fit"] = (network, pair_arrays, {"batch_size": BASELINE_PAIRS_PER_STEP, "shuffle": False})

    """
    ## Timing

    A few untimed steps each first (graph tracing), then the three take turns for a few
    rounds and each keeps its fastest round, so a burst of background load cannot favour one.
    """
    for model, make_data, fit_kwargs in runs.values():
        model.fit(*make_data(WARMUP_STEPS), epochs=1, verbose=0, **fit_kwargs)
    step = {label: float("inf") for label in runs}
    for _ in range(ROUNDS):
        for label, run in runs.items():
            step[label] = min(step[label], timed_fit(*run))
    ours_step = {True: step["ours, augmentation on"], False: step["ours, augmentation off"]}
    baseline_step = step["baseline, pairs + model.fit"]

    """
    ## Summary

    Pairs scored per second is what training learns from; images per second (tower passes)
    is the work done for it.
    """
    ours_pairs = batch_images * (batch_images - 1) // 2
    rows = [
        ("ours, augmentation on", ours_step[True], batch_images, ours_pairs),
        ("ours, augmentation off", ours_step[False], batch_images, ours_pairs),
        ("baseline, pairs + model.fit", baseline_step, 2 * BASELINE_PAIRS_PER_STEP, BASELINE_PAIRS_PER_STEP),
    ]
    print(f"{'':30s} {'ms/step':>9s} {'images/s':>10s} {'pairs/s':>10s}")
    for label, seconds, images_per_step, pairs_per_step in rows:
        print(f"{label:30s} {1000 * seconds:9.0f} {images_per_step / seconds:10.0f} {pairs_per_step / seconds:10.0f}")
    print(f"\ninput pipeline alone (draw + gather a batch): {1000 * gather:.2f} ms/step")
    augmentation = ours_step[True] - ours_step[False]
    print(f"augmentation: {1000 * augmentation:.0f} ms/step = {100 * augmentation / ours_step[True]:.0f}% of a training step")
    baseline_pairs_per_second = BASELINE_PAIRS_PER_STEP / baseline_step
    print(f"pairs scored per second, ours / baseline: {(ours_pairs / ours_step[False]) / baseline_pairs_per_second:.0f}x like for like "
          f"(neither augments), {(ours_pairs / ours_step[True]) / baseline_pairs_per_second:.0f}x with our augmentation on")
    print(f"tower passes per second, ours / baseline: {(batch_images / ours_step[False]) / (2 * baseline_pairs_per_second):.2f}x "
          f"like for like")


if __name__ == "__main__":
    main()
