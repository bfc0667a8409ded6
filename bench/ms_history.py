"""`ms-natural-history` at scale: 1,000 patients over ten years on this machine (bar: under
2 minutes on 2 cores), with the memory a patient's state takes.

    python bench/ms_history.py [--patients 1000] [--axons 64]

Runs the scenario's patients through the engine directly (one compilation, chunks of the
engine's lane width), the way the local executor does, and reports the time with and without
compilation.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import numpy as np

from neurorehab.config import compile_scenario, load_scenario
from neurorehab.core import simulate
from neurorehab.core.engine import state_bytes
from neurorehab.models.ms import Ms

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--patients", type=int, default=1000)
    ap.add_argument("--axons", type=int, default=64)
    a = ap.parse_args()
    comp = compile_scenario(load_scenario(ROOT / "scenarios/ms-natural-history.yaml"))
    ids = np.arange(a.patients)
    params, keys = comp.sample_params(ids), comp.sim_keys(ids)
    arm = comp.arms[0]
    model = Ms(axons=a.axons)
    t0 = time.perf_counter()
    m, codes = simulate(model, params, arm.calendar, keys)
    jax.block_until_ready(m)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    m, codes = simulate(model, params, arm.calendar, keys)
    jax.block_until_ready(m)
    again = time.perf_counter() - t0
    nbytes = state_bytes(model, params)
    kept = np.asarray(arm.assess)
    edss = np.asarray(m["edss_like"])[:, kept]
    failed = int((np.asarray(codes) != 0).sum())
    slots = arm.calendar.day.shape[0]
    print(f"{a.patients} patients x {slots} slots over 10 years ({a.axons} axons a pathway): "
          f"{first:.1f} s with compilation, {again:.1f} s without; {failed} failed")  # fmt: skip
    rate = np.asarray(m["relapses"])[:, kept][:, -1].mean() / 10
    print(f"state {nbytes / 1024:.1f} KiB a patient; EDSS-like median {np.median(edss[:, 0]):.1f} -> "
          f"{np.median(edss[:, -1]):.1f}; relapses a year {rate:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
