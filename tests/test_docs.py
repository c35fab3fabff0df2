"""What the documents promise stays true: every test that docs/reliability.md names exists."""

import ast
import re

from tests.conftest import REPO


def test_every_test_named_in_the_reliability_record_exists():
    text = (REPO / "docs" / "reliability.md").read_text()
    named = re.findall(r"`(tests/[\w/]+\.py)::(\w+)", text)
    assert len(named) > 40
    missing = []
    for path, name in named:
        tree = ast.parse((REPO / path).read_text())
        if name not in {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}:
            missing.append(f"{path}::{name}")
    assert not missing, f"docs/reliability.md names tests that do not exist: {missing}"
