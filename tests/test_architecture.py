"""The shape of the house, checked: imports flow one way, rooms stay small, nothing below the
CLI prints, and every registered name has what it names.

The rules are those of the design: data -> model -> training -> recipes -> evaluation ->
inference -> cli, each package importing only those before it; data and evaluation never import Keras;
inference never imports training; no module over 210 logical lines, no function over 45.
Sizes count logical lines (a statement the formatter wraps over several lines is one), so
they measure the code, not its formatting: 210 is about 300 lines as the code was written by
hand before it was formatted.
"""

import ast
import io
import tokenize
from pathlib import Path

import pytest

from tests.conftest import REPO

SOURCE = REPO / "src" / "siamese"
CHAIN = ["data", "model", "training", "recipes", "evaluation", "inference", "gallery", "service", "cli"]
HELPERS = [
    "claims",
    "errors",
    "files",
    "integrity",
    "numpy_distances",
    "open_set",
    "registry",
    "scores",
    "shipped",
]  # beside the chain, usable by all
NEVER = {
    "data": {"keras", "tensorflow"},
    "recipes": {"keras", "tensorflow", "siamese.model"},
    "evaluation": {"keras", "tensorflow", "siamese.inference"},
    "inference": {"siamese.training"},
    "gallery": {"siamese.training", "siamese.evaluation", "keras", "tensorflow"},
    "service": {"siamese.training", "siamese.evaluation", "siamese.data", "keras", "tensorflow"},
    "registry": {"keras", "tensorflow"},
    "numpy_distances": {"keras", "tensorflow"},
    "scores": {"keras", "tensorflow"},
    "shipped": {"keras", "tensorflow"},
    "claims": {"keras", "tensorflow"},
    "integrity": {"keras", "tensorflow"},
    "open_set": {"keras", "tensorflow"},
}


def _modules():
    return sorted(p for p in SOURCE.rglob("*.py"))


def _imports(path: Path) -> set:
    """Every module a file imports, at any depth of the file (function-level imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _room(path: Path) -> str:
    parts = path.relative_to(SOURCE).parts
    return parts[0] if len(parts) > 1 else Path(parts[0]).stem


def _lands_in(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SOURCE)))
def test_imports_flow_down_the_chain(path):
    room = _room(path)
    imported = _imports(path)
    if room in CHAIN:
        later = CHAIN[CHAIN.index(room) + 1 :]
        upward = [m for m in imported for r in later if _lands_in(m, f"siamese.{r}")]
        assert not upward, f"{path.name} ({room}) imports {upward}, which come after it"
    if room in HELPERS:
        subpackages = [m for m in imported for r in CHAIN if _lands_in(m, f"siamese.{r}")]
        assert not subpackages, f"{path.name} is a helper beside the chain but imports {subpackages}"
    forbidden = [m for m in imported for prefix in NEVER.get(room, ()) if _lands_in(m, prefix)]
    assert not forbidden, f"{path.name} ({room}) must never import {forbidden}"


def test_the_rules_can_fail():
    """The checker sees a function-level import (the kind a lazy path would hide)."""
    sample = SOURCE / "cli" / "train.py"
    assert "siamese.training" in _imports(sample) and _room(sample) == "cli"
    assert _room(SOURCE / "registry.py") == "registry"


def _logical_line_ends(text: str) -> list:
    """The physical line on which each logical line (statement, docstring) of `text` ends."""
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    return [token.start[0] for token in tokens if token.type == tokenize.NEWLINE]


def test_sizes_count_logical_lines():
    wrapped = "x = f(\n    1,\n    2,\n)\ny = 3\n"
    assert len(_logical_line_ends(wrapped)) == 2


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SOURCE)))
def test_rooms_stay_small(path):
    text = path.read_text()
    ends = _logical_line_ends(text)
    assert len(ends) <= 210, f"{path.name}: {len(ends)} logical lines; is there a second room inside?"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = sum(1 for end in ends if node.lineno <= end <= node.end_lineno)
            assert length <= 45, f"{path.name}: {node.name} is {length} logical lines long"


@pytest.mark.parametrize("path", [p for p in _modules() if _room(p) != "cli"], ids=lambda p: str(p.relative_to(SOURCE)))
def test_nothing_below_the_cli_prints(path):
    calls = [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"
    ]
    assert not calls, f"{path.name} prints at lines {calls}; log or raise instead"


def test_cli_has_one_module_per_command():
    from siamese.cli.arguments import build_parser

    commands = build_parser()._subparsers._group_actions[0].choices
    for name in commands:
        module = SOURCE / "cli" / f"{name}.py"
        assert module.is_file() and "def run(args)" in module.read_text(), (
            f"siamese {name} has no cli/{name}.py with run(args)"
        )
