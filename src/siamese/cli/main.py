"""The `siamese` command line: train, verify, embed, export, evaluate, calibrate; it mirrors the Python API.

Errors in the user's input print one line, `siamese: error: FILE: PROBLEM`, and exit with
status 2; no traceback.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from siamese.errors import SiameseError  # noqa: E402

EXIT_BAD_INPUT = 2


def _size(text: str) -> tuple:
    """'32' or '32x48' -> (height, width)."""
    try:
        parts = [int(p) for p in text.lower().split("x")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"image size must be N or HxW, got {text!r}") from None
    if len(parts) not in (1, 2):
        raise argparse.ArgumentTypeError(f"image size must be N or HxW, got {text!r}")
    return (parts[0], parts[-1])


def _filters(text: str) -> tuple:
    try:
        return tuple(int(p) for p in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"filters must be comma-separated ints, got {text!r}") from None


def _add_train(commands) -> None:
    # Tuning options default to TrainConfig's own defaults (left out of args when not given),
    # so they are stated once, and building the parser does not import Keras.
    parser = commands.add_parser("train", help="train a model on folders / zips of class folders", argument_default=argparse.SUPPRESS)
    parser.add_argument("data", nargs="+", help="folder(s) or .zip(s) of class folders (nested groups allowed), or a pairs .csv")
    parser.add_argument("--run", default=None, help="run name (default: first data name + date and time)")
    parser.add_argument("--model-out", type=Path, default=None, help="model file to write (default: models/RUN.keras)")
    parser.add_argument("--results", type=Path, default=None, help="folder for logs and metrics (default: results/RUN)")
    parser.add_argument("--overwrite", action="store_true", default=False, help="allow replacing an existing model file")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--steps", dest="steps_per_epoch", type=int, help="batches per epoch")
    parser.add_argument("--image-size", type=_size, help="N or HxW (default 48)")
    parser.add_argument("--channels", type=int, choices=(1, 3))
    invert = parser.add_mutually_exclusive_group()
    invert.add_argument("--invert", dest="invert", action="store_true", help="invert images (dark ink on light paper)")
    invert.add_argument("--no-invert", dest="invert", action="store_false", help="never invert (default: decide from the data)")
    parser.add_argument("--filters", type=_filters, help="filters per conv block (default 64,64,64,64)")
    parser.add_argument("--embedding-dim", type=int)
    parser.add_argument("--no-batchnorm", dest="batchnorm", action="store_false")
    parser.add_argument("--dropout", type=float)
    parser.add_argument("--l2", type=float)
    parser.add_argument("--distance", choices=("euclidean", "manhattan", "cosine", "learned"))
    parser.add_argument("--loss", choices=("contrastive", "crossentropy"), help="default: contrastive; crossentropy for --distance learned")
    parser.add_argument("--margin", type=float)
    parser.add_argument("--classes-per-batch", type=int)
    parser.add_argument("--examples-per-class", type=int)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--no-augment", dest="augment", action="store_false")
    parser.add_argument("--rotated-classes", action="store_true", help="add quarter turns of each class as new classes (characters)")
    parser.add_argument("--validation-fraction", type=float)
    parser.add_argument("--patience", type=int, help="stop after this many epochs without a better validation AUC (default: run all epochs)")
    parser.add_argument("--mixed-precision", action="store_true", help="float16 convolutions (GPUs)")
    parser.add_argument("--jit-compile", action="store_true", help="compile the training step with XLA (GPUs)")
    parser.add_argument("--seed", type=int)
    parser.set_defaults(handler=_train)


_RUN_OPTIONS = {"data", "run", "model_out", "results", "overwrite", "handler", "command"}


def _train(args) -> int:
    from siamese.data import load_dataset
    from siamese.training import TrainConfig, train

    dataset = load_dataset(args.data)  # fail on bad data before anything is created
    dataset.check_trainable()
    config = TrainConfig(**{k: v for k, v in vars(args).items() if k not in _RUN_OPTIONS})
    run = args.run or f"{Path(args.data[0]).stem}-{datetime.datetime.now():%Y%m%d-%H%M%S}"
    model_path = args.model_out or Path("models") / f"{run}.keras"
    results = args.results or Path("results") / run
    if model_path.exists() and not args.overwrite:
        raise SiameseError(f"{model_path}: exists; pass --overwrite to replace it, or --model-out for another file")
    print(f"training on {len(dataset)} images of {dataset.num_classes} classes ({', '.join(map(str, args.data))})")
    result = train(dataset, model_path=model_path, config=config, results_dir=results, verbose=1 if sys.stdout.isatty() else 2)
    m = result.metrics
    print(f"validation ({m['validation_classes']} unseen classes, {m['validation_pairs']} pairs): "
          f"ROC AUC {m['val_auc']:.4f}, pair accuracy {m['val_pair_accuracy']:.4f} at threshold {m['val_threshold']:.4f}")
    print(f"model:   {result.model_path}")
    print(f"results: {result.results_dir} (history.csv, metrics.json, config.json)")
    print(f"time:    {result.seconds:.0f} s")
    return 0


def _engine_option(parser) -> None:
    parser.add_argument("--engine", choices=("auto", "onnx", "keras"), default="auto",
                        help="auto: ONNX Runtime when an up-to-date export (`siamese export`) lies beside the model, else Keras")


def _add_verify(commands) -> None:
    parser = commands.add_parser("verify", help="are two images the same class?")
    parser.add_argument("image1")
    parser.add_argument("image2")
    parser.add_argument("--model", type=Path, help="model file, .keras or .onnx (default: the shipped Omniglot model)")
    parser.add_argument("--threshold", type=float, help="override the model's calibrated threshold")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    _engine_option(parser)
    parser.set_defaults(handler=_verify)


def _verify(args) -> int:
    from siamese.inference import load_model

    model = load_model(args.model, engine=args.engine)
    result = model.verify(args.image1, args.image2, threshold=args.threshold)
    if args.json:
        print(json.dumps({"same": result.same, "distance": result.distance, "threshold": result.threshold}))
    else:
        verdict = "same" if result.same else "different"
        print(f"{verdict} (distance {result.distance:.4f}, threshold {result.threshold:.4f})")
    return 0


def _add_embed(commands) -> None:
    parser = commands.add_parser("embed", help="write the embeddings of images to a .npy file")
    parser.add_argument("images", nargs="+")
    parser.add_argument("--model", type=Path, help="model file, .keras or .onnx (default: the shipped Omniglot model)")
    parser.add_argument("--out", type=Path, required=True, help="output .npy file, one row per image")
    parser.add_argument("--batch-size", type=int, default=256, help="images per tower call (default 256)")
    parser.add_argument("--workers", type=int, help="threads decoding images (default: one per core, at most 8)")
    _engine_option(parser)
    parser.set_defaults(handler=_embed)


class _Progress:
    """`done/total images` on one stderr line, rewritten in place; only on a terminal, only for long jobs."""

    def __init__(self, stream=None, *, label: str = "embedding", minimum: int = 1000):
        self.stream = stream or sys.stderr
        self.label = label
        self.minimum = minimum
        self.start = time.perf_counter()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if total < self.minimum or not self.stream.isatty():
            return
        rate = done / max(time.perf_counter() - self.start, 1e-9)
        self.stream.write(f"\r{self.label} {done}/{total} images ({100 * done / total:.0f}%, {rate:.0f} images/s)")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


def _embed(args) -> int:
    import numpy as np

    from siamese.files import atomic_path
    from siamese.inference import load_model

    if args.batch_size < 1:
        raise SiameseError(f"--batch-size must be at least 1, got {args.batch_size}")
    model = load_model(args.model, engine=args.engine)
    progress = _Progress()
    try:
        embeddings = model.embed(args.images, batch_size=args.batch_size, workers=args.workers, progress=progress)
    finally:
        progress.close()
    with atomic_path(args.out) as temporary:
        with open(temporary, "wb") as handle:
            np.save(handle, embeddings)
    print(f"{embeddings.shape[0]} embeddings of size {embeddings.shape[1]} written to {args.out}")
    return 0


def _add_export(commands) -> None:
    parser = commands.add_parser("export", help="export the tower for fast inference (ONNX Runtime) or deployment")
    parser.add_argument("model", type=Path, help="model file (.keras)")
    parser.add_argument("--format", default="onnx", help="onnx (default), saved_model or litert")
    parser.add_argument("--out", type=Path, help="destination (default: beside the model, MODEL.onnx / MODEL_saved_model / MODEL.tflite)")
    parser.set_defaults(handler=_export)


def _export(args) -> int:
    from siamese.inference import FORMATS, export_model

    if args.format not in FORMATS:
        raise SiameseError(f"--format must be one of {', '.join(FORMATS)}, got {args.format!r}")
    result = export_model(args.model, args.format, out=args.out)
    print(f"{result.path}: tower exported as {result.format} in {result.seconds:.1f} s "
          f"(embeddings within {result.max_difference:.1e} of Keras)")
    return 0


def _add_evaluate(commands) -> None:
    parser = commands.add_parser("evaluate", help="measure a model on unseen data: verification, N-way episodes, one-shot runs, retrieval")
    parser.add_argument("model", type=Path, help="model file (.keras)")
    parser.add_argument("data", nargs="?", type=Path, help="folder or .zip of class folders of unseen classes (optional with --pairs or --runs)")
    parser.add_argument("--pairs", type=Path, help="CSV of 'path1,path2,label' lines to verify, instead of pairs drawn from DATA")
    parser.add_argument("--runs", type=Path, help="the official one-shot runs: all_runs.zip or its unpacked folder")
    parser.add_argument("--way", type=int, help="classes per episode (default 20, or all of DATA's classes if fewer)")
    parser.add_argument("--shot", type=int, default=1, help="support images per class (default 1)")
    parser.add_argument("--episodes", type=int, default=200, help="N-way episodes drawn from DATA (default 200)")
    parser.add_argument("--within-group", action="store_true", help="take each episode's classes from one group (alphabet)")
    parser.add_argument("--support-variants", type=int, default=0,
                        help="test-time augmentation on --runs: average distances over this many distorted copies of each training image")
    parser.add_argument("--pairs-count", type=int, default=2000, help="pairs drawn from DATA, half same (default 2000)")
    parser.add_argument("--retrieval-images", type=int, default=2000, help="at most this many images of DATA for retrieval (default 2000)")
    parser.add_argument("--history", type=Path, help="training history.csv to draw (default: results/MODEL_NAME/history.csv if it exists)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every draw and bootstrap (default 0)")
    parser.add_argument("--out", type=Path, help="folder for pictures, metrics.json and report.md (default: results/MODEL_NAME/evaluation)")
    parser.set_defaults(handler=_evaluate)


def _default_way(dataset, shot: int, within_group: bool) -> int:
    """20, or fewer when the data has fewer classes (or groups of classes) with enough images."""
    eligible = [c for c, idx in enumerate(dataset.class_indices) if len(idx) >= shot + 1]
    if within_group:
        from collections import Counter

        sizes = Counter(dataset.groups[c] for c in eligible)
        return max(2, min(20, max(sizes.values(), default=0)))
    return max(2, min(20, len(eligible)))


def _evaluate(args) -> int:
    from siamese.data import load_dataset, read_pairs_file
    from siamese.evaluation import EpisodeSampler, evaluate, format_table, read_oneshot_runs

    # Every input is read and checked before the model is loaded or anything is computed.
    if args.data is None and args.pairs is None and args.runs is None:
        raise SiameseError("nothing to evaluate: give DATA, --pairs FILE.csv or --runs all_runs.zip")
    if args.support_variants < 0:
        raise SiameseError(f"--support-variants must be zero or positive, got {args.support_variants}")
    for name in ("pairs_count", "retrieval_images"):
        if getattr(args, name) < 2:
            raise SiameseError(f"--{name.replace('_', '-')} must be at least 2, got {getattr(args, name)}")
    pairs = read_pairs_file(args.pairs) if args.pairs is not None else None
    runs = read_oneshot_runs(args.runs) if args.runs is not None else None
    dataset = sampler = None
    if args.data is not None:
        dataset = load_dataset(args.data)
        way = args.way if args.way is not None else _default_way(dataset, args.shot, args.within_group)
        sampler = EpisodeSampler(way, args.shot, episodes=args.episodes, within_group=args.within_group, seed=args.seed)
        sampler.check(dataset)
    history = args.history
    if history is None and (Path("results") / args.model.stem / "history.csv").is_file():
        history = Path("results") / args.model.stem / "history.csv"
    if history is not None:
        from siamese.evaluation.plots import read_history

        read_history(history)
    out = args.out or Path("results") / args.model.stem / "evaluation"

    from siamese.inference import load_model

    model = load_model(args.model)
    about = {"model": str(args.model), "threshold": model.threshold, "data": None if args.data is None else str(args.data),
             "pairs_file": None if args.pairs is None else str(args.pairs), "runs_path": None if args.runs is None else str(args.runs)}
    result = evaluate(model.embed, model.distances, dataset=dataset, pairs=pairs, runs=runs, episodes=sampler, support_variants=args.support_variants,
                      threshold=model.threshold, channels=model.preprocessing.channels, pairs_count=args.pairs_count,
                      retrieval_images=args.retrieval_images, seed=args.seed, history=history, out=out, about=about)
    print(format_table(result.metrics))
    print(f"time:    {result.metrics['seconds']:.1f} s")
    print(f"report:  {result.report} (metrics.json and {len(result.pictures)} pictures beside it)")
    return 0


def _add_calibrate(commands) -> None:
    parser = commands.add_parser("calibrate", help="choose the model's threshold on validation pairs and store it in the model file")
    parser.add_argument("model", type=Path, help="model file (.keras); the threshold is written back into it")
    parser.add_argument("data", type=Path, help="validation pairs: a CSV pairs file, or a folder / .zip of class folders to draw pairs from")
    parser.add_argument("--objective", choices=("accuracy", "eer", "far"), default="accuracy",
                        help="best balanced accuracy, equal error rate, or a target false-accept rate (default accuracy)")
    parser.add_argument("--target-far", type=float, default=1e-3, help="false-accept rate for --objective far (default 0.001)")
    parser.add_argument("--test", type=Path, help="test pairs (CSV, or folder / .zip): report what the new threshold gives there")
    parser.add_argument("--pairs-count", type=int, default=2000, help="pairs drawn from a folder / .zip, half same (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the pair draw and bootstrap (default 0)")
    parser.set_defaults(handler=_calibrate)


def _read_pairs_source(path: Path, pairs_count: int, seed: int):
    """A CSV pairs file -> PairList; a folder / zip of class folders -> (dataset, drawn pairs)."""
    import zipfile

    from siamese.data import PairSampler, load_dataset, read_pairs_file

    if path.suffix.lower() == ".csv" or (path.is_file() and not zipfile.is_zipfile(path)):
        return read_pairs_file(path)
    dataset = load_dataset(path)
    return dataset, PairSampler(pairs_count, same_group_negatives=len(set(dataset.groups)) > 1, seed=seed).sample(dataset)


def _source_distances(source, model):
    """(distances, same) of a source from `_read_pairs_source`, with the model's embedding and distance."""
    from siamese.evaluation import dataset_pair_distances, path_pair_distances

    if isinstance(source, tuple):
        dataset, pairs = source
        channels = model.preprocessing.channels
        return dataset_pair_distances(dataset, pairs.first, pairs.second, model.embed, model.distances, channels=channels), pairs.same
    return path_pair_distances(source.first, source.second, model.embed, model.distances), source.same


def _calibrate(args) -> int:
    from siamese.evaluation import format_table, verification_metrics
    from siamese.inference import load_model
    from siamese.training import ThresholdCalibrator

    if args.pairs_count < 2:
        raise SiameseError(f"--pairs-count must be at least 2, got {args.pairs_count}")
    calibrator = ThresholdCalibrator(args.objective, target_far=args.target_far)
    validation = _read_pairs_source(args.data, args.pairs_count, args.seed)
    test = _read_pairs_source(args.test, args.pairs_count, args.seed) if args.test is not None else None
    model = load_model(args.model)  # ONNX Runtime when an up-to-date export lies beside it
    distances, same = _source_distances(validation, model)
    if same.all() or not same.any():
        raise SiameseError(f"{args.data}: calibration needs same and different pairs, got {int(same.sum())} same of {len(same)}")
    calibrator.fit(distances, same)
    before = model.threshold
    model.threshold = calibrator.threshold_
    model.save()  # also updates an up-to-date export's metadata, so it does not go stale
    was = "none" if before is None else f"{before:.4f}"
    print(f"threshold {was} -> {calibrator.threshold_:.4f} ({args.objective} on {len(same)} validation pairs: "
          f"FAR {calibrator.false_accept_rate_:.4f}, TAR {calibrator.true_accept_rate_:.4f}), saved in {args.model}")
    if test is not None:
        distances, same = _source_distances(test, model)
        if same.all() or not same.any():
            raise SiameseError(f"{args.test}: test pairs need same and different pairs, got {int(same.sum())} same of {len(same)}")
        metrics = verification_metrics(distances, same, threshold=calibrator.threshold_, seed=args.seed)
        print(f"on the test pairs ({args.test}):")
        print(format_table({"verification": metrics.to_dict()}))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="siamese", description="One-shot similarity learning with Siamese networks.")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_train(commands)
    _add_verify(commands)
    _add_embed(commands)
    _add_export(commands)
    _add_evaluate(commands)
    _add_calibrate(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except SiameseError as error:
        print(f"siamese: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ValueError as error:  # a bad option value, caught by a constructor's check
        print(f"siamese: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("siamese: interrupted", file=sys.stderr)
        return 130


def main_exit() -> None:
    """Console-script entry point: run `main` and exit with its status."""
    sys.exit(main())
