"""`make test-clock` runs the tests tests/clock.py names: a test that moved or was renamed
would leave that run with nothing to run at every instant, so each name must still exist."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.clock import CLOCK_TESTS, ROOT


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


def test_every_clock_test_exists():
    missing = []
    for node_id in CLOCK_TESTS:
        file, _, name = node_id.partition("::")
        path = ROOT / file
        if not path.is_file() or (name and name not in _test_names(path)):
            missing.append(node_id)
    assert missing == []
