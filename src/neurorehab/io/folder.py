"""What a run folder holds, and what of it is missing or damaged.

A run folder is written atomically file by file (`io.atomic`), so a kill leaves whole files;
but disks fill, people edit and copy folders, and files rot. `problems` reads every output a
finished run should hold (JSON parsed, Parquet footers and schemas read, snapshot archives
decompressed) and says, one plain line each, what is wrong; the report refuses a damaged
folder with these lines, and `run --resume` repairs what they name.
"""

from __future__ import annotations

import json
import re
import stat
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

MANIFEST_KEYS: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "model": str,
    "scenario": dict,
    "arms": list,
    "measures": list,
    "seed": int,
    "failures": dict,
    "scenario_sha256": str,
}


MAX_JSON_BYTES = 64 << 20  # a manifest with its failures is kilobytes; a trial.json with power, megabytes
OWN = re.compile(
    r"^\.(run\.json|scenario\.yaml|manifest\.json|results\.parquet|trial\.json|patients\.parquet"
    r"|report\.html|a\d{2}-p\d{7}\.parquet|[^/]+\.npz)\.[A-Za-z0-9_]+\.part$"
)  # the temporary names io.atomic gives our own outputs


def read_json(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(data, None) for a readable JSON object; (None, why) for a missing or damaged file (also
    one that is not a regular file, or too large)."""
    if not path.exists() and not path.is_symlink():
        return None, f"{path.name} is missing"
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            return None, f"{path.name} is damaged (not a regular file)"
        if st.st_size > MAX_JSON_BYTES:
            return None, f"{path.name} is damaged ({st.st_size:,} bytes, more than any run writes)"
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as err:
        return None, f"{path.name} is damaged (not readable JSON: {str(err)[:80]})"
    if not isinstance(data, dict):
        return None, f"{path.name} is damaged (not a JSON object)"
    return data, None


def parquet_problem(path: Path, schema: pa.Schema | None = None) -> str | None:
    """None if the Parquet file reads (footer, and schema when given); else why not."""
    name = path.relative_to(path.parent.parent).as_posix() if path.parent.name == "shards" else path.name
    if not path.exists():
        return f"{name} is missing"
    try:
        meta = pq.read_metadata(path)
        if schema is not None and not meta.schema.to_arrow_schema().equals(schema):
            return f"{name} is damaged (its columns are not those of neurorehab results)"
    except (OSError, pa.ArrowException) as err:
        return f"{name} is damaged ({str(err).splitlines()[0][:80]})"
    return None


def snapshot_problem(path: Path) -> str | None:
    """None if every array of a snapshot archive decompresses; else why not."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            for key in archive.files:
                archive[key]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as err:
        return f"snapshots/{path.name} is damaged ({str(err)[:80]})"
    return None


def problems(run: Path, schema: pa.Schema) -> list[str]:
    """What is missing or damaged among a finished run's outputs (empty: the folder is sound).
    `schema`: the columns results.parquet must have."""
    manifest, why = read_json(run / "manifest.json")
    if manifest is None:
        return [f"{why} (the run did not finish, or the file was damaged)"]
    missing = [k for k, kind in MANIFEST_KEYS.items() if not isinstance(manifest.get(k), kind)]
    scenario, failures = manifest.get("scenario"), manifest.get("failures")
    shapes = {
        "arms": all(isinstance(a, str) for a in manifest.get("arms") or []),
        "measures": all(isinstance(m, str) for m in manifest.get("measures") or []),
        "failures": isinstance(failures, dict) and all(isinstance(v, dict) for v in failures.values()),
        "versions": isinstance(manifest.get("versions", {}), dict),
        "timings": isinstance(manifest.get("timings", {}), dict),
        "scenario.description": isinstance(scenario, dict)
        and isinstance(scenario.get("description", ""), str),
    }
    missing += [k for k, ok in shapes.items() if not ok and k not in missing]
    if missing:
        return [f"manifest.json is damaged (it lacks a valid {', '.join(missing)})"]
    out = []
    if (p := parquet_problem(run / "results.parquet", schema)) is not None:
        out.append(p)
    if isinstance(scenario, dict) and scenario.get("trial"):
        trial, why = read_json(run / "trial.json")
        if trial is None:
            out.append(str(why))
        elif not {"primary_measure", "arms", "control"} <= set(trial):
            out.append("trial.json is damaged (it lacks the trial's primary measure, arms or control)")
        if (p := parquet_problem(run / "patients.parquet")) is not None:
            out.append(p)
    snapshots = run / "snapshots"
    if snapshots.is_dir():
        out += [p for f in sorted(snapshots.glob("*.npz")) if (p := snapshot_problem(f)) is not None]
    return out


def leftovers(folder: Path) -> list[Path]:
    """Temporary files of our own atomic writes that a kill interrupted (`.NAME.XXXX.part`,
    NAME one of a run's outputs); nobody else's."""
    found = [p for p in folder.glob(".*.part") if OWN.match(p.name)]
    for sub in ("shards", "snapshots"):
        if (folder / sub).is_dir():
            found += [p for p in (folder / sub).glob(".*.part") if OWN.match(p.name)]
    return found
