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


def _module_level_imports(path, modules):
    """neurorehab modules a file imports when it is imported (not inside functions)."""
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("neurorehab"):
            for a in node.names:  # `from pkg import submodule` needs the submodule, not all of pkg
                sub = f"{node.module}.{a.name}"
                yield sub if sub in modules else node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("neurorehab"))


def test_no_import_cycle():
    # The graph of module-level imports between neurorehab's modules has no cycle (a package
    # counts as its __init__; `from pkg import name` imports pkg, or pkg.name when that is a
    # module).
    def name_of(p):
        parts = p.relative_to(SRC.parent).with_suffix("").parts
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    files = {name_of(p): p for p in SRC.rglob("*.py")}
    graph = {
        m: {i for i in _module_level_imports(p, files) if i in files and i != m} for m, p in files.items()
    }
    state: dict[str, int] = {}

    def visit(m, trail):
        state[m] = 1
        for dep in sorted(graph[m]):
            if state.get(dep) == 1:
                raise AssertionError(" -> ".join([*trail, m, dep]))
            if dep not in state:
                visit(dep, [*trail, m])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
