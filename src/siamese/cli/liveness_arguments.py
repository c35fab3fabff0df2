"""The liveness arguments: the `siamese liveness` command, and the options other commands take
to check that a live face, not a printed photo, is before the camera (`siamese.cli.liveness`)."""

from __future__ import annotations

from pathlib import Path

from siamese.cli.options import add_command

LIVENESS_MODEL_HELP = "the liveness model: a calibrated copy (.onnx, `siamese calibrate --attacks`) (default: shipped)"


def add_liveness(commands) -> None:
    parser = add_command(
        commands, "liveness", "is a live face before the camera, or a printed photo? (presentation-attack detection)"
    )
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="whole frames, not face crops")
    parser.add_argument("--json", action="store_true", help="one JSON object per image per line")
    parser.add_argument("--threshold", help="live when the score is at least this (default: the model's)")
    parser.add_argument("--model", help=LIVENESS_MODEL_HELP)


def liveness_options(parser) -> None:
    """--liveness for verify, identify and enroll: refuse an attack (exit 2) before anything else."""
    parser.add_argument(
        "--liveness",
        action="store_true",
        help="refuse a printed photo or a screen: each image must be a live face (whole frames)",
    )
    parser.add_argument("--liveness-model", help=LIVENESS_MODEL_HELP)
    parser.add_argument("--liveness-threshold", help="with --liveness: override the liveness model's threshold")


def attack_options(parser, *, calibrating: bool = False) -> None:
    """--attacks for evaluate and calibrate: MODEL is then a liveness model and DATA a folder of live frames."""
    parser.add_argument(
        "--attacks",
        type=Path,
        metavar="DIR",
        help="liveness: a folder (or .zip) of attack frames (printed photos, screens); then MODEL is a liveness "
        "model ('liveness': the shipped one) and DATA a folder of live frames",
    )
    if calibrating:
        parser.add_argument(
            "--target-apcer",
            type=float,
            default=0.01,
            help="with --attacks: the share of attacks the threshold may accept (default 0.01)",
        )
        parser.add_argument(
            "--out", type=Path, help="with --attacks: the calibrated copy to write (.onnx; default: MODEL itself)"
        )


def serve_options(parser) -> None:
    parser.add_argument(
        "--liveness",
        choices=("required", "optional", "off"),
        help="required: every uploaded face must be live; optional: when the request asks (form field "
        "liveness=true); off (default: required for a gallery of a face model, off otherwise)",
    )
    parser.add_argument("--liveness-model", help=LIVENESS_MODEL_HELP)
