"""docs/extending.md's small model, written outside the package, registered through the
`neurorehab.models` entry point, run through the CLI to a report and through the conformance
table, with no edit anywhere in neurorehab."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "extending.md"


def _blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(), re.S)


@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    """A folder holding the doc's model as module `habit` and the metadata of an installed
    distribution that declares it under the entry-point group, as `pip install` would."""
    site = tmp_path_factory.mktemp("site")
    code = next(b for b in _blocks("python") if "register(" in b)
    (site / "habit.py").write_text(code)
    dist = site / "habit-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: habit\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[neurorehab.models]\nhabit = habit\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    return site, env


def test_the_doc_model_is_about_sixty_lines():
    code = next(b for b in _blocks("python") if "register(" in b)
    assert 40 <= len([line for line in code.splitlines() if line.strip()]) <= 80


@pytest.mark.slow
def test_a_model_from_another_package_runs_through_the_cli_to_a_report(plugin, tmp_path):
    _site, env = plugin
    scenario = tmp_path / "habit.yaml"
    scenario.write_text(next(b for b in _blocks("yaml") if "model: habit" in b))
    out = tmp_path / "run"

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "neurorehab.cli", *map(str, args)],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600, check=False,
        )  # fmt: skip

    listed = cli("list", "models")
    assert listed.returncode == 0 and "habit" in listed.stdout, listed.stderr
    assert cli("validate", scenario).returncode == 0
    res = cli("run", scenario, "--out", out)
    assert res.returncode == 0, res.stderr
    report = (out / "report.html").read_text()
    assert "Strength by arm" in report and "habit" in report
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"] == "habit" and not manifest["failures"]
    schema = json.loads(cli("schema", "--model", "habit").stdout)
    assert "[1/repetition]" in json.dumps(schema)
    import duckdb

    rows = duckdb.sql(
        f"select arm, day, minute, avg(value) from read_parquet('{out / 'results.parquet'}') "
        "where measure = 'strength' group by arm, day, minute order by arm, day, minute"
    ).fetchall()
    practice = {(d, m): v for a, d, m, v in rows if a == "practice"}
    rest = {(d, m): v for a, d, m, v in rows if a == "rest"}
    assert practice[(14, 900)] > rest[(14, 900)]  # practice strengthens; the 15:00 test is kept
    assert {(14, 900), (14, 910), (14, 920)} <= set(practice)  # and its two retests
    # a retest adds no practice: between tests the strength only decays, by exp(-t / tau)
    # (tau = 20 days, t = 10 minutes)
    import math

    factor = math.exp(-(10 / 60) / (24 * 20.0))
    assert practice[(14, 910)] == pytest.approx(practice[(14, 900)] * factor, rel=1e-6)
    assert practice[(14, 920)] == pytest.approx(practice[(14, 910)] * factor, rel=1e-6)
    # a second model of the same name is refused
    again = subprocess.run(
        [sys.executable, "-c", "import habit, importlib.util, sys\n"
         "spec = importlib.util.spec_from_file_location('habit2', habit.__file__)\n"
         "m = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(m)"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert again.returncode != 0 and "already registered" in again.stderr


@pytest.mark.slow
def test_the_conformance_table_covers_a_registered_model(plugin):
    _, env = plugin
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(ROOT / "tests" / "test_conformance.py"), "-k", "habit"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=900, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout[-3000:]
    passed = int(re.search(r"(\d+) passed", res.stdout).group(1))
    assert passed >= 8, res.stdout[-1000:]
