"""Run a scenario in process, in resumable shards of patients, into an output folder.

Layout of a run folder:
  run.json            written first: status "running", the scenario's hash, start time
  scenario.yaml       the validated scenario
  shards/*.parquet    one per (arm, chunk of patients), each written atomically
  snapshots/*.npz     small final-state pictures of patient 0 per arm (for the report)
  results.parquet     merged, written only when every shard exists
  manifest.json       written last: its presence means the run is complete
An interrupted run has no manifest.json; `resume=True` skips the shards already written and,
since every patient's numbers depend only on its own key, finishes with the same results.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import yaml

import neurorehab
from neurorehab.config import CompiledScenario, Scenario, compile_scenario
from neurorehab.core.engine import auto_chunk
from neurorehab.core.failures import DESCRIPTIONS
from neurorehab.io import catalog
from neurorehab.io.atomic import write_json_atomic, write_text_atomic
from neurorehab.io.results import merge_shards, query
from neurorehab.runners.shards import Execution, Job, Progress, RunError, execute, shard_path


def scenario_hash(s: Scenario) -> str:
    data = s.model_dump(mode="json", exclude={"output"})
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for pkg in ("neurorehab", "jax", "jaxlib", "numpy", "pydantic", "pyarrow", "duckdb", "sqlalchemy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _git_revision() -> str | None:
    src = Path(neurorehab.__file__).resolve().parent
    try:
        res = subprocess.run(
            ["git", "-C", str(src), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() or None if res.returncode == 0 else None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _check_folder(out: Path, digest: str, resume: bool) -> dict[str, Any] | None:
    """Return the existing manifest of a finished run when resuming; raise on conflicts."""
    if out.exists() and not out.is_dir():
        raise RunError(f"{out} is a file, not a folder; choose a folder for --out")
    if (out / "manifest.json").exists():
        manifest = dict(json.loads((out / "manifest.json").read_text()))
        if not resume:
            raise RunError(f"{out} already holds a complete run; choose another --out or delete it")
        if manifest.get("scenario_sha256") != digest:
            raise RunError(f"{out} holds a complete run of a different scenario; choose another --out")
        return manifest
    run_file = out / "run.json"
    if run_file.exists():
        started = json.loads(run_file.read_text())
        if not resume:
            raise RunError(
                f"{out} holds an interrupted run of {started.get('name')!r}; add --resume "
                "to finish it, or choose another --out"
            )
        if started.get("scenario_sha256") != digest:
            raise RunError(
                f"{out} was started with a different scenario; --resume needs the same "
                "scenario file (or choose another --out)"
            )
    elif out.exists() and any(out.iterdir()):
        raise RunError(f"{out} is not empty and holds no neurorehab run; choose an empty or new folder")
    return None


def run_scenario(
    scenario: Scenario,
    out: str | Path,
    *,
    resume: bool = False,
    progress: Progress | None = None,
    catalog_url: str | None = None,
    execution: Execution | None = None,
) -> dict[str, Any]:
    """Simulate every arm for every patient, shard by shard, and write the run folder.

    `execution` says where shards run (in process by default, local cores, or Dask); the
    files are the same either way. A scenario with a `trial` section also gets its analysis
    (`trial.json`, `patients.parquet`).

    Returns the manifest. Raises RunError for folder conflicts and unwritable folders; a run
    catalog that cannot be written is reported in the manifest's `catalog_error`, and the
    run's files stand.
    """
    out = Path(out)
    digest = scenario_hash(scenario)
    compiled = compile_scenario(scenario)
    try:
        done = _check_folder(out, digest, resume)
        if done is not None:
            return done
        return _run(compiled, out, digest, resume, progress, catalog_url, execution or Execution())
    except OSError as err:
        where = err.filename or out
        raise RunError(f"cannot write the run to {where}: {err.strerror or err}") from None


def _run(
    compiled: CompiledScenario,
    out: Path,
    digest: str,
    resume: bool,
    progress: Progress | None,
    catalog_url: str | None,
    how: Execution,
) -> dict[str, Any]:
    scenario = compiled.scenario
    t0 = time.perf_counter()
    started = json.loads((out / "run.json").read_text())["started"] if (out / "run.json").exists() else _now()
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(
        out / "run.json",
        {"status": "running", "name": scenario.name, "scenario_sha256": digest, "started": started},
    )
    write_text_atomic(
        out / "scenario.yaml", yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False)
    )
    shard_paths, timings = _run_shards(compiled, out, progress, how)
    merge_shards(shard_paths, out / "results.parquet")
    failures = _failures(out)
    if scenario.trial is not None:
        from neurorehab.runners.trial import write_trial

        t = time.perf_counter()
        write_trial(compiled, out)
        timings["trial_analysis_s"] = round(time.perf_counter() - t, 3)
    finished = _now()
    wall = time.perf_counter() - t0
    catalog_error = _record(compiled, out, digest, started, finished, wall, failures, catalog_url)
    manifest = {
        "name": scenario.name,
        "model": scenario.model,
        "status": "complete",
        "seed": scenario.seed,
        "scenario_sha256": digest,
        "scenario": scenario.model_dump(mode="json"),
        "patients": compiled.n_patients,
        "arms": [a.name for a in compiled.arms],
        "measures": list(compiled.measures),
        "started": started,
        "finished": finished,
        "wall_s": round(wall, 3),
        "timings": timings,
        "resumed": resume,
        "versions": _versions(),
        "git_revision": _git_revision(),
        "failures": failures,
        "failure_codes": {str(k): v for k, v in DESCRIPTIONS.items()},
        "random_keys": "patient traits: fold_in(fold_in(key(seed), 1), patient); simulation: "
        "fold_in(fold_in(key(seed), 2), patient), shared by all arms; within a run, keys fold in "
        "the absolute day and minute, so arms share random numbers session by session",
        "catalog_error": catalog_error,
    }
    write_json_atomic(out / "manifest.json", manifest)
    write_json_atomic(
        out / "run.json",
        {"status": "complete", "name": scenario.name, "scenario_sha256": digest, "started": started},
    )
    return manifest


def _record(
    c: CompiledScenario,
    out: Path,
    digest: str,
    started: str,
    finished: str,
    wall: float,
    failures: dict[str, dict[str, int]],
    url: str | None,
) -> str | None:
    """Record the run in the catalog; return the error text instead of failing the run."""
    row = {
        "run_id": f"{c.scenario.name}-{digest[:12]}-{started}",
        "name": c.scenario.name,
        "model": c.scenario.model,
        "status": "complete",
        "seed": c.scenario.seed,
        "patients": c.n_patients,
        "arms": len(c.arms),
        "failed": sum(len(v) for v in failures.values()),
        "out_dir": str(out.resolve()),
        "started": datetime.fromisoformat(started),
        "finished": datetime.fromisoformat(finished),
        "wall_s": wall,
        "scenario_sha256": digest,
    }
    try:
        catalog.record(row, url)
    except Exception as err:
        return f"{type(err).__name__}: {str(err).splitlines()[0]}"
    return None


def _run_shards(
    c: CompiledScenario, out: Path, progress: Progress | None, how: Execution
) -> tuple[list[Path], dict[str, Any]]:
    n = c.n_patients
    size = c.scenario.chunk_size or min(n, auto_chunk(c.model, c.sample_params(np.arange(1))))
    text = json.dumps(c.scenario.model_dump(mode="json"), sort_keys=True)
    jobs, paths, skipped = [], [], 0
    for a_index in range(len(c.arms)):
        for start in range(0, n, size):
            path = shard_path(out, a_index, start)
            paths.append(path)
            if path.exists():
                skipped += min(size, n - start)
            else:
                jobs.append(Job(text, str(out), a_index, start, min(size, n - start), size))
    t = time.perf_counter()
    times = execute(jobs, how, progress, total=n * len(c.arms), already=skipped)
    wall = time.perf_counter() - t
    timings = {
        "executor": how.executor,
        "workers": how.workers,
        "chunk_size": size,
        "shards_run": len(times),
        "shards_s": round(wall, 3),
        "first_shard_s": round(times[0], 3) if times else None,
        "later_shards_mean_s": round(float(np.mean(times[1:])), 4) if len(times) > 1 else None,
        "patients_per_s": round(sum(j.n for j in jobs) / wall, 1) if jobs and wall > 0 else None,
    }
    return paths, timings


def _failures(out: Path) -> dict[str, dict[str, int]]:
    rows = query(
        out, "select distinct arm, patient, failure from results where failure <> 0 order by arm, patient"
    ).fetchall()
    result: dict[str, dict[str, int]] = {}
    for arm, patient, code in rows:
        result.setdefault(arm, {})[str(patient)] = int(code)
    return result
