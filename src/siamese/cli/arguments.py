"""The commands' arguments (train's in `siamese.cli.train_arguments`); the commands themselves are modules beside this one.

Each subparser names its command module (`siamese.cli.<command>`), imported only when that
command runs, so building the parser imports neither Keras nor any command's library.
Choices come from `siamese.registry`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from siamese import __version__
from siamese.cli.liveness_arguments import add_liveness, attack_options, liveness_options, serve_options
from siamese.cli.options import add_command, class_pattern_option, gallery_argument, parse_filters
from siamese.cli.train_arguments import add_train
from siamese.registry import (
    CLAIM_RULES,
    ENGINES,
    EXPORT_FORMATS,
    OBJECTIVES,
    ON_NO_FACE,
)

MODEL_HELP = "model file (.keras or .onnx) or a shipped model's name (default: omniglot)"


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, `siamese: error: ...`, exit status 2, like every other error."""

    def error(self, message: str):
        print(f"siamese: error: {message}", file=sys.stderr)
        raise SystemExit(2)


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


def _on_no_face_option(parser, default: str | None, said: str) -> None:
    parser.add_argument(
        "--on-no-face",
        choices=ON_NO_FACE,
        default=default,
        help=f"face models, a photo in which no face is found: raise (an error naming it) or whole "
        f"(take the whole photo as the face, with a warning and the count) (default: {said})",
    )


def _add_verify(commands) -> None:
    parser = add_command(
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
    parser.add_argument(
        "--gallery", type=gallery_argument, help="with --claim: the gallery (file or postgresql:// URL) NAME is in"
    )
    parser.add_argument(
        "--claim", metavar="NAME", help="verify IMAGE against every reference of NAME in --gallery (1:1)"
    )
    parser.add_argument(
        "--rule",
        choices=CLAIM_RULES,
        help="with --claim: score by the mean or the min distance to NAME's references, the mean "
        "divided by the references' own spread (normalized, 2+ references), or a classifier of NAME's "
        "references against the other identities (svm) (default mean)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON (with the faces found)")
    _detect_option(parser)
    _engine_option(parser)
    liveness_options(parser)


def _add_embed(commands) -> None:
    parser = add_command(
        commands, "embed", "write the embeddings of images to a .npy file, or of a collection to Parquet shards"
    )
    parser.add_argument(
        "images",
        nargs="+",
        metavar="IMAGE|DATA",
        help="image files (one .npy), or DATA: folders, .zip archives, .txt lists of image paths (shards)",
    )
    parser.add_argument("--model", help=MODEL_HELP)
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="image files: the .npy file, one row per image; DATA or --ray: the folder of part-NNNNN.parquet shards",
    )
    parser.add_argument("--batch-size", type=int, default=256, help="images per tower call (default 256)")
    parser.add_argument("--workers", type=int, help="threads decoding images (default: one per core, at most 8)")
    parser.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="embed on a Ray cluster (HOST:PORT of `ray start --head`; none: a local one); needs siamese[ray]",
    )
    parser.add_argument(
        "--actors", type=int, help="with --ray: engines embedding at once (default: one per CPU of the cluster)"
    )
    parser.add_argument(
        "--shard-size", type=int, help="images per shard (default `siamese.inference.shards.SHARD_SIZE`)"
    )
    _detect_option(parser)
    _on_no_face_option(parser, "whole", "whole")
    _engine_option(parser)


def _add_export(commands) -> None:
    parser = add_command(commands, "export", "export the tower for fast inference (ONNX Runtime) or deployment")
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
    parser = add_command(
        commands, "evaluate", "measure a model on unseen data: verification, N-way episodes, one-shot runs, retrieval"
    )
    parser.add_argument("model", type=Path, help="model file (.keras)")
    parser.add_argument(
        "data",
        nargs="?",
        type=Path,
        help="folder or .zip of class folders of unseen classes (optional with --pairs or --runs)",
    )
    class_pattern_option(parser)
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
        type=parse_filters,
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
        "--svm-threshold",
        type=float,
        default=0.0,
        help="the svm claim rule's threshold, for its FAR / FRR (default 0: the classifier's own boundary)",
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
    _on_no_face_option(parser, "whole", "whole")
    attack_options(parser)


def _add_calibrate(commands) -> None:
    parser = add_command(
        commands,
        "calibrate",
        "choose the model's threshold on validation pairs (or its open-set point on people) and store it in the model file",
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
        choices=[*OBJECTIVES, "fpir"],
        default="accuracy",
        help="best balanced accuracy, equal error rate, or a target false-accept rate (default accuracy); "
        "fpir: the open-set point galleries identify with, on DATA's person folders (--target-fpir)",
    )
    parser.add_argument(
        "--target-far", type=float, default=1e-3, help="false-accept rate for --objective far (default 0.001)"
    )
    parser.add_argument(
        "--target-fpir",
        type=float,
        default=0.01,
        help="for --objective fpir: the share of strangers named with someone's name, at every gallery size (default 0.01)",
    )
    parser.add_argument(
        "--test", type=Path, help="test pairs (CSV, or folder / .zip): report what the new threshold gives there"
    )
    parser.add_argument(
        "--pairs-count", type=int, default=2000, help="pairs drawn from a folder / .zip, half same (default 2000)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the pair draw and bootstrap (default 0)")
    _detect_option(parser)
    _on_no_face_option(parser, "whole", "whole")
    attack_options(parser, calibrating=True)


def _add_ensemble(commands) -> None:
    parser = add_command(
        commands, "ensemble", "join trained models into one whose distance is the mean of theirs (cosine)"
    )
    parser.add_argument("models", type=Path, nargs="+", help="two or more .keras models that read images alike")
    parser.add_argument("--out", type=Path, required=True, help="the ensemble's .keras file")


def _gallery_option(parser) -> None:
    parser.add_argument(
        "--gallery",
        type=gallery_argument,
        required=True,
        help="the gallery: a file (SQLite; its index lies beside it) or postgresql://USER@HOST:PORT/DB "
        "(password from PGPASSWORD or ~/.pgpass)",
    )


def _add_enroll(commands) -> None:
    parser = add_command(commands, "enroll", "store a person's (or a class's) embeddings in a gallery, made if new")
    _gallery_option(parser)
    parser.add_argument("name", nargs="?", help="who the images show")
    parser.add_argument("images", nargs="*", help="one or a few images of them (only their embeddings are stored)")
    parser.add_argument(
        "--shards",
        type=Path,
        metavar="DIR",
        help="instead of NAME IMAGE...: every embedding of the shards `siamese embed DATA --out DIR` wrote",
    )
    parser.add_argument(
        "--name-from",
        choices=("parent", "stem"),
        default="parent",
        help="with --shards: who an image shows: its folder's name (default) or its file's name",
    )
    parser.add_argument(
        "--model", help="for a new gallery: " + MODEL_HELP + "; for an existing one it must be its model"
    )
    _detect_option(parser)
    _on_no_face_option(parser, "raise", "raise: a reference needs a face")
    liveness_options(parser)


def _add_identify(commands) -> None:
    parser = add_command(commands, "identify", "who is this? the nearest enrolled identities and the decision")
    _gallery_option(parser)
    parser.add_argument("image")
    parser.add_argument("--top", type=int, default=5, help="how many nearest identities to list (default 5)")
    parser.add_argument("--threshold", type=float, help="override the model's calibrated threshold")
    parser.add_argument("--json", action="store_true", help="print the result as JSON (with the faces found)")
    _detect_option(parser)
    liveness_options(parser)


def _add_forget(commands) -> None:
    parser = add_command(commands, "forget", "remove an identity and every embedding of theirs from a gallery")
    _gallery_option(parser)
    parser.add_argument("name")


def _add_gallery(commands) -> None:
    parser = add_command(commands, "gallery", "list a gallery's identities, with their number of embeddings")
    _gallery_option(parser)


def _add_keys(commands) -> None:
    parser = add_command(commands, "keys", "API keys of a gallery's service: create (shown once), list, revoke")
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
    parser = add_command(
        commands, "serve", "the HTTP service over a gallery (verify, identify, enroll, forget; a page at /)"
    )
    _gallery_option(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--model", help="for a new gallery: " + MODEL_HELP)
    parser.add_argument("--max-request-mb", type=float, default=10.0, help="largest request body, MB (default 10)")
    parser.add_argument(
        "--max-pixels", type=int, help="largest image, declared pixels (default and most: siamese's MAX_PIXELS)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes on the one port, each with its own gallery connection (default 1)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        help="ONNX Runtime threads per inference (default 1: requests run at once, one inference per core)",
    )
    parser.add_argument(
        "--rate", help="each API key's rate limit, e.g. 60/minute (429 with Retry-After above it; per worker process)"
    )
    parser.add_argument("--access-log", metavar="FILE", help="append one line per request to FILE ('-': stderr)")
    serve_options(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="siamese", description="One-shot similarity learning with Siamese networks.")
    parser.add_argument("--version", action="version", version=f"siamese {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for add in (
        add_train,
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
        add_liveness,
    ):
        add(commands)
    return parser
