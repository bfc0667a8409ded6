"""Imports point inward only (DESIGN.md): core <- models <- config <- io/runners/viz <- cli; and
the generic layers know no model."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "neurorehab"
RANK = {
    "core": 0,
    "models": 1,
    "networks": 1,
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
        if layer in ("core", "models", "networks"):
            # a model's report figures (its figures.py, imported only when a report is built) plot
            plots = layer == "models" and path.name == "figures.py" and parts[0] == "matplotlib"
            assert plots or parts[0] not in IO_MODULES, f"{path.name}: numerics import {module}"
            assert parts[0] not in {"os", "pathlib", "time", "datetime", "random"}, module


GENERIC = ("core", "config", "runners", "cohort", "io", "viz", "cli", "web", "fitting")
MODELS_GENERIC = ("__init__.py", "registry.py", "interventions.py", "protocol.py", "views.py")


def _generic_files():
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC).parts
        if parts[0] in GENERIC or (parts[0] == "models" and len(parts) == 2 and parts[1] in MODELS_GENERIC):
            yield path


def _words(path):
    """Identifiers and string constants of a file (docstrings and comments excluded)."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.value
        elif isinstance(node, ast.Name):
            yield node.id
        elif isinstance(node, ast.Attribute):
            yield node.attr
        elif isinstance(node, ast.FunctionDef | ast.ClassDef | ast.arg | ast.alias):
            yield getattr(node, "name", None) or getattr(node, "arg", None) or node.asname or ""
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield from node.module.split(".")


def test_generic_layers_name_no_model():
    # core, config, runners, cohort, io, viz, cli and the generic parts of models/ hold no
    # model's name, measure, event, own intervention or figure: a model is added by adding its
    # folder (the issue that made models plug-ins).
    from neurorehab.core import condition
    from neurorehab.models import models

    forbidden: dict[str, str] = {}
    for name, info in models().items():
        forbidden[name] = f"model {name}"
        forbidden[info.model.__name__] = f"model class of {name}"
        for m in set(info.measures) - set(condition.MEASURES):
            forbidden[m] = f"measure of {name}"
        for kind, cls in info.events.items():
            forbidden[kind] = forbidden[cls.__name__] = f"event of {name}"
        for iv in info.interventions:
            forbidden[iv] = f"intervention of {name}"
    problems = [
        f"{path.relative_to(SRC)}: {word!r} ({forbidden[word]})"
        for path in _generic_files()
        for word in set(_words(path))
        if word in forbidden
    ]
    assert not problems, problems


def test_no_import_cycle():
    # Every module imports on its own, in a fresh interpreter, in any order: no cycle.
    import subprocess
    import sys

    modules = sorted(
        "neurorehab." + ".".join(p.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
        for p in SRC.rglob("*.py")
        if p.name != "__main__.py"
    )
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    for order in (modules, modules[::-1]):
        done = subprocess.run(
            [sys.executable, "-c", code, *order], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr[-2000:]
