"""`pathway`: a lost relay and the surviving pathway that takes over (seed 000, Figure 2).

Source: seed 000 (Awasthi & Mantri, "Neuroplasticity: how lost skills can be regained after
injury or illness", Figure 2): output neuron D is driven mainly through neuron B; when an
injury disables B, D loses its input, and use-dependent strengthening of the surviving A->D
connection restores D's function. Mechanisms: soft-bounded Hebbian growth during practice
(van Rossum, Bi & Turrigiano 2000) and disuse-driven decay between sessions ("use it or lose
it"; Han, Arbib & Schweighofer 2008).

Structure: three relay groups A, B, C of `n_cells` rate units each feed one sigmoid output D.
Task 0 (the task that needs D) drives A and B; task 1 drives C. Healthy weights make B the
main route (w_B >> w_A). D's response to task 0 is its function; practice of task 0 after the
loss of B raises y_D only slowly at first (little postsynaptic activity), then faster as A->D
grows: a sigmoidal recovery. Without practice nothing drives A->D, and it fades.
Daily life uses task 0 `daily_use` times a day, scaled by how well D responds: that use
protects the synapses it co-activates from decay (it adds to their use trace) but drives no
Hebbian growth, so only practice rebuilds A->D, while a recovered D keeps itself in use.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
from jax import Array

from neurorehab.core.model import Model
from neurorehab.core.plasticity import hebbian_bounded, use_decay
from neurorehab.core.spec import Measure, Param
from neurorehab.core.types import Context, Modulation, State, Stimulus

_ILL = "illustrative (seed 000 gives no numbers); chosen so that the healthy D responds near 1"

PARAMS: dict[str, Param] = {
    "learning_rate": Param(
        0.01,
        "1/trial",
        "illustrative; sets weeks-scale recovery at 100 repetitions a session",
        "Hebbian rate eta",
        0.0,
        1.0,
    ),
    "w_max": Param(1.0, "dimensionless", "normalisation", "soft upper bound of a weight", 0.01, 10.0),
    "w_a0": Param(0.2, "dimensionless", _ILL, "healthy A->D weight (minor route)", 0.0, 10.0),
    "w_b0": Param(0.8, "dimensionless", _ILL, "healthy B->D weight (main route)", 0.0, 10.0),
    "w_c0": Param(0.2, "dimensionless", _ILL, "healthy C->D weight (other task)", 0.0, 10.0),
    "gain": Param(8.0, "1/input", _ILL, "slope of D's sigmoid", 0.1, 100.0),
    "threshold": Param(0.5, "input", _ILL, "input at which D responds at half maximum", 0.0, 10.0),
    "noise": Param(
        0.1,
        "activity SD",
        "illustrative trial-to-trial variability",
        "SD of relay activity noise per trial",
        0.0,
        2.0,
    ),
    "decay_tau_h": Param(
        504.0,
        "h",
        "illustrative: unused synapses halve in ~2 weeks (weeks-scale disuse loss, seed 000)",
        "disuse decay time",
        1.0,
        1e6,
    ),
    "use_half": Param(
        5.0,
        "co-activity",
        "illustrative: ~5 co-active trials protect a synapse",
        "use giving half protection",
        1e-6,
        1e6,
    ),
    "use_tau_h": Param(
        24.0, "h", "illustrative: protection lasts about a day", "decay time of the use trace", 0.1, 1e6
    ),
    "daily_use": Param(
        20.0,
        "repetitions/day",
        "illustrative: everyday use of D's "
        "function in proportion to how well it works (the use-function "
        "loop of Han, Arbib & Schweighofer 2008, simplified)",
        "task-0 uses a day in ordinary life, scaled by D's response",
        0.0,
        1e4,
    ),
    "w_floor": Param(0.05, "dimensionless", _ILL, "weight that disuse decays toward", 0.0, 10.0),
}

MEASURES: dict[str, Measure] = {
    "d_function": Measure(
        "% of pre-injury", "D's noiseless response to task 0 relative to the healthy network's"
    ),
    "d_response": Measure("activity 0-1", "D's noiseless response to task 0"),
    "w_ad": Measure("dimensionless", "mean A->D weight"),
    "w_bd": Measure("dimensionless", "mean B->D weight (lost cells count as 0)"),
    "w_cd": Measure("dimensionless", "mean C->D weight"),
}


@dataclass(frozen=True)
class Pathway(Model):
    """Relay groups A, B, C (n_cells each) onto one output D; see the module docstring."""

    n_cells: int = 10
    name: str = "pathway"

    def _patterns(self) -> Array:
        n = self.n_cells
        a, b, c = jnp.eye(3)
        return jnp.stack([jnp.repeat(a + b, n), jnp.repeat(c, n)])  # [task, 3n]

    def _respond(self, params: dict[str, Array], w: Array, r: Array) -> Array:
        drive = jnp.dot(w, r) / self.n_cells
        return jax.nn.sigmoid(params["gain"] * (drive - params["threshold"]))

    def _healthy(self, params: dict[str, Array]) -> Array:
        n = self.n_cells
        return jnp.concatenate(
            [jnp.full(n, params["w_a0"]), jnp.full(n, params["w_b0"]), jnp.full(n, params["w_c0"])]
        )

    def init(self, params: dict[str, Array], key: Array) -> State:
        w = self._healthy(params)
        return State(
            fast={"y": jnp.zeros(())},
            plastic={"w": w, "use": jnp.zeros_like(w)},
            structural={"alive": jnp.ones_like(w)},
            slow={},
        )

    def trial(
        self, params: dict[str, Array], state: State, stimulus: Stimulus, modulation: Modulation, key: Array
    ) -> State:
        pattern = self._patterns()[stimulus.task] * stimulus.intensity * modulation.drive
        noise = params["noise"] * jax.random.normal(key, pattern.shape)
        r = jnp.maximum(pattern + noise, 0.0) * state.structural["alive"]
        w, use = state.plastic["w"], state.plastic["use"]
        y = self._respond(params, w, r)
        rate = params["learning_rate"] * modulation.plasticity
        w = hebbian_bounded(w[:, None], r, y[None], rate, params["w_max"])[:, 0]
        return state._replace(fast={"y": y}, plastic={"w": w, "use": use + r * y})

    def offline(
        self, params: dict[str, Array], state: State, hours: Array, context: Context, key: Array
    ) -> State:
        alive = state.structural["alive"]
        r = self._patterns()[0] * alive
        y = self._respond(params, state.plastic["w"], r)
        daily = params["daily_use"] * hours / 24.0 * r * y
        w, use = use_decay(
            state.plastic["w"],
            state.plastic["use"] + daily,
            hours,
            params["decay_tau_h"],
            params["w_floor"],
            params["use_half"],
            params["use_tau_h"],
        )
        return state._replace(plastic={"w": w * state.structural["alive"], "use": use})

    def assess(self, params: dict[str, Array], state: State, key: Array) -> dict[str, Array]:
        pattern = self._patterns()[0]
        y = self._respond(params, state.plastic["w"], pattern * state.structural["alive"])
        y0 = self._respond(params, self._healthy(params), pattern)
        means = state.plastic["w"].reshape(3, self.n_cells).mean(axis=1)
        return {
            "d_function": 100.0 * y / y0,
            "d_response": y,
            "w_ad": means[0],
            "w_bd": means[1],
            "w_cd": means[2],
        }
