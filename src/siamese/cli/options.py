"""Pieces the commands' arguments share: the subparser of a command, types for sizes and
filter lists, the class-pattern option (`siamese.cli.arguments`, `siamese.cli.train_arguments`)."""

from __future__ import annotations

import argparse


def parse_size(text: str) -> tuple:
    """'32' or '32x48' -> (height, width)."""
    try:
        parts = [int(p) for p in text.lower().split("x")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"image size must be N or HxW, got {text!r}") from None
    if len(parts) not in (1, 2):
        raise argparse.ArgumentTypeError(f"image size must be N or HxW, got {text!r}")
    return (parts[0], parts[-1])


def parse_filters(text: str) -> tuple:
    try:
        return tuple(int(p) for p in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"filters must be comma-separated ints, got {text!r}") from None


def gallery_argument(text: str):
    """--gallery: a file path (SQLite) or a postgresql:// URL, whose str() leaves any password out."""
    from siamese.gallery.location import gallery_location

    return gallery_location(text)


def add_command(commands, name: str, help: str, **kwargs) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=help, **kwargs)
    parser.set_defaults(command=name)
    return parser


def class_pattern_option(parser) -> None:
    parser.add_argument(
        "--class-pattern",
        metavar="REGEX",
        default=None,
        help="classes from file names: a regex whose group 'class' (or first group) names the class, "
        "e.g. 'subject(\\d+)'",
    )
