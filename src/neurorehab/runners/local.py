"""Run a scenario in process, in resumable shards of patients, into an output folder.

Layout of a run folder:
  run.json            written first: status "running", the scenario's hash, start time
  scenario.yaml       the validated scenario
  shards/*.parquet    one per (arm, chunk of patients), each written atomically
  snapshots/*.npz     small final-state pictures of patient 0 per arm (for the report)
  results.parquet     merged, written only when every shard exists
  trial.json, patients.parquet   the trial analysis, for a scenario with a `trial` section
  manifest.json       config, seed, versions, timings, the SHA-256 of every input file, the outputs
  report.html         (from the CLI's `finish` step)
  run.json            rewritten last with status "complete", once every output exists
An interrupted run is not "complete"; `resume=True` skips the shards already written and,
since every patient's numbers depend only on its own key, finishes with the same results. A
finished run whose outputs were damaged or deleted is repaired the same way (`io.folder`).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
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
from neurorehab.io import catalog, folder
from neurorehab.io.atomic import write_json_atomic, write_text_atomic
from neurorehab.io.results import SCHEMA, merge_shards, query
from neurorehab.runners.shards import Execution, Job, Progress, RunError, execute, shard_path


def scenario_hash(s: Scenario, inputs: dict[str, dict[str, str]] | None = None) -> str:
    """SHA-256 of the validated scenario and of the content of every file it names (`inputs`:
    `CompiledScenario.inputs`), so a run knows when its inputs changed."""
    data = s.model_dump(mode="json", exclude={"output"})
    if inputs:
        data = {"scenario": data, "inputs": {k: v["sha256"] for k, v in sorted(inputs.items())}}
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


def _changed(started: dict[str, Any], c: CompiledScenario, config: str) -> str:
    """Why a folder's run and this scenario differ, in words: which input file, or the scenario
    (`config`: the hash of the scenario alone)."""
    before = started.get("inputs") or {}
    now = c.inputs
    same_scenario = started.get("config_sha256") == config
    for field in sorted(set(before) | set(now)):
        old, new = before.get(field, {}), now.get(field, {})
        if old.get("sha256") != new.get("sha256") and same_scenario:
            return (
                f"the file {field} names ({new.get('path') or old.get('path')}) changed since the run "
                f"started (SHA-256 {str(old.get('sha256'))[:12]}... then, {str(new.get('sha256'))[:12]}... "
                "now); restore it, or start a new run in another --out"
            )
    return (
        "it was started with a different scenario; --resume needs the same scenario file "
        "(or choose another --out)"
    )


def _check_folder(
    out: Path, digest: str, config: str, c: CompiledScenario, resume: bool
) -> dict[str, Any] | None:
    """Return the manifest of a finished, sound run when resuming; None when there is work to do
    (a new run, an interrupted one, or a finished one with damaged outputs to repair); raise
    RunError on conflicts. `digest`: the hash of the scenario and its inputs; `config`: of the
    scenario alone (what a run of an older version recorded)."""
    if out.exists() and not out.is_dir():
        raise RunError(f"{out} is a file, not a folder; choose a folder for --out")
    if not out.is_dir():
        return None
    leftovers = set(folder.leftovers(out))  # a kill during one of our atomic writes leaves these
    if not any(p.is_file() and p not in leftovers for p in out.rglob("*")):
        _remove(leftovers)
        return None  # empty, or killed before its first file was whole
    started, why = folder.read_json(out / "run.json")
    manifest, _ = folder.read_json(out / "manifest.json")
    if started is None and manifest is None:
        if (out / "run.json").exists():
            raise RunError(
                f"{out}: {why}, so which scenario started this run cannot be told; choose another --out "
                "(or delete the folder)"
            )
        raise RunError(f"{out} is not empty and holds no neurorehab run; choose an empty or new folder")
    record = started or manifest or {}
    name = record.get("name")
    # A run started by an older version recorded no input files: its hash is the scenario's alone.
    older = "config_sha256" not in record and record.get("scenario_sha256") == config
    if record.get("scenario_sha256") != digest and not older:
        raise RunError(f"{out} holds a run of {name!r}, and {_changed(record, c, config)}")
    _remove(leftovers)
    complete = started is not None and started.get("status") == "complete"
    if not resume:
        if complete:
            raise RunError(f"{out} already holds a complete run; choose another --out or delete it")
        raise RunError(
            f"{out} holds an unfinished or damaged run of {name!r}; add --resume to finish or repair it, "
            "or choose another --out"
        )
    damaged = folder.problems(out, SCHEMA)
    if complete and manifest is not None and not damaged and _outputs_exist(out, manifest):
        return manifest
    _drop_damaged(out, [a.name for a in c.arms])
    return None


def _remove(paths: set[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _outputs_exist(out: Path, manifest: dict[str, Any]) -> bool:
    return all((out / name).exists() for name in manifest.get("outputs", ()))


def _drop_damaged(out: Path, arms: list[str]) -> None:
    """Delete damaged shards and snapshots so that resuming computes them again (a damaged
    snapshot takes its arm's first shard with it: that shard is what draws it)."""
    shards = out / "shards"
    for path in sorted(shards.glob("*.parquet")) if shards.is_dir() else []:
        if folder.parquet_problem(path, SCHEMA) is not None:
            path.unlink()
    snaps = out / "snapshots"
    for path in sorted(snaps.glob("*.npz")) if snaps.is_dir() else []:
        if folder.snapshot_problem(path) is not None:
            path.unlink()
            if path.stem in arms:
                shard_path(out, arms.index(path.stem), 0).unlink(missing_ok=True)


def run_scenario(
    scenario: Scenario,
    out: str | Path,
    *,
    resume: bool = False,
    progress: Progress | None = None,
    catalog_url: str | None = None,
    execution: Execution | None = None,
    finish: Callable[[Path], Any] | None = None,
) -> dict[str, Any]:
    """Simulate every arm for every patient, shard by shard, and write the run folder.

    `execution` says where shards run (in process by default, local cores, or Dask); the
    files are the same either way. A scenario with a `trial` section also gets its analysis
    (`trial.json`, `patients.parquet`). `finish(out)` runs last, before the run is marked
    complete (the CLI builds report.html there), so "complete" means every output exists.

    Resuming (`resume=True`) finishes an interrupted run, and repairs a finished one whose
    outputs are missing or damaged; it refuses a folder whose scenario or input files changed.

    Returns the manifest. Raises RunError for folder conflicts and unwritable folders; a run
    catalog that cannot be written is reported in the manifest's `catalog_error`, and the
    run's files stand.
    """
    out = Path(out)
    compiled = compile_scenario(scenario)
    digest, config = scenario_hash(scenario, compiled.inputs), scenario_hash(scenario)
    try:
        done = _check_folder(out, digest, config, compiled, resume)
        if done is not None:
            return done
        return _run(
            compiled, out, (digest, config), resume, progress, catalog_url, execution or Execution(), finish
        )
    except OSError as err:
        where = err.filename or out
        raise RunError(
            f"cannot write the run to {where}: {err.strerror or err}; when that is mended, "
            "run again with --resume to finish (what was written is kept)"
        ) from None


def _run(
    compiled: CompiledScenario,
    out: Path,
    digests: tuple[str, str],
    resume: bool,
    progress: Progress | None,
    catalog_url: str | None,
    how: Execution,
    finish: Callable[[Path], Any] | None,
) -> dict[str, Any]:
    scenario = compiled.scenario
    digest, config = digests
    t0 = time.perf_counter()
    before, _ = folder.read_json(out / "run.json")
    started = str((before or {}).get("started") or _now())
    out.mkdir(parents=True, exist_ok=True)
    state = {
        "name": scenario.name,
        "scenario_sha256": digest,
        "config_sha256": config,
        "inputs": compiled.inputs,
        "started": started,
    }
    write_json_atomic(out / "run.json", {"status": "running", **state})
    write_text_atomic(
        out / "scenario.yaml", yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False)
    )
    shard_paths, timings = _run_shards(compiled, out, progress, how)
    merge_shards(shard_paths, out / "results.parquet")
    failures = _failures(out)
    outputs = ["results.parquet", "scenario.yaml"]
    if scenario.trial is not None:
        from neurorehab.runners.trial import write_trial

        t = time.perf_counter()
        write_trial(compiled, out)
        timings["trial_analysis_s"] = round(time.perf_counter() - t, 3)
        outputs += ["trial.json", "patients.parquet"]
    finished = _now()
    wall = time.perf_counter() - t0
    catalog_error = _record(compiled, out, digest, started, finished, wall, failures, catalog_url)
    manifest = {
        "name": scenario.name,
        "model": scenario.model,
        "status": "complete",
        "seed": scenario.seed,
        "scenario_sha256": digest,
        "config_sha256": config,
        "scenario": scenario.model_dump(mode="json"),
        "inputs": compiled.inputs,
        "patients": compiled.n_patients,
        "arms": [a.name for a in compiled.arms],
        "measures": list(compiled.measures),
        "outputs": [*outputs, "manifest.json", *(["report.html"] if finish is not None else [])],
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
    if finish is not None:
        finish(out)
    write_json_atomic(out / "run.json", {"status": "complete", **state})
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
        text = (str(err).splitlines() or [""])[0]
        return catalog.scrub(f"{type(err).__name__}: {text}", url or os.environ.get("NEUROREHAB_CATALOG"))
    return None


def _run_shards(
    c: CompiledScenario, out: Path, progress: Progress | None, how: Execution
) -> tuple[list[Path], dict[str, Any]]:
    n = c.n_patients
    size = c.scenario.chunk_size or min(n, auto_chunk(c.model, c.sample_params(np.arange(1))))
    text = json.dumps(c.scenario.model_dump(mode="json"), sort_keys=True)
    inputs = json.dumps({k: v["sha256"] for k, v in c.inputs.items()}, sort_keys=True)
    jobs, skipped = [], 0
    paths = [shard_path(out, a, start) for a in range(len(c.arms)) for start in range(0, n, size)]
    for start in range(0, n, size):  # patients first: every arm of a shard reuses one development
        for a_index in range(len(c.arms)):
            path = shard_path(out, a_index, start)
            if path.exists():
                skipped += min(size, n - start)
            else:
                jobs.append(Job(text, str(out), a_index, start, min(size, n - start), size, inputs))
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
