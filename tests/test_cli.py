"""The command line end to end: outputs, errors with exit code 2, the catalog, kill -9 and resume."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from neurorehab.models import models

ROOT = Path(__file__).resolve().parents[1]
SMALL = {
    "name": "cli-small",
    "model": "pathway",
    "seed": 5,
    "duration_days": 28,
    "patients": {
        "count": 40,
        "params": {"learning_rate": {"dist": "lognormal", "median": 0.01, "sd_log": 0.3}},
    },
    "injury": {"kind": "lose-b", "day": 1},
    "arms": [
        {
            "name": "practice",
            "protocol": [{"start_day": 3, "weeks": 3, "sessions_per_week": 5, "repetitions": 80}],
        },
        {"name": "rest"},
    ],
    "assessments": {"every_days": 7},
    "chunk_size": 16,
}


def cli(*args, env=None, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "neurorehab.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or os.environ.copy(),
    )


def write(tmp_path, data, name="s.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def table(folder):
    t = pq.read_table(folder / "results.parquet")
    cols = {c: t.column(c).to_numpy(zero_copy_only=False) for c in t.column_names}
    order = np.lexsort((cols["measure"], cols["day"], cols["patient"], cols["arm"]))
    return {c: v[order] for c, v in cols.items()}


def test_run_writes_results_manifest_report_and_catalog(tmp_path):
    out = tmp_path / "run"
    res = cli("run", write(tmp_path, SMALL), "--out", out)
    assert res.returncode == 0, res.stderr
    t = table(out)
    assert {"arm", "patient", "day", "measure", "value"} <= set(t)
    assert len(t["value"]) == 2 * 40 * 5 * (5 + 6)  # arms x patients x days (0,7,..,28) x measures (+ engine)
    manifest = json.loads((out / "manifest.json").read_text())
    for key in (
        "scenario",
        "seed",
        "versions",
        "started",
        "finished",
        "wall_s",
        "timings",
        "failures",
        "git_revision",
    ):
        assert key in manifest
    assert manifest["versions"]["jax"]
    html = (out / "report.html").read_text()
    assert (
        "data:image/png;base64," in html
        and "<script src" not in html
        and "http" not in html.split("<body>")[1].split("random keys")[0]
    )
    runs = cli("runs", env={**os.environ, "COLUMNS": "250"})
    assert runs.returncode == 0 and "cli-small" in runs.stdout
    # The same scenario and seed give the same numbers; another seed gives others.
    again = tmp_path / "again"
    assert cli("run", write(tmp_path, SMALL), "--out", again).returncode == 0
    np.testing.assert_array_equal(table(again)["value"], t["value"])
    other = tmp_path / "other"
    assert cli("run", write(tmp_path, {**SMALL, "seed": 6}, "o.yaml"), "--out", other).returncode == 0
    assert not np.array_equal(table(other)["value"], t["value"])


@pytest.mark.parametrize(
    "content, fragment",
    [
        ({**SMALL, "unknown_key": 1}, "unknown_key: unknown key"),
        ({**SMALL, "model": "brain"}, "unknown model 'brain'"),
        ({**SMALL, "seed": "abc"}, "seed:"),
        (
            {
                **SMALL,
                "arms": [
                    {
                        "name": "a",
                        "protocol": [
                            {"start_day": 1, "weeks": 1, "sessions_per_week": 5, "repetitions": -10}
                        ],
                    }
                ],
            },
            "repetitions",
        ),
        ("name: [oops\n", "malformed YAML"),
        (None, "no such file"),
    ],
)
def test_bad_input_gives_plain_error_and_exit_2(tmp_path, content, fragment):
    if content is None:
        path = tmp_path / "missing.yaml"
    elif isinstance(content, str):
        path = tmp_path / "bad.yaml"
        path.write_text(content)
    else:
        path = write(tmp_path, content)
    for command in ("validate", "run"):
        res = cli(command, path, *(["--out", tmp_path / "o"] if command == "run" else []))
        assert res.returncode == 2, (command, res.stdout, res.stderr)
        assert "Traceback" not in res.stderr + res.stdout
        assert fragment in " ".join(res.stderr.split()), res.stderr


def test_folder_conflicts_are_plain_errors(tmp_path):
    path = write(tmp_path, SMALL)
    out = tmp_path / "run"
    assert cli("run", path, "--out", out).returncode == 0
    res = cli("run", path, "--out", out)
    assert res.returncode == 2 and "already holds a complete run" in " ".join(res.stderr.split())
    res = cli("report", tmp_path)
    assert res.returncode == 2 and "no complete run" in " ".join(res.stderr.split())


def test_help_list_and_schema():
    res = cli("--help")
    assert res.returncode == 0 and "Examples" in res.stdout
    res = cli("list")
    assert res.returncode == 0
    for word in ("pathway", "spines", "lose-b", "task-practice", "varied-practice", "cluster_fraction"):
        assert word in res.stdout
    schema = json.loads(cli("schema").stdout)
    union = schema.get("oneOf") or schema.get("anyOf")
    assert union and len(union) == len(models())  # one part per model
    one = json.loads(cli("schema", "--model", "pathway").stdout)
    assert "arms" in one["properties"] and one["properties"]["model"]["const"] == "pathway"
    assert "[1/trial]" in json.dumps(one)  # learning_rate's unit
    assert cli("schema", "--model", "nope").returncode == 2
    assert cli("list", "gadgets").returncode == 2
    res = cli("list", "parameters", "--model", "pathway")
    assert res.returncode == 0 and "learning_rate" in res.stdout and "fatigue_reps" in res.stdout


def test_kill_9_then_resume_equals_uninterrupted(tmp_path):
    """A dose sweep analysed as a trial, killed mid-run: the resumed run's results and analysis
    equal the uninterrupted run's."""
    sweep = [
        {
            "name": f"dose-{reps}",
            "protocol": [{"start_day": 3, "weeks": 3, "sessions_per_week": 5, "repetitions": reps}],
        }
        for reps in (20, 60, 120)
    ]
    big = {
        **SMALL,
        "name": "resume",
        "patients": {"count": 160, "traits": {"age": {"dist": "normal", "mean": 60, "sd": 10}}},
        "chunk_size": 10,
        "duration_days": 56,
        "arms": [{"name": "rest"}, *sweep],
        "assessments": {"every_days": 7, "days": [2]},
        "trial": {
            "control": "rest",
            "primary": {"measure": "d_function", "baseline_day": 2, "followup_day": 56},
            "dropout_per_week": 0.02,
            "subgroups": ["age"],
            "power": {"sizes": [10, 40], "repeats": 20},
        },
    }
    path = write(tmp_path, big)
    full = tmp_path / "full"
    assert cli("run", path, "--out", full).returncode == 0
    part = tmp_path / "part"
    proc = subprocess.Popen(
        [sys.executable, "-m", "neurorehab.cli", "run", str(path), "--out", str(part)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while time.time() < deadline and len(list((part / "shards").glob("*.parquet"))) < 5:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    shards = len(list((part / "shards").glob("*.parquet")))
    assert 5 <= shards < 64, shards  # killed in the middle (4 arms x 16 shards of 10)
    assert not (part / "results.parquet").exists() and not (part / "manifest.json").exists()
    res = cli("run", path, "--out", part)
    assert res.returncode == 2 and "--resume" in res.stderr
    res = cli("run", path, "--out", part, "--resume")
    assert res.returncode == 0, res.stderr
    a, b = table(full), table(part)
    for col in a:
        np.testing.assert_array_equal(a[col], b[col])
    assert json.loads((part / "manifest.json").read_text())["resumed"] is True
    assert json.loads((part / "trial.json").read_text()) == json.loads((full / "trial.json").read_text())
    assert (part / "report.html").exists()


def test_unwritable_places_are_plain_errors(tmp_path):
    path = write(tmp_path, SMALL)
    a_file = tmp_path / "afile"
    a_file.write_text("x")
    for out in (a_file, a_file / "sub"):
        res = cli("run", path, "--out", out)
        assert res.returncode == 2, res.stderr
        assert "Traceback" not in res.stderr
    # A catalog that cannot be written does not lose the run: a warning, and every file stands.
    out = tmp_path / "it's here"
    res = cli("run", path, "--out", out, "--catalog", f"sqlite:///{tmp_path}/no/such/dir/c.sqlite")
    assert res.returncode == 0, res.stderr
    assert "not recorded in the catalog" in " ".join(res.stderr.split())
    assert (out / "report.html").exists() and (out / "manifest.json").exists()


def test_resume_of_a_finished_run_with_another_scenario_is_refused(tmp_path):
    out = tmp_path / "run"
    assert cli("run", write(tmp_path, SMALL), "--out", out).returncode == 0
    res = cli("run", write(tmp_path, {**SMALL, "seed": 99}, "b.yaml"), "--out", out, "--resume")
    assert res.returncode == 2 and "different scenario" in " ".join(res.stderr.split())


def test_compiled_programs_are_kept_per_kind_of_cpu_and_passed_to_workers(tmp_path, monkeypatch):
    """`run`, `demo` and the patient commands keep XLA's programs in
    $XDG_CACHE_HOME/neurorehab/jax/<cpu kind> (README.md), and put that folder in the
    environment, where the worker processes of `--executor processes` read it. The kind is a
    digest of the CPU's model and instruction sets, so two kinds of CPU get two folders."""
    import jax

    from neurorehab.cli import common

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    for name in ("JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"):
        # Set, then removed: monkeypatch records a variable only when it touches one that is
        # there, and the teardown must take away what compilation_cache() puts in.
        monkeypatch.setenv(name, "unset")
        monkeypatch.delenv(name)
    before = jax.config.jax_compilation_cache_dir, jax.config.jax_persistent_cache_min_compile_time_secs
    try:
        common.compilation_cache()
        folder = tmp_path / "neurorehab" / "jax" / common._cpu_kind()
        assert folder.is_dir()
        assert jax.config.jax_compilation_cache_dir == str(folder)
        assert os.environ["JAX_COMPILATION_CACHE_DIR"] == str(folder)
        assert float(os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"]) == common.MIN_COMPILE_S
    finally:
        jax.config.update("jax_compilation_cache_dir", before[0])
        jax.config.update("jax_persistent_cache_min_compile_time_secs", before[1])
    kind = common._cpu_kind()
    assert len(kind) == 12 and kind == common._cpu_kind()
    monkeypatch.setattr(
        common.Path, "read_text", lambda self, **kw: "model name\t: another CPU\nflags\t: sse2\n"
    )
    assert common._cpu_kind() != kind
