"""Every command's arguments, in one place; the commands themselves are modules beside this one.

Each subparser names its command module (`siamese.cli.<command>`), imported only when that
command runs, so building the parser imports neither Keras nor any command's library.
Choices come from `siamese.registry`; train's tuning options default to `TrainConfig`'s own
(left out of the arguments when not given), so every default is stated once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from siamese import __version__
from siamese.registry import (
    BACKBONES,
    CLAIM_RULES,
    CONTRASTS,
    CROPS,
    DISTANCES,
    ENGINES,
    EXPORT_FORMATS,
    LOSSES,
    OBJECTIVES,
    RECIPES,
    REDUCERS,
    STROKES,
)

MODEL_HELP = "model file (.keras or .onnx) or a shipped model's name (default: omniglot)"


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, `siamese: error: ...`, exit status 2, like every other error."""

    def error(self, message: str):
        print(f"siamese: error: {message}", file=sys.stderr)
        raise SystemExit(2)


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


def _command(commands, name: str, help: str, **kwargs) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=help, **kwargs)
    parser.set_defaults(command=name)
    return parser


def _class_pattern_option(parser) -> None:
    parser.add_argument(
        "--class-pattern",
        metavar="REGEX",
        default=None,
        help="classes from file names: a regex whose group 'class' (or first group) names the class, "
        "e.g. 'subject(\\d+)'",
    )


def _add_train(commands) -> None:
    parser = _command(
        commands, "train", "train a model on folders / zips of class folders", argument_default=argparse.SUPPRESS
    )
    parser.add_argument(
        "data",
        nargs="*",
        default=[],
        help="folder(s) or .zip(s) of class folders (nested groups allowed), or a pairs .csv",
    )
    _class_pattern_option(parser)
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
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--steps", dest="steps_per_epoch", type=int, help="batches per epoch")
    parser.add_argument("--image-size", type=_size, help="N or HxW (default 48)")
    parser.add_argument("--channels", type=int, choices=(1, 3))
    invert = parser.add_mutually_exclusive_group()
    invert.add_argument("--invert", dest="invert", action="store_true", help="invert images (dark ink on light paper)")
    invert.add_argument(
        "--no-invert", dest="invert", action="store_false", help="never invert (default: decide from the data)"
    )
    parser.add_argument("--filters", type=_filters, help="filters per conv block (default 64,64,64,64)")
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
        "--contrast", choices=CONTRASTS, help="stretch ink to black and paper to white, or equalise light"
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


def _engine_option(parser) -> None:
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="auto",
        help="auto: ONNX Runtime when an up-to-date export (`siamese export`) lies beside the model, else Keras",
    )


def _detect_option(parser) -> None:
    parser.add_argument(
        "--no-detect",
        dest="detect",
        action="store_false",
        help="face models: the images are already face chips; take each whole (resized) instead of finding the face",
    )


def _add_verify(commands) -> None:
    parser = _command(
        commands, "verify", "are two images the same class? (or, with --gallery and --claim, is one image NAME?)"
    )
    parser.add_argument("image1")
    parser.add_argument("image2", nargs="?", help="the second image (not with --claim)")
    parser.add_argument("--model", help=MODEL_HELP)
    parser.add_argument(
        "--threshold",
        type=float,
        help="override the model's calibrated threshold (the normalized rule needs one of its own)",
    )
    parser.add_argument("--gallery", type=Path, help="with --claim: the gallery NAME is enrolled in")
    parser.add_argument(
        "--claim", metavar="NAME", help="verify IMAGE against every reference of NAME in --gallery (1:1)"
    )
    parser.add_argument(
        "--rule",
        choices=CLAIM_RULES,
        help="with --claim: score by the mean or the min distance to NAME's references, or the mean "
        "divided by the references' own spread (normalized, 2+ references) (default mean)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON (with the faces found)")
    _detect_option(parser)
    _engine_option(parser)


def _add_embed(commands) -> None:
    parser = _command(commands, "embed", "write the embeddings of images to a .npy file")
    parser.add_argument("images", nargs="+")
    parser.add_argument("--model", help=MODEL_HELP)
    parser.add_argument("--out", type=Path, required=True, help="output .npy file, one row per image")
    parser.add_argument("--batch-size", type=int, default=256, help="images per tower call (default 256)")
    parser.add_argument("--workers", type=int, help="threads decoding images (default: one per core, at most 8)")
    _detect_option(parser)
    _engine_option(parser)


def _add_export(commands) -> None:
    parser = _command(commands, "export", "export the tower for fast inference (ONNX Runtime) or deployment")
    parser.add_argument("model", type=Path, help="model file (.keras)")
    parser.add_argument(
        "--format", default="onnx", choices=EXPORT_FORMATS, help="onnx (default), saved_model or litert"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="destination (default: beside the model, MODEL.onnx / MODEL_saved_model / MODEL.tflite)",
    )


def _add_evaluate(commands) -> None:
    parser = _command(
        commands, "evaluate", "measure a model on unseen data: verification, N-way episodes, one-shot runs, retrieval"
    )
    parser.add_argument("model", type=Path, help="model file (.keras)")
    parser.add_argument(
        "data",
        nargs="?",
        type=Path,
        help="folder or .zip of class folders of unseen classes (optional with --pairs or --runs)",
    )
    _class_pattern_option(parser)
    parser.add_argument(
        "--pairs", type=Path, help="CSV of 'path1,path2,label' lines to verify, instead of pairs drawn from DATA"
    )
    parser.add_argument("--runs", type=Path, help="the official one-shot runs: all_runs.zip or its unpacked folder")
    parser.add_argument("--way", type=int, help="classes per episode (default 20, or all of DATA's classes if fewer)")
    parser.add_argument("--shot", type=int, default=1, help="support images per class (default 1)")
    parser.add_argument("--episodes", type=int, default=200, help="N-way episodes drawn from DATA (default 200)")
    parser.add_argument(
        "--within-group", action="store_true", help="take each episode's classes from one group (alphabet)"
    )
    parser.add_argument(
        "--support-variants",
        type=int,
        default=0,
        help="test-time augmentation on --runs: average distances over this many distorted copies of each training image",
    )
    parser.add_argument(
        "--identification",
        action="store_true",
        help="open-set identification on DATA: one image per class enrolled, the rest as queries",
    )
    parser.add_argument(
        "--unknown-share",
        type=float,
        default=0.2,
        help="with --identification: share of DATA's classes never enrolled (default 0.2)",
    )
    parser.add_argument("--pairs-count", type=int, default=2000, help="pairs drawn from DATA, half same (default 2000)")
    parser.add_argument(
        "--references",
        type=_filters,
        default=(1, 3, 5),
        help="on signers' genuine/forged folders: writer-dependent verification with these numbers of "
        "genuine references per writer, against skilled and random forgeries (default 1,3,5)",
    )
    parser.add_argument(
        "--normalized-threshold",
        type=float,
        help="the normalized claim rule's threshold, for its FAR / FRR (default: its EER only)",
    )
    parser.add_argument(
        "--retrieval-images",
        type=int,
        default=2000,
        help="at most this many images of DATA for retrieval (default 2000)",
    )
    parser.add_argument(
        "--history",
        type=Path,
        help="training history.csv to draw (default: results/MODEL_NAME/history.csv if it exists)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of every draw and bootstrap (default 0)")
    parser.add_argument(
        "--out",
        type=Path,
        help="folder for pictures, metrics.json and report.md (default: results/MODEL_NAME/evaluation)",
    )
    _detect_option(parser)


def _add_calibrate(commands) -> None:
    parser = _command(
        commands, "calibrate", "choose the model's threshold on validation pairs and store it in the model file"
    )
    parser.add_argument("model", type=Path, help="model file (.keras); the threshold is written back into it")
    parser.add_argument(
        "data",
        type=Path,
        help="validation pairs: a CSV pairs file, or a folder / .zip of class folders to draw pairs from "
        "(signers' genuine/forged folders: genuine pairs against skilled forgeries of the same signer)",
    )
    parser.add_argument(
        "--objective",
        choices=OBJECTIVES,
        default="accuracy",
        help="best balanced accuracy, equal error rate, or a target false-accept rate (default accuracy)",
    )
    parser.add_argument(
        "--target-far", type=float, default=1e-3, help="false-accept rate for --objective far (default 0.001)"
    )
    parser.add_argument(
        "--test", type=Path, help="test pairs (CSV, or folder / .zip): report what the new threshold gives there"
    )
    parser.add_argument(
        "--pairs-count", type=int, default=2000, help="pairs drawn from a folder / .zip, half same (default 2000)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the pair draw and bootstrap (default 0)")
    _detect_option(parser)


def _add_ensemble(commands) -> None:
    parser = _command(
        commands, "ensemble", "join trained models into one whose distance is the mean of theirs (cosine)"
    )
    parser.add_argument("models", type=Path, nargs="+", help="two or more .keras models that read images alike")
    parser.add_argument("--out", type=Path, required=True, help="the ensemble's .keras file")


def _gallery_option(parser) -> None:
    parser.add_argument(
        "--gallery", type=Path, required=True, help="the gallery file (SQLite); its index lies beside it"
    )


def _add_enroll(commands) -> None:
    parser = _command(commands, "enroll", "store a person's (or a class's) embeddings in a gallery, made if new")
    _gallery_option(parser)
    parser.add_argument("name", help="who the images show")
    parser.add_argument("images", nargs="+", help="one or a few images of them (only their embeddings are stored)")
    parser.add_argument(
        "--model", help="for a new gallery: " + MODEL_HELP + "; for an existing one it must be its model"
    )
    _detect_option(parser)


def _add_identify(commands) -> None:
    parser = _command(commands, "identify", "who is this? the nearest enrolled identities and the decision")
    _gallery_option(parser)
    parser.add_argument("image")
    parser.add_argument("--top", type=int, default=5, help="how many nearest identities to list (default 5)")
    parser.add_argument("--threshold", type=float, help="override the model's calibrated threshold")
    parser.add_argument("--json", action="store_true", help="print the result as JSON (with the faces found)")
    _detect_option(parser)


def _add_forget(commands) -> None:
    parser = _command(commands, "forget", "remove an identity and every embedding of theirs from a gallery")
    _gallery_option(parser)
    parser.add_argument("name")


def _add_gallery(commands) -> None:
    parser = _command(commands, "gallery", "list a gallery's identities, with their number of embeddings")
    _gallery_option(parser)


def _add_keys(commands) -> None:
    parser = _command(commands, "keys", "API keys of a gallery's service: create (shown once), list, revoke")
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="a new key, printed once (only its hash is kept)")
    _gallery_option(create)
    create.add_argument("name", help="the key's name")
    create.add_argument("--write", action="store_true", help="the key may also enrol and forget")
    create.add_argument("--model", help="for a new gallery: " + MODEL_HELP)
    listing = actions.add_parser("list", help="the keys, with their rights")
    _gallery_option(listing)
    revoke = actions.add_parser("revoke", help="a key refused from now on")
    _gallery_option(revoke)
    revoke.add_argument("name", help="the key's name")


def _add_serve(commands) -> None:
    parser = _command(
        commands, "serve", "the HTTP service over a gallery (verify, identify, enroll, forget; a page at /)"
    )
    _gallery_option(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--model", help="for a new gallery: " + MODEL_HELP)
    parser.add_argument("--max-request-mb", type=float, default=10.0, help="largest request body, MB (default 10)")
    parser.add_argument(
        "--max-pixels", type=int, default=20_000_000, help="largest image, declared pixels (default 20,000,000)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="siamese", description="One-shot similarity learning with Siamese networks.")
    parser.add_argument("--version", action="version", version=f"siamese {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for add in (
        _add_train,
        _add_verify,
        _add_embed,
        _add_export,
        _add_evaluate,
        _add_calibrate,
        _add_ensemble,
        _add_enroll,
        _add_identify,
        _add_forget,
        _add_gallery,
        _add_keys,
        _add_serve,
    ):
        add(commands)
    return parser
