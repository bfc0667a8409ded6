"""`somatosensory` at work: the map's learning as matrix products against this machine's float32
matrix throughput (bar: at least 30 %), and `nerve-reeducation-trial` with 200 patients over
12 months (bar: under 5 minutes on 2 cores), with the memory a patient's state takes, and the
trial's outcomes (each arm against usual care, and the true effects the simulator knows).

    python bench/somatosensory.py              # both (about 8 minutes)
    python bench/somatosensory.py --processes  # and the trial again on two local processes
    python bench/somatosensory.py --learning   # the learning step alone

The learning step is one development batch (128 touches) for a lane of patients (the
engine's lane width), vmapped as the engine runs it: skin to afferents, afferents to cortex
(touches x afferents x units), divisive normalisation and lateral spread (two separable
products each), and Kohonen's update (units x touches x afferents). FLOPs are XLA's own count
of the compiled step (`cost_analysis`); the machine's throughput is the best of a 2048^3
float32 matrix product.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp
from cohort import best, matmul_gflops  # bench/ is the script's folder, on sys.path

from neurorehab.core.engine import lanes, state_bytes
from neurorehab.models import default_params
from neurorehab.models.somatosensory import INFO, Somatosensory
from neurorehab.models.somatosensory.skin import SKIN

ROOT = Path(__file__).resolve().parents[1]


def learning_gflops() -> tuple[float, float, int]:
    model = Somatosensory()
    params = default_params(INFO, None)
    width = lanes(model, default_params(INFO, 1))
    state = model.init(params, jax.random.key(0))
    st = state.structural
    batch = 128

    def step(w, key, p):
        centres, points = model.touch(key, batch, jnp.asarray(SKIN.usage))
        a = model.fire(p, st, centres, jnp.zeros(()), points)
        r = model.respond(p, w, jnp.ones(model.n_units), a, p["lateral_sd"], st["ref"])
        return model.learn(w, r, a, 0.1, st["mask"], p["latent"])

    lane = jax.jit(jax.vmap(step, in_axes=(0, 0, None)))
    w = jnp.broadcast_to(state.plastic["w"], (width, *state.plastic["w"].shape))
    keys = jax.random.split(jax.random.key(1), width)
    flops = lane.lower(w, keys, params).compile().cost_analysis()
    flops = flops[0] if isinstance(flops, list) else flops
    seconds = best(lane, w, keys, params, repeats=7)
    return float(flops["flops"]) / seconds / 1e9, seconds, width


def trial_seconds(patients: int, extra: tuple[str, ...] = ()) -> tuple[float, dict]:
    text = (
        (ROOT / "scenarios/nerve-reeducation-trial.yaml")
        .read_text()
        .replace("count: 200", f"count: {patients}")
    )
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(tmp) / "trial.yaml"
        scenario.write_text(text)
        t = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "neurorehab.cli", "run", str(scenario), "--out", f"{tmp}/run", *extra],
            check=False,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise SystemExit(f"neurorehab run failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        seconds = time.perf_counter() - t
        return seconds, json.loads((Path(tmp) / "run" / "trial.json").read_text())


def effects(trial: dict) -> None:
    """The trial's outcomes: each arm against usual care (ANCOVA on baseline, and the true
    effect the simulator knows), and early plus late against late alone (true effects)."""
    rows = [(trial["primary_measure"], trial["comparisons"])]
    rows += [(s["measure"], s["comparisons"]) for s in trial.get("secondary", [])]
    for measure, comparisons in rows:
        # the primary's true effect is {"mean", "note"}, a secondary's a plain number
        trues = {a: c["true_effect"] for a, c in comparisons.items()}
        trues = {a: t["mean"] if isinstance(t, dict) else t for a, t in trues.items()}
        for arm, c in comparisons.items():
            fit = c["ancova"]
            print(
                f"  {measure}, {arm} - {trial['control']}: {fit['effect']:+.2f} "
                f"[{fit['ci_low']:+.2f}, {fit['ci_high']:+.2f}], p {fit['p']:.3f}; "
                f"true effect {trues[arm]:+.2f}"
            )
        if {"late", "early-and-late"} <= trues.keys():
            both = trues["early-and-late"] - trues["late"]
            print(f"  {measure}, early-and-late - late: true effect {both:+.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--learning", action="store_true", help="the learning step only")
    ap.add_argument("--patients", type=int, default=200)
    ap.add_argument(
        "--processes", action="store_true", help="also run the trial on two local processes, side by side"
    )
    a = ap.parse_args()
    peak = matmul_gflops()
    rate, seconds, width = learning_gflops()
    print(
        f"machine float32 matmul: {peak:.0f} GFLOP/s; map learning (a lane of {width} patients, 128 "
        f"touches each): {rate:.0f} GFLOP/s in {seconds * 1e3:.1f} ms, "
        f"{100 * rate / peak:.0f} % of the machine"
    )
    model = Somatosensory()
    nbytes = state_bytes(model, default_params(INFO, None))
    print(f"state: {nbytes / 2**20:.2f} MiB a patient")
    if not a.learning:
        t, trial = trial_seconds(a.patients)
        print(
            f"nerve-reeducation-trial, {a.patients} patients x 3 arms x 12 months (neurorehab run): {t:.0f} s"
        )
        effects(trial)
        if a.processes:
            t, _ = trial_seconds(a.patients, ("--executor", "processes", "--workers", "2"))
            print(f"the same on two processes (--executor processes --workers 2): {t:.0f} s")


if __name__ == "__main__":
    main()
