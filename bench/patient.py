"""One patient at work: the time of a fit plus forecasts of 4 plans (bar: under 30 s on 2 cores),
the shipped estimator's training time and size (bar: under 30 minutes), and the validation on
held-out synthetic patients (calibration, forecast coverage, error against the baselines),
with and without a documented misspecification of the truth.

    python bench/patient.py                      # motor: timing and validation (about 15 minutes)
    python bench/patient.py --timing             # the timing only
    python bench/patient.py --model fear --plans waiting-list,prolonged-exposure,cognitive-processing-therapy

Timing runs each case in a fresh process, as a user's command would ("cold": compilation
included, an empty compilation cache), then again in that process ("warm"), then in a second
fresh process that finds the compilation cache the first filled (a user's next command).
Validation: 200 patients drawn from the prior with seed 2026 (100 of them forecast), records
in the "clinic" pattern (the primary instrument at the middle and end of the window;
`--patterns clinic,random` adds the training's own pattern); the misspecified truth is
`--depart` (default, for motor: spontaneous recovery twice as slow, recovery_tau_days 60 where
the fit assumes 30; give '{}' or another model's parameters for other models).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

CHILD = """
import json, sys, time
t0 = time.perf_counter()
from neurorehab.cli.common import compilation_cache
from neurorehab.io.history import Assessment, History
from neurorehab.models import registry
compilation_cache()
from neurorehab.runners.patient import fit_history, forecast
info = registry.get(sys.argv[1]); plans = sys.argv[2].split(",")
fit = info.fit; ins = fit.instruments[fit.primary]
mid = (ins.low + ins.high) / 2
days = [d for d in range(0, fit.window_days + 1, fit.grid_step)][-3:]
h = History("bench", None, tuple(Assessment(fit.primary, float(d), mid, "bench") for d in days))
out = {}
for rep in ("cold", "warm"):
    t = time.perf_counter()
    post = fit_history(info, h)
    fc = forecast(info, post, plans)
    out[rep] = time.perf_counter() - t
    out[rep + "_fit"] = post.seconds
out["import_s"] = t0
print(json.dumps(out))
"""


def timing(model: str, plans: str) -> dict[str, float]:
    """A fresh process with an empty compilation cache (cold, then warm), then a second fresh
    process that finds the cache filled (as a user's second command does)."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "XDG_CACHE_HOME": cache}
        runs = [
            subprocess.run(
                [sys.executable, "-c", CHILD, model, plans],
                capture_output=True,
                text=True,
                check=True,
                env=env,
            )
            for _ in range(2)
        ]
    first, second = (json.loads(r.stdout.strip().splitlines()[-1]) for r in runs)
    return {**first, "cached": second["cold"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="motor")
    ap.add_argument("--plans", default="usual-care,high-dose-practice,cimt,no-therapy")
    ap.add_argument("--timing", action="store_true", help="the timing only")
    ap.add_argument("--patients", type=int, default=200, help="held-out patients (calibration)")
    ap.add_argument("--forecast-patients", type=int, default=100, help="of them, forecast (19 draws each)")
    ap.add_argument("--patterns", default="clinic", help="record patterns: clinic, random")
    ap.add_argument(
        "--depart", default='{"recovery_tau_days": 60}', help="JSON: the misspecified truth ('{}': none)"
    )
    a = ap.parse_args()
    t = timing(a.model, a.plans)
    n_plans = len(a.plans.split(","))
    print(
        f"{a.model}: fit + {n_plans} plans: cold {t['cold']:.1f} s (fit {t['cold_fit']:.1f} s), "
        f"warm {t['warm']:.1f} s (fit {t['warm_fit']:.2f} s); a second process with the compilation cache "
        f"{t['cached']:.1f} s"
    )
    from neurorehab.models import registry
    from neurorehab.runners.estimator import estimator_folder, load_estimator
    from neurorehab.runners.validation import validate

    info = registry.get(a.model)
    est = load_estimator(info)
    m = est.meta
    size = sum(p.stat().st_size for p in estimator_folder(info).iterdir()) / 2**20
    print(
        f"estimator: {m['simulations']} simulations in {m['simulate_s']} s, {m['epochs']} epochs in "
        f"{m['train_s']} s, reference cohort in {m['reference_s']} s; {size:.1f} MiB"
    )
    if a.timing:
        return
    depart = json.loads(a.depart)
    for pattern, dep in [("clinic", {}), ("random", {})] + ([("clinic", depart)] if depart else []):
        t0 = time.perf_counter()
        v = validate(
            info, est, patients=a.patients, forecast_patients=a.forecast_patients, pattern=pattern, depart=dep
        )
        print("\n".join(v.lines()) + f"\n  ({time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
