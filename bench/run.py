"""Benchmarks: patients a second for `pathway` at 1 to 10,000 patients; `motor` over 12 weeks.

Runs pathway's practice arm (70 days, 30 sessions of 100 repetitions) through `simulate`,
reporting two figures per batch size: end to end as a user lives it (first call, compilation
included) and the steady loop (median of repeated calls after compilation). Writes
bench/results/bench.json and bench/results/bench.md, and prints the table.

    python bench/run.py            # all sizes
    python bench/run.py --quick    # 1 and 100 patients only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import jax
from cohort import setup  # bench/cohort.py: the same cohorts in the suite

from neurorehab.core.engine import _batched, auto_chunk, simulate
from neurorehab.models import default_params
from neurorehab.models.pathway import INFO, Pathway

OUT = Path(__file__).resolve().parent / "results"


def one(n: int, chunk: int, repeats: int) -> dict:
    model, injury, cal, params, keys = setup("pathway", n)
    _batched.cache_clear()
    t = time.perf_counter()
    simulate(model, params, cal, keys, events=injury, chunk_size=chunk)
    first = time.perf_counter() - t
    steady = []
    for _ in range(repeats):
        t = time.perf_counter()
        simulate(model, params, cal, keys, events=injury, chunk_size=chunk)
        steady.append(time.perf_counter() - t)
    med = statistics.median(steady)
    return {
        "patients": n,
        "chunk": min(chunk, n),
        "end_to_end_s": round(first, 4),
        "steady_s": round(med, 4),
        "patients_per_s_steady": round(n / med, 1),
        "patients_per_s_end_to_end": round(n / first, 1),
        "repeats": repeats,
    }


def motor(n: int) -> dict:
    """Issue 3's bar: a 12-week protocol (2 weeks of therapy, daily-life reaching every day)."""
    model, injury, cal, params, keys = setup("motor", n)
    t = time.perf_counter()
    simulate(model, params, cal, keys, events=injury)
    first = time.perf_counter() - t
    t = time.perf_counter()
    simulate(model, params, cal, keys, events=injury)
    steady = time.perf_counter() - t
    return {
        "patients": n,
        "end_to_end_s": round(first, 2),
        "steady_s": round(steady, 2),
        "patients_per_s_steady": round(n / steady, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    auto = auto_chunk(Pathway(), default_params(INFO, 1))
    sizes = [(1, auto, 5), (100, auto, 5)] + (
        [] if args.quick else [(1000, auto, 3), (10_000, auto, 3), (10_000, 100, 1), (10_000, 1000, 1)]
    )
    rows = [one(n, c, r) for n, c, r in sizes]
    motor_rows = [motor(n) for n in ([100] if args.quick else [100, 1000])]
    base = rows[0]["steady_s"]
    for r in rows:
        r["time_vs_1_patient"] = round(r["steady_s"] / base, 1)
    meta = {
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "date": time.strftime("%Y-%m-%d"),
    }
    lines = [
        "| patients | chunk | end to end (s) | steady (s) | patients/s steady | time vs 1 patient |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['patients']:,} | {r['chunk']:,} | {r['end_to_end_s']:.2f} | {r['steady_s']:.3f} | "
        f"{r['patients_per_s_steady']:,.0f} | {r['time_vs_1_patient']}x |"
        for r in rows
    ]
    lines += [
        "",
        "motor, 12 weeks (Motor(): 2 x 200 cells, 200 daily-life reaches a day; therapy 10 x 100 reps)",
        "",
        "| patients | end to end (s) | steady (s) | patients/s steady |",
        "|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['patients']:,} | {r['end_to_end_s']:.1f} | {r['steady_s']:.1f} | "
        f"{r['patients_per_s_steady']:,.1f} |"
        for r in motor_rows
    ]
    table = "\n".join(lines)
    OUT.mkdir(exist_ok=True)
    (OUT / "bench.json").write_text(
        json.dumps({"meta": meta, "pathway": rows, "motor": motor_rows}, indent=2)
    )
    (OUT / "bench.md").write_text(f"{table}\n\n{json.dumps(meta)}\n")
    print(table)
    print(meta)


if __name__ == "__main__":
    main()
