"""Reverse-mode gradient of one `motor` patient over 12 weeks: cost against its forward run.

    python bench/gradient.py            # default Motor(): 200 cells a cortex, 200 daily reaches
    python bench/gradient.py --json     # the figures as JSON

The patient and calendar are bench/cohort.py's motor set-up (a focal lesion on day 1, two
weeks of task practice from day 14, 5 sessions of 100 repetitions a week, weekly assessments
to day 84). Forward: the jitted `simulate_one` and the FM-UE-like score at day 84; gradient:
`jax.grad` of that score with respect to every model parameter at once. Both run in this
process, side by side, after compilation (median of repeats); memory is XLA's own account of
each compiled program (arguments, outputs and temporaries) and the process's peak resident set.
Bar (issue 13): the gradient costs at most 5x the forward run and under 1 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", action="store_true")
    cfg = p.parse_args()

    import jax
    from cohort import setup

    from neurorehab.core.engine import simulate_one

    model, events, cal, rows, keys = setup("motor", 1)  # bench/cohort.py's patient and calendar
    params = jax.tree_util.tree_map(lambda x: x[0], rows)
    key = keys[0]

    def score(p):
        measures = simulate_one(
            model, p, cal, key, events=events, max_trials=cal.max_trials, max_days=cal.max_days
        )[0]
        return measures["fm_ue_like"][-1]

    forward = jax.jit(score)
    backward = jax.jit(jax.grad(score))

    def timed(fn):
        t = time.perf_counter()
        jax.block_until_ready(fn(params))
        first = time.perf_counter() - t
        runs = []
        for _ in range(cfg.repeats):
            t = time.perf_counter()
            jax.block_until_ready(fn(params))
            runs.append(time.perf_counter() - t)
        return first, statistics.median(runs)

    def memory(fn):
        m = fn.lower(params).compile().memory_analysis()
        if m is None:
            return None
        return int(m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes)

    f_first, f_steady = timed(forward)
    g_first, g_steady = timed(backward)
    grads = backward(params)
    out = {
        "patient": "motor, 200 cells a cortex, 200 daily reaches, 84 days, 10 sessions of 100",
        "forward_s": round(f_steady, 3),
        "gradient_s": round(g_steady, 3),
        "ratio": round(g_steady / f_steady, 2),
        "forward_first_call_s": round(f_first, 2),
        "gradient_first_call_s": round(g_first, 2),
        "forward_bytes": memory(forward),
        "gradient_bytes": memory(backward),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "d_fm_d_alpha_use": float(grads["alpha_use"]),
        "bars": {"ratio <= 5": g_steady / f_steady <= 5.0},
    }
    gb = out["gradient_bytes"]
    out["bars"]["gradient memory < 1 GiB"] = gb is not None and gb < 2**30
    if cfg.json:
        json.dump(out, sys.stdout, indent=2)
        print()
        return
    fb = out["forward_bytes"] or 0
    print(f"forward   {f_steady:8.3f} s  (first call {f_first:.1f} s)  XLA {fb / 2**20:.1f} MiB")
    print(f"gradient  {g_steady:8.3f} s  (first call {g_first:.1f} s)  XLA {gb / 2**20:.1f} MiB")
    print(f"ratio     {out['ratio']:8.2f} x   (bar: <= 5)   peak RSS {out['peak_rss_mib']:.0f} MiB")
    print(f"dFM/d alpha_use = {out['d_fm_d_alpha_use']:.1f} points per unit")


if __name__ == "__main__":
    main()
