"""The reference fit against the shipped estimator, on held-out synthetic patients.

    python bench/reference.py                 # motor and fear, 20 patients each (about 10 minutes)
    python bench/reference.py --models fear --patients 50

For each model with a fit: patients drawn from the prior with seed 2026 (never seen in
training), their window recorded in the "clinic" pattern, fitted by the estimator (4,000 draws)
and by NUTS on the reduced likelihood (4 chains x 1,000 draws after 500 of warm-up). Prints one
JSON line per model: NUTS seconds a patient (median, compiled after the first), the worst split
R-hat and smallest bulk ESS over patients and parameters, divergent transitions, and per
parameter the median and largest `shift` (distance between the two posteriors' medians in
widths of the estimator's 90 % interval) and the range of `width` (the reference's interval
over the estimator's); also how often each one's 90 % interval holds the truth.
"""

from __future__ import annotations

import argparse
import json


def run(model: str, patients: int) -> dict:
    import jax
    import numpy as np

    from neurorehab.fitting import reference as R
    from neurorehab.models import registry
    from neurorehab.runners.estimator import load_emulator, load_estimator
    from neurorehab.runners.fit_sims import fit_spec, grid_of, simulate_prior
    from neurorehab.runners.validation import records

    info = registry.get(model)
    fit = fit_spec(info)
    grid = grid_of(fit)
    est, emu = load_estimator(info), load_emulator(info)
    cohort = simulate_prior(info, patients, seed=2026, plan=None, until=fit.window_days, days=list(grid.days))
    recs = records(info, jax.random.key(7), cohort.clean, cohort.days, "clinic")
    post = np.asarray(est.sample(jax.random.key(1), recs, 4000))
    seconds, rhat, ess, div, shift, width, hold_npe, hold_ref = [], [], [], 0, [], [], [], []
    for i in range(patients):
        ref = R.sample(emu, fit.prior, recs[i], key=jax.random.key(i))
        a = R.agreement(est.names, post[i], ref.flat)
        seconds.append(ref.seconds)
        rhat.append(ref.rhat.max())
        ess.append(ref.ess.min())
        div += ref.divergences
        shift.append(a.shift)
        width.append(a.width)
        for draws, hold in ((post[i], hold_npe), (ref.flat, hold_ref)):
            lo, hi = np.quantile(draws, [0.05, 0.95], axis=0)
            hold.append((lo <= cohort.theta[i]) & (cohort.theta[i] <= hi))
    shift_a, width_a = np.array(shift), np.array(width)
    return {
        "model": model,
        "patients": patients,
        "nuts_s_median": float(np.median(seconds[1:] or seconds)),
        "nuts_s_first": float(seconds[0]),
        "rhat_max": float(np.max(rhat)),
        "ess_min": float(np.min(ess)),
        "divergences": int(div),
        "draws": int(patients * 4000),
        "shift_median": dict(zip(est.names, np.median(shift_a, 0).round(3).tolist(), strict=True)),
        "shift_max": dict(zip(est.names, shift_a.max(0).round(3).tolist(), strict=True)),
        "width_min": dict(zip(est.names, width_a.min(0).round(3).tolist(), strict=True)),
        "width_max": dict(zip(est.names, width_a.max(0).round(3).tolist(), strict=True)),
        "truth_in_90_estimator": float(np.mean(hold_npe)),
        "truth_in_90_reference": float(np.mean(hold_ref)),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="motor,fear")
    p.add_argument("--patients", type=int, default=20)
    args = p.parse_args()
    for m in args.models.split(","):
        print(json.dumps(run(m, args.patients)), flush=True)


if __name__ == "__main__":
    main()
