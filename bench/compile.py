"""Compile time and compiled run of every registered model, with the engine's XLA options and
with XLA's defaults, side by side (core/compiling.py).

``python bench/compile.py [--models motor,fear] [--patients 128] [--rounds 2]`` runs, for each
model, a fresh process per option set, alternating (engine's options, XLA's defaults, ...):
128 patients x 42 days (practice on 5 days a week from day 2, the model's first event on day
1, assessments every 14 days) through ``simulate`` with one thread a core, and prints one JSON
line per run: the first call (compilation, mostly) and a second, compiled call, in seconds, and
the largest difference between the two option sets' scores (0: the same bit for bit).
"""

from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def one(model_name: str, patients: int, xla_defaults: bool, out: str) -> dict:
    import jax
    import numpy as np

    from neurorehab.core import engine
    from neurorehab.models import default_params, models
    from neurorehab.models.protocol import Block, compile_calendar
    from neurorehab.runners.hosts import cores

    if xla_defaults:
        engine._compiler_options = lambda: None  # XLA's own options (LLVM at level 2)
    info = models()[model_name]
    event = next(iter(info.events), None)
    cal = compile_calendar(
        [Block("task-practice", 2, 40, 5, 30)],
        duration_days=42,
        assess_days=[0, 14, 28, 42],
        info=info,
        event_days=[1] if event else [],
    )
    events = (info.events[event](),) if event else ()
    params = default_params(info, patients)
    keys = jax.random.split(jax.random.key(7), patients)
    model, threads = info.example(), cores()
    t = time.perf_counter()
    measures, _ = engine.simulate(model, params, cal, keys, events=events, threads=threads)
    first = time.perf_counter() - t
    t = time.perf_counter()
    engine.simulate(model, params, cal, keys, events=events, threads=threads)
    second = time.perf_counter() - t
    Path(out).write_bytes(pickle.dumps({k: np.asarray(v) for k, v in measures.items()}))
    return {"model": model_name, "xla_defaults": xla_defaults, "first_s": first, "compiled_s": second}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="", help="comma-separated; default: every registered model")
    p.add_argument("--patients", type=int, default=128)
    p.add_argument("--rounds", type=int, default=1, help="pairs of runs per model")
    p.add_argument("--one", nargs=3, metavar=("MODEL", "XLA_DEFAULTS", "OUT"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        name, defaults, out = args.one
        print(json.dumps(one(name, args.patients, defaults == "1", out)))
        return
    import numpy as np

    from neurorehab.models import models

    names = [m for m in args.models.split(",") if m] or sorted(models())
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            for r in range(args.rounds):
                scores, rows = {}, []
                for defaults in ("0", "1") if r % 2 == 0 else ("1", "0"):  # each goes first in turn
                    out = f"{tmp}/{name}-{defaults}.pkl"
                    cmd = [sys.executable, __file__, "--patients", str(args.patients), "--one", name]
                    done = subprocess.run([*cmd, defaults, out], check=True, capture_output=True)
                    rows.append(json.loads(done.stdout.decode().splitlines()[-1]))
                    scores[defaults] = pickle.loads(Path(out).read_bytes())
                a, b = scores["0"], scores["1"]
                gaps = [np.abs(a[k].astype(float) - b[k].astype(float)) for k in a]
                largest = max(float(np.nanmax(g, initial=0.0)) for g in gaps)
                for row in rows:
                    print(json.dumps({**row, "round": r, "largest_difference": largest}), flush=True)


if __name__ == "__main__":
    main()
