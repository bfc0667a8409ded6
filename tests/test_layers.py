"""Imports point inward only (DESIGN.md): core <- models <- config <- io/runners/viz <- cli."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "neurorehab"
RANK = {
    "core": 0,
    "models": 1,
    "cohort": 2,
    "fitting": 2,
    "config": 3,
    "io": 3,
    "runners": 4,
    "viz": 4,
    "cli": 5,
    "web": 5,
}
IO_MODULES = {"pyarrow", "duckdb", "sqlalchemy", "matplotlib", "yaml", "typer", "rich", "pydantic"}


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names)


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_point_inward(path):
    layer = path.relative_to(SRC).parts[0]
    if layer not in RANK:
        return
    for module in _imports(path):
        parts = module.split(".")
        if parts[0] == "neurorehab" and len(parts) > 1 and parts[1] in RANK:
            assert RANK[parts[1]] <= RANK[layer], f"{layer} imports {module}"
            if layer == "runners":
                assert parts[1] != "viz", "runners must not plot"
        if layer in ("core", "models"):
            assert parts[0] not in IO_MODULES, f"{path.name}: numerics import {module}"
            assert parts[0] not in {"os", "pathlib", "time", "datetime", "random"}, module
