"""`ptsd-exposure-vs-cpt-trial` at 1,000 patients: the whole run, end to end, in this process.

    python bench/fear.py                 # 1,000 patients (the issue's bar: under 2 minutes on 2 cores)
    python bench/fear.py --patients 200 --json

Times `run_scenario` (compile, simulate both arms over 630 days, merge, the trial analysis) on
the bundled scenario with its patient count replaced, into a fresh folder, and reports the
patients a second and the process's peak resident memory. Per-patient state: the latent-cause
view holds 8 causes x (2 weights + 1 count + 5 feature sums + 6 kernel masses + 1 replay mass)
+ 8 slow variables = 128 floats (512 bytes).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")
ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--patients", type=int, default=1000)
    p.add_argument("--json", action="store_true")
    cfg = p.parse_args()

    import yaml

    from neurorehab.config import parse_scenario
    from neurorehab.runners import run_scenario

    data = yaml.safe_load((ROOT / "scenarios" / "ptsd-exposure-vs-cpt-trial.yaml").read_text())
    data["patients"]["count"] = cfg.patients
    scenario = parse_scenario(data)
    out = Path(tempfile.mkdtemp(prefix="nr-fear-")) / "run"
    t = time.perf_counter()
    manifest = run_scenario(scenario, out)
    wall = time.perf_counter() - t
    trial = json.loads((out / "trial.json").read_text())
    result = {
        "patients": cfg.patients,
        "arms": len(manifest["arms"]),
        "wall_s": round(wall, 1),
        "patient_arms_per_s": round(cfg.patients * len(manifest["arms"]) / wall, 1),
        "timings": manifest["timings"],
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "enrolled": trial["consort"]["enrolled"],
        "primary": {arm: c.get("ancova", {}) for arm, c in trial["comparisons"].items()},
    }
    if cfg.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        print(
            f"ptsd-exposure-vs-cpt-trial, {cfg.patients} patients x {result['arms']} arms: "
            f"{result['wall_s']} s "
            f"({result['patient_arms_per_s']} patient-arms/s), peak RSS {result['peak_rss_mib']} MiB"
        )


if __name__ == "__main__":
    main()
