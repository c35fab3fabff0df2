"""`siamese train`'s arguments: the data, the run, and every setting of a training config.

Tuning options default to `TrainConfig`'s own (left out of the arguments when not given,
`argparse.SUPPRESS`), so every default is stated once; a recipe's values are overridden only
by the options given.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from siamese.cli.options import add_command, class_pattern_option, parse_filters, parse_size
from siamese.registry import BACKBONES, CONTRASTS, CROPS, DISTANCES, LOSSES, OBJECTIVES, RECIPES, REDUCERS, STROKES


def add_train(commands) -> None:
    parser = add_command(
        commands, "train", "train a model on folders / zips of class folders", argument_default=argparse.SUPPRESS
    )
    parser.add_argument(
        "data",
        nargs="*",
        default=[],
        help="folder(s) or .zip(s) of class folders (nested groups allowed), or a pairs .csv",
    )
    class_pattern_option(parser)
    parser.add_argument("--run", default=None, help="run name (default: first data name + date and time)")
    parser.add_argument(
        "--resume",
        metavar="RUN",
        default=None,
        help="go on with the run RUN (results/RUN) from its last finished epoch, with its saved settings",
    )
    parser.add_argument("--model-out", type=Path, default=None, help="model file to write (default: models/RUN.keras)")
    parser.add_argument("--results", type=Path, default=None, help="folder for logs and metrics (default: results/RUN)")
    parser.add_argument(
        "--overwrite", action="store_true", default=False, help="allow replacing an existing model file"
    )
    parser.add_argument(
        "--no-export",
        dest="export",
        action="store_false",
        default=None,
        help="do not write the ONNX export beside the model (default: write it; a resumed run keeps the choice)",
    )
    parser.add_argument(
        "--runs",
        type=Path,
        default=None,
        help="end with the one-shot accuracy on the official runs (all_runs.zip or its folder; "
        "default: an all_runs.zip beside the data, if there is one)",
    )
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--steps", dest="steps_per_epoch", type=int, help="batches per epoch")
    parser.add_argument("--image-size", type=parse_size, help="N or HxW (default 48)")
    parser.add_argument("--channels", type=int, choices=(1, 3))
    invert = parser.add_mutually_exclusive_group()
    invert.add_argument("--invert", dest="invert", action="store_true", help="invert images (dark ink on light paper)")
    invert.add_argument(
        "--no-invert", dest="invert", action="store_false", help="never invert (default: decide from the data)"
    )
    parser.add_argument("--filters", type=parse_filters, help="filters per conv block (default 64,64,64,64)")
    parser.add_argument("--embedding-dim", type=int)
    parser.add_argument("--no-batchnorm", dest="batchnorm", action="store_false")
    parser.add_argument(
        "--classic-blocks",
        dest="pool_first",
        action="store_false",
        help="max-pool after BatchNorm and ReLU, the order of the models shipped before (default: pool first, faster)",
    )
    parser.add_argument("--dropout", type=float)
    parser.add_argument("--l2", type=float)
    parser.add_argument("--distance", choices=DISTANCES)
    parser.add_argument("--loss", choices=LOSSES, help="default: contrastive; crossentropy for --distance learned")
    parser.add_argument("--margin", type=float, help="margin of the contrastive loss")
    parser.add_argument("--reducer", choices=REDUCERS, help="how the loss averages its terms (default nonzero)")
    parser.add_argument(
        "--proxy-weight",
        type=float,
        help="add a normalised softmax over a learnt proxy per training class (CosFace) with this weight (default 0: off)",
    )
    parser.add_argument("--classes-per-batch", type=int)
    parser.add_argument("--examples-per-class", type=int)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--no-augment", dest="augment", action="store_false")
    parser.add_argument(
        "--rotated-classes", action="store_true", help="add quarter turns of each class as new classes (characters)"
    )
    parser.add_argument(
        "--stream",
        action="store_true",
        help="decode images as batches draw them, not all up front (datasets larger than memory)",
    )
    parser.add_argument("--validation-fraction", type=float)
    parser.add_argument(
        "--patience",
        type=int,
        help="stop after this many epochs without a better validation AUC (default: run all epochs)",
    )
    parser.add_argument("--mixed-precision", action="store_true", help="float16 convolutions (GPUs)")
    parser.add_argument("--jit-compile", action="store_true", help="compile the training step with XLA (GPUs)")
    parser.add_argument(
        "--distributed",
        action="store_true",
        help="train data-parallel: every GPU here (TensorFlow), or every device of the processes and hosts "
        "the KERAS_DISTRIBUTION_* variables name (JAX); see docs/scaling.md",
    )
    parser.add_argument("--seed", type=int)
    _add_recipe_options(parser)


def _add_recipe_options(parser) -> None:
    """A recipe and what it sets: framing, backbone, threshold rule (each overrides the recipe's value)."""
    parser.add_argument(
        "--recipe",
        default=None,
        choices=RECIPES,
        help="settings for an application (handwriting, signatures, faces); other options override them",
    )
    parser.add_argument("--crop", choices=CROPS, help="crop each image to its ink or its face first (default none)")
    parser.add_argument(
        "--contrast",
        choices=CONTRASTS,
        help="stretch ink to black and paper to white, binarize (Otsu), or equalise light",
    )
    parser.add_argument("--strokes", choices=STROKES, help="redraw the ink at one width (even), or keep it (default)")
    parser.add_argument(
        "--keep-aspect", action="store_true", help="pad to the input's aspect ratio instead of stretching"
    )
    parser.add_argument(
        "--backbone", choices=BACKBONES, help="start the tower from a Keras Applications network (colour photos)"
    )
    parser.add_argument(
        "--backbone-weights",
        metavar="PATH",
        help="backbone weights: imagenet (default; Keras downloads them once), none, or a local weights file",
    )
    parser.add_argument(
        "--start-from",
        metavar="MODEL",
        help="start the tower from a trained model (a shipped name such as faces, or a .keras path); "
        "its preprocessing is used",
    )
    parser.add_argument(
        "--trainable-layers",
        type=int,
        metavar="N",
        help="with --start-from: only its last N layers with weights train (default: all)",
    )
    parser.add_argument(
        "--threshold-objective", choices=OBJECTIVES, help="how the saved threshold is set on validation pairs"
    )
    parser.add_argument("--target-far", type=float, help="false-accept rate for --threshold-objective far")
