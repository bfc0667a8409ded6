"""Per-patient failure codes: a patient whose numbers blow up is marked, the batch goes on."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

OK = 0
NONFINITE = 1
DIVERGED = 2

DESCRIPTIONS = {
    OK: "ok",
    NONFINITE: "a state variable became NaN or infinite",
    DIVERGED: "a measure exceeded the divergence bound (|value| > 1e6)",
}

DIVERGENCE_BOUND = 1e6


def failure_code(measures: dict[str, Array], final_state: object) -> Array:
    """Code for one patient from its measure series and final state (no Python branching).

    A non-finite floating state variable means the numbers blew up (NONFINITE); a measure may
    be NaN by design when undefined (a survival share before its census), so measures are only
    checked against the divergence bound where finite.
    """
    leaves = [
        x
        for x in jax.tree_util.tree_leaves(final_state)
        if jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating)
    ]
    finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves])) if leaves else True
    bounded = jnp.all(jnp.stack([jnp.all(~(jnp.abs(m) > DIVERGENCE_BOUND)) for m in measures.values()]))
    return jnp.where(finite, jnp.where(bounded, OK, DIVERGED), NONFINITE).astype(jnp.int32)


def after_run_in(codes: np.ndarray, run_in: dict[str, np.ndarray]) -> np.ndarray:
    """Codes of whole runs from those of runs resumed after a run-in (`simulate(resume=...)`)
    and the run-in's measures [patients, slots]: the code `failure_code` gives the whole run
    (its final state is the resumed run's; a measure past the bound in the run-in counts)."""
    within = np.ones(codes.shape, bool)
    for m in run_in.values():
        within &= ~(np.abs(m) > DIVERGENCE_BOUND).reshape(len(codes), -1).any(axis=1)
    return np.where((codes == OK) & ~within, DIVERGED, codes).astype(codes.dtype)
