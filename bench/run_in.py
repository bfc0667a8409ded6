"""Shared stretches of arms, simulated once a shard against once an arm: the same scenario both
ways in one process, side by side, with the results checked equal bit for bit.

    python bench/run_in.py                                  # the demo (a virtual EXCITE, 128 patients)
    python bench/run_in.py scenarios/stroke-excite.yaml --patients 256 --repeats 2 --json

A trial's arms are alike until their protocols part (EXCITE: 180 days after the stroke, then a
year; nerve-reeducation-trial: usual care and late re-education alike for 90 days, early
re-education from day 7): `CompiledScenario.branches` runs each shared stretch once a shard
and an arm goes on from the carry of the earlier arm it follows longest. Each repeat runs
the scenario whole-per-arm and shared, in alternating order
(so neither always pays the process's warm-up); reported: the median times and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")
ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "src" / "neurorehab" / "scenarios" / "demo.yaml"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("scenario", nargs="?", default=str(DEMO))
    p.add_argument("--patients", type=int, default=None, help="replace the scenario's patient count")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--json", action="store_true")
    cfg = p.parse_args()

    import pyarrow.parquet as pq
    import yaml

    from neurorehab.config import compile_scenario, parse_scenario
    from neurorehab.config.compile import CompiledScenario
    from neurorehab.runners import run_scenario

    data = yaml.safe_load(Path(cfg.scenario).read_text())
    if cfg.patients is not None:
        data["patients"]["count"] = cfg.patients
    scenario = parse_scenario(data)
    c = compile_scenario(scenario)
    branches = c.branches
    sharing = CompiledScenario.__dict__["branches"]
    apart = property(lambda self: tuple((-1, 0) for _ in self.arms))
    times: dict[str, list[float]] = {"whole": [], "shared": []}
    tables = {}
    for r in range(cfg.repeats):
        for mode in ("whole", "shared") if r % 2 == 0 else ("shared", "whole"):
            CompiledScenario.branches = sharing if mode == "shared" else apart  # type: ignore[assignment,method-assign]
            out = Path(tempfile.mkdtemp(prefix=f"nr-runin-{mode}-")) / "run"
            t = time.perf_counter()
            run_scenario(scenario, out)
            times[mode].append(time.perf_counter() - t)
            tables[mode] = (
                pq.read_table(out / "results.parquet")
                .to_pandas()
                .sort_values(["arm", "patient", "day", "minute", "measure"])
                .reset_index(drop=True)
            )
    CompiledScenario.branches = sharing  # type: ignore[method-assign]
    same = tables["whole"].equals(tables["shared"])
    whole, shared = (statistics.median(times[m]) for m in ("whole", "shared"))
    result = {
        "scenario": scenario.name,
        "patients": scenario.patients.count,
        "arms": len(scenario.arms),
        "branches": [list(b) for b in branches],
        "slots": [int(a.calendar.day.shape[0]) for a in c.arms],
        "whole_s": round(whole, 1),
        "shared_s": round(shared, 1),
        "ratio_whole_over_shared": round(whole / shared, 2),
        "identical_results": bool(same),
        "repeats": cfg.repeats,
    }
    if cfg.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>24}: {v}")
    if not same:
        raise SystemExit("the shared run-in changed the results")


if __name__ == "__main__":
    main()
