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
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import jax
import numpy as np
import yaml

import neurorehab
from neurorehab.config import CompiledScenario, Scenario, compile_scenario
from neurorehab.core.engine import Calendar, auto_chunk, simulate, snapshots_one
from neurorehab.core.failures import DESCRIPTIONS
from neurorehab.io import catalog
from neurorehab.io.atomic import write_atomic, write_json_atomic, write_text_atomic
from neurorehab.io.results import merge_shards, query, tidy_table, write_parquet

Progress = Callable[[int, int], None]


class RunError(Exception):
    """The run cannot start or go on, for a reason the user can act on."""


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
) -> dict[str, Any]:
    """Simulate every arm for every patient, shard by shard, and write the run folder.

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
        return _run(compiled, out, digest, resume, progress, catalog_url)
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
    shard_paths, timings = _run_shards(compiled, out, progress)
    merge_shards(shard_paths, out / "results.parquet")
    failures = _failures(out)
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
    c: CompiledScenario, out: Path, progress: Progress | None
) -> tuple[list[Path], dict[str, Any]]:
    size = c.scenario.chunk_size or auto_chunk(c.model, c.sample_params(np.arange(1)))
    n = c.n_patients
    total = n * len(c.arms)
    paths, times, done = [], [], 0
    for a_index, arm in enumerate(c.arms):
        for start in range(0, n, size):
            ids = np.arange(start, min(start + size, n))
            path = out / "shards" / f"a{a_index:02d}-p{start:07d}.parquet"
            paths.append(path)
            if not path.exists():
                t = time.perf_counter()
                params, keys = c.sample_params(ids), c.sim_keys(ids)
                measures, codes = simulate(
                    c.model, params, arm.calendar, keys, injury=c.injury, chunk_size=size
                )  # type: ignore[misc]
                keep = {k: measures[k][:, arm.assess] for k in c.measures}
                if start == 0 and hasattr(c.model, "snapshot"):  # before the shard: resume skips it
                    _write_snapshots(c, arm, params, keys[0], out / "snapshots" / f"{arm.name}.npz")
                write_parquet(path, tidy_table(arm.name, ids, arm.days[arm.assess], keep, codes))
                times.append(time.perf_counter() - t)
            done += len(ids)
            if progress is not None:
                progress(done, total)
    timings = {
        "shards_run": len(times),
        "first_shard_s": round(times[0], 3) if times else None,
        "later_shards_mean_s": round(float(np.mean(times[1:])), 4) if len(times) > 1 else None,
        "patients_per_s_after_first": round(size / float(np.mean(times[1:])), 1) if len(times) > 1 else None,
    }
    return paths, timings


def snapshot_slots(cal: Calendar) -> dict[str, int]:
    """Labelled slots to picture: baseline, just after the injury, 4 days into therapy, the end
    of therapy and the end of the run (each when it exists; duplicates dropped)."""
    day, sessions = np.asarray(cal.day), np.flatnonzero(np.asarray(cal.n_trials) > 0)
    labels = {"baseline": 0}
    injured = np.flatnonzero(np.asarray(cal.injure))
    if injured.size:
        labels["after injury"] = int(injured[0])
    if sessions.size:
        labels["early therapy"] = int(np.flatnonzero(day <= day[sessions[0]] + 4)[-1])
        labels["end of therapy"] = int(sessions[-1])
    labels["end"] = len(day) - 1
    seen: dict[int, str] = {}
    for label, slot in labels.items():
        seen.setdefault(slot, label)
    return {label: slot for slot, label in seen.items()}


_snapshots = jax.jit(snapshots_one, static_argnums=(0, 4), static_argnames=("injury", "max_trials"))


def _write_snapshots(c: CompiledScenario, arm: Any, params: Any, key: Any, path: Path) -> None:
    """Pictures of patient 0 at the labelled slots, saved as `label__name` arrays."""
    labels = snapshot_slots(arm.calendar)
    first = jax.tree_util.tree_map(lambda x: x[0], params)
    cal = arm.calendar._replace(assess=None)
    snaps = _snapshots(
        c.model, first, cal, key, tuple(labels.values()), injury=c.injury, max_trials=arm.calendar.max_trials
    )
    arrays = {
        f"{label}__{k}": np.asarray(v)
        for label, snap in zip(labels, snaps, strict=True)
        for k, v in snap.items()
    }
    arrays["labels"] = np.asarray(list(labels))

    def write(p: Path) -> None:
        with open(p, "wb") as fh:
            np.savez_compressed(fh, **arrays)  # type: ignore[arg-type]

    write_atomic(path, write)


def _failures(out: Path) -> dict[str, dict[str, int]]:
    rows = query(
        out, "select distinct arm, patient, failure from results where failure <> 0 order by arm, patient"
    ).fetchall()
    result: dict[str, dict[str, int]] = {}
    for arm, patient, code in rows:
        result.setdefault(arm, {})[str(patient)] = int(code)
    return result
