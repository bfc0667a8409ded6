"""Benchmark: one scenario run in process, on local cores and on Dask; peak memory at 10,000 patients.

Each configuration runs `run_scenario` in a fresh Python process (so each figure is end to end
as a user lives it: start, import, compile, simulate, write), one after another in this run.
Peak memory is the largest resident set of the run's processes (getrusage: the driver, plus its
children for the multi-process executors). Writes bench/results/executors.json and .md.

    python bench/executors.py            # about 6 minutes on 2 cores
    python bench/executors.py --quick    # smaller cohort, no 10,000-patient runs
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parent / "results"

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from neurorehab.config import parse_scenario
from neurorehab.runners import Execution, run_scenario
spec = json.loads(sys.argv[1])
how = Execution(spec["executor"], spec.get("workers"))
manifest = run_scenario(parse_scenario(spec["scenario"]), spec["out"], execution=how)
wall = time.perf_counter() - t0
me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
res = {"wall_s": wall, "timings": manifest["timings"], "rss_self_kib": me, "rss_children_kib": kids}
print(json.dumps(res))
"""


def pathway(n: int, chunk: int | None) -> dict:
    return {
        "name": "bench-pathway",
        "model": "pathway",
        "seed": 1,
        "duration_days": 70,
        "patients": {
            "count": n,
            "params": {"learning_rate": {"dist": "lognormal", "median": 0.01, "sd_log": 0.35}},
        },
        "events": [{"kind": "lose-b", "day": 1}],
        "arms": [
            {
                "name": "practice",
                "protocol": [{"start_day": 7, "weeks": 6, "sessions_per_week": 5, "repetitions": 100}],
            },
            {"name": "rest"},
        ],
        "assessments": {"every_days": 7},
        **({"chunk_size": chunk} if chunk else {}),
    }


def motor(n: int, days: int) -> dict:
    return {
        "name": "bench-motor",
        "model": "motor",
        "seed": 1,
        "duration_days": days,
        "patients": {"count": n},
        "events": [{"kind": "focal-lesion", "day": 1}],
        "arms": [
            {
                "name": "practice",
                "protocol": [{"start_day": 3, "days": days - 3, "sessions_per_week": 5, "repetitions": 100}],
            }
        ],
        "assessments": {"every_days": 7},
        "chunk_size": 500,
    }


def run(scenario: dict, executor: str, workers: int | None = None, env: dict[str, str] | None = None) -> dict:
    """`scenario` run end to end in a fresh process (`env`: added to its environment)."""
    with tempfile.TemporaryDirectory() as tmp:
        spec = {"scenario": scenario, "executor": executor, "workers": workers, "out": f"{tmp}/run"}
        res = subprocess.run(
            [sys.executable, "-c", CHILD, json.dumps(spec)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, **(env or {})},
        )
    out = json.loads(res.stdout.strip().splitlines()[-1])
    n = scenario["patients"]["count"] * len(scenario["arms"])
    out["patient_arms"] = n
    out["patients_per_s"] = n / out["wall_s"]
    out["peak_rss_mib"] = max(out["rss_self_kib"], out["rss_children_kib"]) / 1024
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n = 400 if args.quick else 2000
    scen = pathway(n, chunk=n // 8)
    rows = []
    for executor, workers in (("local", None), ("processes", 2), ("dask", 2)):
        r = run(scen, executor, workers)
        r.update(executor=executor, workers=workers or 1)
        rows.append(r)
        print(
            f"{executor:9s} x{workers or 1}: {r['wall_s']:.1f} s end to end, "
            f"{r['patients_per_s']:.0f} patient-arms/s, "
            f"shards {r['timings']['shards_s']:.1f} s, peak {r['peak_rss_mib']:.0f} MiB",
            flush=True,
        )
    memory = []
    if not args.quick:
        for label, scenario, executor in (
            ("pathway, 10,000 patients x 2 arms, 70 days, auto chunk", pathway(10_000, None), "local"),
            ("motor, 10,000 patients x 1 arm, 14 days, chunks of 500", motor(10_000, 14), "local"),
        ):
            r = run(scenario, executor)
            r["label"] = label
            memory.append(r)
            print(f"{label}: {r['wall_s']:.1f} s, peak {r['peak_rss_mib']:.0f} MiB", flush=True)
    OUT.mkdir(exist_ok=True)
    meta = {"machine": platform.platform(), "cpus": os.cpu_count(), "python": sys.version.split()[0]}
    (OUT / "executors.json").write_text(
        json.dumps({"meta": meta, "executors": rows, "memory": memory}, indent=1)
    )
    base = rows[0]["wall_s"]
    lines = [
        f"Scenario: `pathway`, {n} patients x 2 arms, 70 days, {n // 8} patients a shard.",
        "",
        "| executor | workers | end to end (s) | shards (s) | patient-arms/s | time vs in process "
        "| peak RSS (MiB) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['executor']} | {r['workers']} | {r['wall_s']:.1f} | {r['timings']['shards_s']:.1f} | "
            f"{r['patients_per_s']:.0f} | {r['wall_s'] / base:.2f}x | {r['peak_rss_mib']:.0f} |"
        )
    if memory:
        lines += ["", "| memory run | end to end (s) | peak RSS (MiB) |", "|---|---:|---:|"]
        lines += [f"| {r['label']} | {r['wall_s']:.1f} | {r['peak_rss_mib']:.0f} |" for r in memory]
    (OUT / "executors.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
