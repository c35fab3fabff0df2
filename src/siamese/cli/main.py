"""The `siamese` command line: train, verify, embed; it mirrors the Python API.

Errors in the user's input print one line, `siamese: error: FILE: PROBLEM`, and exit with
status 2; no traceback.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
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
    parser.add_argument("data", nargs="+", help="folder(s) or .zip(s) of class folders (nested groups allowed)")
    parser.add_argument("--run", default=None, help="run name (default: first data name + date and time)")
    parser.add_argument("--model-out", type=Path, default=None, help="model file to write (default: models/RUN.keras)")
    parser.add_argument("--results", type=Path, default=None, help="folder for logs and metrics (default: results/RUN)")
    parser.add_argument("--overwrite", action="store_true", default=False, help="allow replacing an existing model file")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--steps", dest="steps_per_epoch", type=int, help="batches per epoch")
    parser.add_argument("--image-size", type=_size, help="N or HxW (default 32)")
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
    parser.add_argument("--validation-fraction", type=float)
    parser.add_argument("--patience", type=int)
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


def _add_verify(commands) -> None:
    parser = commands.add_parser("verify", help="are two images the same class?")
    parser.add_argument("image1")
    parser.add_argument("image2")
    parser.add_argument("--model", type=Path, help="model file (default: the shipped Omniglot model)")
    parser.add_argument("--threshold", type=float, help="override the model's calibrated threshold")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=_verify)


def _verify(args) -> int:
    from siamese.inference import load_model

    model = load_model(args.model)
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
    parser.add_argument("--model", type=Path, help="model file (default: the shipped Omniglot model)")
    parser.add_argument("--out", type=Path, required=True, help="output .npy file, one row per image")
    parser.set_defaults(handler=_embed)


def _embed(args) -> int:
    import numpy as np

    from siamese.files import atomic_path
    from siamese.inference import load_model

    embeddings = load_model(args.model).embed(args.images)
    with atomic_path(args.out) as temporary:
        with open(temporary, "wb") as handle:
            np.save(handle, embeddings)
    print(f"{embeddings.shape[0]} embeddings of size {embeddings.shape[1]} written to {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="siamese", description="One-shot similarity learning with Siamese networks.")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_train(commands)
    _add_verify(commands)
    _add_embed(commands)
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
