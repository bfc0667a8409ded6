"""The MS conduction models side by side: the cable model (`models/ms/cable.py`) over a grid of
myelin, temperature and axon diameter, the reduced model's error against it, and the speed of
each per axon.

    python bench/ms_conduction.py            # errors and speed (a few minutes)
    python bench/ms_conduction.py --fit      # refit the reduced model's coefficients

The grid: myelin 0.005-1 (14 values, log-spaced), 33-41 degrees C (5), axon diameter
1-8 um (4).
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np

from neurorehab.models.ms import cable, conduction

MYELIN = np.geomspace(0.005, 1.0, 14)
TEMPS = np.array([33.0, 35.0, 37.0, 39.0, 41.0])
DIAMS = np.array([1.0, 2.0, 4.0, 8.0])


def grid() -> dict[str, np.ndarray]:
    """Every grid point's cable measures (velocity nan where blocked)."""
    m, t, d = (a.ravel() for a in np.meshgrid(MYELIN, TEMPS, DIAMS, indexing="ij"))
    ax = cable.Axon()
    vel = jax.jit(jax.vmap(lambda a, b, c: cable.velocity(ax, a, b, c)[1]))
    sf = jax.jit(jax.vmap(lambda a, b, c: cable.safety_factor(ax, a, b, c)))
    rp = jax.jit(jax.vmap(lambda a, b, c: cable.refractory_period(ax, a, b, c)))
    args = (jnp.asarray(m), jnp.asarray(t), jnp.asarray(d))
    return {"myelin": m, "temp": t, "diameter": d, "velocity": np.asarray(vel(*args)),
            "safety": np.asarray(sf(*args)), "refractory": np.asarray(rp(*args))}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fit", action="store_true", help="print refitted coefficients")
    ap.add_argument("--save", help="write the grid to this .npz")
    a = ap.parse_args()
    t0 = time.perf_counter()
    g = grid()
    cable_s = time.perf_counter() - t0
    if a.save:
        np.savez(a.save, **g)
    if a.fit:
        print(json.dumps(conduction.fit(g), indent=1))
        return
    print(json.dumps(conduction.errors(g), indent=1))
    n = len(g["myelin"])
    runs = n * (1 + 9 + 9)  # velocity, 9 bisection runs each for the safety factor and refractory period
    f = jax.jit(lambda m, t, d: conduction.reduced(m, t, d))
    big = 1_000_000
    args = [jnp.asarray(np.resize(g[k], big)) for k in ("myelin", "temp", "diameter")]
    jax.block_until_ready(f(*args))
    t0 = time.perf_counter()
    jax.block_until_ready(f(*args))
    red_s = (time.perf_counter() - t0) / big
    per_axon_cable = cable_s / n
    per_run = cable_s / runs
    print(f"cable: {n} axons in {cable_s:.1f} s ({runs} simulations of 8-18 ms of axon time); "
          f"reduced: {red_s * 1e9:.1f} ns per axon (all measures)")  # fmt: skip
    ratio_all, ratio_one = per_axon_cable / red_s, per_run / red_s
    print(f"per axon, all measures: cable {per_axon_cable * 1e3:.1f} ms, ratio {ratio_all:,.0f}x")
    print(f"one cable simulation (velocity and block alone): {per_run * 1e3:.1f} ms, ratio {ratio_one:,.0f}x")


if __name__ == "__main__":
    main()
