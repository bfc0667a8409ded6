"""Benchmark: scaling out (issue 21). Weak scaling on a local Dask cluster, and a
100,000-patient randomised trial end to end with bounded memory.

- Weak scaling: the same work per worker (`--per-worker` patients x 2 arms of `pathway`, 70
  days, shards of 250 patients) on a local Dask cluster of 1 and then 2 workers, each worker one
  thread (XLA's intra-op threads pinned to one, so a worker is one core's worth: otherwise one
  worker already uses both cores and the figure measures contention, not scaling).
  Efficiency = T(1 worker, n) / T(w workers, w n): 1.0 is perfect weak scaling.
- The trial: `pathway` with a randomised-trial section (block allocation, drop-out), 100,000
  patients x 2 arms, run in one process with results streamed shard by shard to Parquet; wall
  time and peak resident memory (the driver), which must stay flat with the cohort.

Each run is a fresh process, end to end (start, import, compile, simulate, write, analyse).
Writes bench/results/scale.json.

    python bench/scale.py                    # about 10 minutes on 2 cores
    python bench/scale.py --patients 20000   # a smaller trial
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys

from executors import OUT, pathway, run

ONE_THREAD = {"XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"}


def trial(n: int) -> dict:
    """`pathway`'s practice-against-rest comparison as a randomised virtual trial of `n`."""
    scenario = pathway(n, chunk=2000)
    scenario["name"] = "bench-pathway-trial"
    scenario["trial"] = {
        "control": "rest",
        "primary": {"measure": "d_function", "baseline_day": 7, "followup_day": 70},
        "allocation": {"scheme": "block", "block_size": 4},
        "dropout_per_week": 0.005,
    }
    return scenario


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-worker", type=int, default=4000, help="patients a worker (weak scaling)")
    ap.add_argument("--patients", type=int, default=100_000, help="patients in the trial")
    a = ap.parse_args()
    weak = []
    for workers in (1, 2):
        scenario = pathway(a.per_worker * workers, chunk=250)
        r = run(scenario, "dask", workers, env=ONE_THREAD)
        r.update(workers=workers, patients=a.per_worker * workers)
        weak.append(r)
        print(
            f"dask, {workers} worker(s) of one thread, {r['patients']} patients x 2 arms: "
            f"{r['wall_s']:.1f} s end to end (shards {r['timings']['shards_s']:.1f} s), "
            f"efficiency {weak[0]['wall_s'] / r['wall_s']:.2f} (shards "
            f"{weak[0]['timings']['shards_s'] / r['timings']['shards_s']:.2f})",
            flush=True,
        )
    big = run(trial(a.patients), "local")
    print(
        f"trial, {a.patients} patients x 2 arms, 70 days, streamed by shard: {big['wall_s']:.0f} s end to "
        f"end (shards {big['timings']['shards_s']:.0f} s), peak {big['peak_rss_mib']:.0f} MiB",
        flush=True,
    )
    OUT.mkdir(exist_ok=True)
    meta = {"machine": platform.platform(), "cpus": os.cpu_count(), "python": sys.version.split()[0]}
    (OUT / "scale.json").write_text(json.dumps({"meta": meta, "weak": weak, "trial": big}, indent=1))


if __name__ == "__main__":
    main()
