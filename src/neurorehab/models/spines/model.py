"""`spines`: clustered formation of new dendritic spines with repeated practice.

Source: Fu, Yu, Lu & Zuo 2012 (Nature 483:92), the study that seed 000's Figure 3 describes:
32.5 +- 2.2 % of new spines formed over training days 1-4 are clustered (their nearest
neighbouring spine is also new, with no stable spine between), against 6.8 +- 4.6 % in
untrained controls and 7.4 +- 4.3 % late in training (days 13-16); clustering needs repetition
of the same task, and clustered new spines persist longer.

Mechanism (our model, built from the mechanisms those authors and others propose):
- Each branch is a row of spine sites 1 um apart. A spine belongs to the input ensemble of one
  task (task-recruited spines) or to the background.
- Formation between sessions: empty sites gain spines at a background rate, plus a pulse
  after each session scaled by the session's learning drive (which falls as the task is
  mastered: skill follows an exponential learning curve). Task-driven formation is boosted near
  recently formed spines of the *same task's* ensemble, within a few micrometres (clustered
  plasticity: Govindarajan, Kelleher & Tonegawa 2006, Nat Rev Neurosci 7:575; local
  co-activity of neighbouring inputs: Kleindienst et al. 2011, Neuron 72:1012). Repeating the
  same task meets the boost; varied practice and late training (little drive) do not.
- Stability: a task spine active in a trial is potentiated with a soft bound, more strongly
  when a neighbouring new spine of the same ensemble is co-active (cooperative potentiation
  within ~10 um: Harvey & Svoboda 2007, Nature 450:1195); unused task spines lose stability
  ("use it or lose it") and are pruned. Background spines mature slowly with background
  activity. Elimination hazard per day = e0 + e_new (1 - stability).
- A census on `census_day` tags the new spines of the early window as clustered or not, so that
  their survival can be followed.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
from jax import Array

from neurorehab.core.model import Model
from neurorehab.core.spec import Measure, Param
from neurorehab.core.types import Context, Modulation, State, Stimulus

_FIT = "calibrated here so that the cluster fractions of Fu et al. 2012 emerge (see models/spines/README.md)"

TASKS = ("task-a", "task-b", "task-c", "task-d")

PARAMS: dict[str, Param] = {
    "occupancy0": Param(
        0.4,
        "spines/um",
        "adult cortical dendrite density ~0.3-0.5 /um (Holtmaat & Svoboda 2009, recalled)",
        "initial spine density",
        0.0,
        1.0,
    ),
    "form_base": Param(
        0.009,
        "1/site/day",
        _FIT + "; background turnover of a few % of spines in days (Xu et al. 2009, recalled)",
        "background formation rate per empty site",
        0.0,
        1.0,
    ),
    "form_task": Param(
        0.01,
        "1/site/session",
        _FIT,
        "task-driven formation per empty site after a full-drive session",
        0.0,
        1.0,
    ),
    "cluster_gain": Param(
        50.0,
        "dimensionless",
        _FIT,
        "boost of task formation per unit of nearby same-ensemble new spines",
        0.0,
        1e3,
    ),
    "cluster_length": Param(
        2.0,
        "um",
        "clustered plasticity acts over ~5-10 um (Harvey & Svoboda 2007)",
        "length constant of the boost",
        0.1,
        50.0,
    ),
    "cluster_max_um": Param(
        5.0,
        "um",
        "Fu et al. 2012 clustering distance (recalled)",
        "farthest neighbour counted as clustered or boosting (at most 5 um: the sites "
        "unrolled by the model option max_cluster_sites)",
        1.0,
        5.0,
    ),
    "recent_days": Param(
        4.0,
        "day",
        "Fu et al. 2012 early window (days 1-4)",
        "age under which a spine counts as new (boost and census)",
        1.0,
        30.0,
    ),
    "learn_rate": Param(
        0.005,
        "1/trial",
        "illustrative: mice master the reaching task in about 1-2 weeks of ~50 trials a day",
        "skill learning rate",
        0.0,
        1.0,
    ),
    "drive_half": Param(
        25.0,
        "trials",
        "illustrative",
        "summed drive giving half-maximal formation after a session",
        1e-3,
        1e4,
    ),
    "potentiation": Param(
        0.02, "1/trial", "illustrative", "stability gain of an active task spine per trial", 0.0, 1.0
    ),
    "cooperation": Param(
        2.0,
        "dimensionless",
        "cooperative potentiation of neighbours (Harvey & Svoboda 2007)",
        "extra potentiation factor with a co-active new neighbour",
        0.0,
        100.0,
    ),
    "unused_tau_days": Param(
        7.0,
        "day",
        "illustrative: task spines pruned within weeks of disuse (Xu et al. 2009, recalled)",
        "stability decay time of an unused task spine",
        0.1,
        1e4,
    ),
    "mature_tau_days": Param(10.0, "day", "illustrative", "maturation time of background spines", 0.1, 1e4),
    "elim_base": Param(
        0.002,
        "1/day",
        "stable spines persist for months (Yang, Pan & Gan 2009, recalled)",
        "elimination hazard of a fully stable spine",
        0.0,
        1.0,
    ),
    "elim_new": Param(
        0.25,
        "1/day",
        "most new spines vanish within days (Holtmaat et al. 2005, recalled)",
        "extra hazard of an unstable spine",
        0.0,
        10.0,
    ),
    "census_day": Param(
        5.0,
        "day",
        "end of the early window: the offline update of day 5 follows sessions on days 1-4",
        "day on which early new spines are tagged clustered or not",
        0.0,
        1e4,
    ),
}

MEASURES: dict[str, Measure] = {
    "spine_density": Measure("spines/um", "spines per micrometre of dendrite"),
    "new_spines": Measure("spines/100 um", "spines born within the last `recent_days`"),
    "cluster_fraction": Measure(
        "%",
        "share of new spines (born within `recent_days`) whose next spine on either side, "
        "within cluster_max_um, is also new (no stable spine between them)",
    ),
    "task_spines": Measure("spines/100 um", "spines in a task ensemble"),
    "survival_clustered": Measure("%", "share of the census's clustered new spines still present"),
    "survival_isolated": Measure("%", "share of the census's non-clustered new spines still present"),
    "skill": Measure("0-1", "mastery of the most practised task"),
}


def _shift(x: Array, k: int, fill: float | bool) -> Array:
    """x shifted along the last axis by k sites (positive: from the left), padded with fill."""
    pad = jnp.full((*x.shape[:-1], abs(k)), fill, x.dtype)
    return jnp.concatenate([pad, x[..., :-k]], -1) if k > 0 else jnp.concatenate([x[..., -k:], pad], -1)


def _next_is(alive: Array, flag: Array, max_sites: int, max_um: Array) -> Array:
    """For each site: is the next spine on either side, if within max_um, flagged?

    Fu et al. 2012's clusters: new spines with no stable spine between them. Sites are 1 um
    apart; the loop is unrolled over at most `max_sites` (static), masked to `max_um` (traced).
    """
    out = jnp.zeros(alive.shape, bool)
    for sign in (1, -1):
        found = jnp.zeros(alive.shape, bool)
        for k in range(1, max_sites + 1):
            a, f = _shift(alive, sign * k, False), _shift(flag, sign * k, False)
            out = out | (~found & a & f & (k <= max_um))
            found = found | a
    return out


@dataclass(frozen=True)
class Spines(Model):
    """`n_branches` dendritic segments of `n_sites` 1-um spine sites; see the module docstring."""

    n_branches: int = 24
    n_sites: int = 100
    max_cluster_sites: int = 5
    name: str = "spines"

    def init(self, params: dict[str, Array], key: Array) -> State:
        shape = (self.n_branches, self.n_sites)
        alive = jax.random.uniform(key, shape) < params["occupancy0"]
        return State(
            fast={},
            plastic={"stability": jnp.where(alive, 1.0, 0.0)},
            structural={
                "alive": alive,
                "birth": jnp.full(shape, -1e4),
                "ensemble": jnp.full(shape, -1),
                "tag": jnp.zeros(shape, jnp.int32),
                "tag_alive": jnp.zeros(shape, bool),
            },
            slow={
                "skill": jnp.zeros(len(TASKS)),
                "drive": jnp.zeros(()),
                "task": jnp.int32(0),
                "day": jnp.zeros(()),
            },
        )

    def _new(self, params: dict[str, Array], s: dict[str, Array], day: Array) -> Array:
        return s["alive"] & (s["birth"] > day - params["recent_days"])

    def _near(self, params: dict[str, Array], x: Array) -> Array:
        """Sum over neighbours within cluster_max_um of x weighted by exp(-d/cluster_length)."""
        out = jnp.zeros(x.shape, jnp.float32)
        for k in range(1, self.max_cluster_sites + 1):
            wk = jnp.exp(-k / params["cluster_length"]) * (k <= params["cluster_max_um"])
            out = out + wk * (_shift(x, k, 0.0) + _shift(x, -k, 0.0))
        return out

    def trial(
        self, params: dict[str, Array], state: State, stimulus: Stimulus, modulation: Modulation, key: Array
    ) -> State:
        s, slow = state.structural, state.slow
        gain = stimulus.intensity * modulation.plasticity * modulation.drive
        skill = slow["skill"]
        drive = (1.0 - skill[stimulus.task]) * gain
        skill = skill.at[stimulus.task].add(params["learn_rate"] * gain * (1.0 - skill[stimulus.task]))
        active = s["alive"] & (s["ensemble"] == stimulus.task)
        new_active = (active & self._new(params, s, slow["day"])).astype(jnp.float32)
        coop = 1.0 + params["cooperation"] * (self._near(params, new_active) > 0)
        stab = state.plastic["stability"]
        stab = jnp.where(active, stab + params["potentiation"] * gain * coop * (1.0 - stab), stab)
        return state._replace(
            plastic={"stability": jnp.clip(stab, 0.0, 1.0)},
            slow={**slow, "skill": skill, "drive": slow["drive"] + drive, "task": stimulus.task},
        )

    steps_days = True

    def day(self, params: dict[str, Array], state: State, context: Context, key: Array) -> State:
        """One day of turnover; the formation pulse of the day's sessions falls on its night
        (sessions on the same day pool their drive into that pulse)."""
        state = self._day(params, state, context.day.astype(jnp.float32), state.slow["drive"], key)
        return state._replace(
            slow={**state.slow, "drive": jnp.float32(0.0), "day": context.day.astype(jnp.float32)}
        )

    def _day(self, params: dict[str, Array], state: State, day: Array, drive: Array, key: Array) -> State:
        """One day of stability change, elimination, formation and the census."""
        s, slow = dict(state.structural), state.slow
        stab = state.plastic["stability"]
        k_elim, k_form, k_kind = jax.random.split(key, 3)
        # Stability: task spines decay unless used; background spines mature.
        task_spine = s["ensemble"] >= 0
        stab = jnp.where(
            task_spine,
            stab * jnp.exp(-1.0 / params["unused_tau_days"]),
            1.0 - (1.0 - stab) * jnp.exp(-1.0 / params["mature_tau_days"]),
        )
        # Elimination.
        hazard = params["elim_base"] + params["elim_new"] * (1.0 - stab)
        dies = s["alive"] & (jax.random.uniform(k_elim, stab.shape) < 1.0 - jnp.exp(-hazard))
        alive = s["alive"] & ~dies
        tag_alive = s["tag_alive"] & ~dies
        # Formation: background, plus the pulse that follows the last session.
        task = slow["task"]
        recent = (alive & (s["ensemble"] == task) & (s["birth"] > day - params["recent_days"])).astype(
            jnp.float32
        )
        pulse = drive / (drive + params["drive_half"])
        rate_task = params["form_task"] * pulse * (1.0 + params["cluster_gain"] * self._near(params, recent))
        rate_base = params["form_base"] * jnp.ones_like(stab)
        born = ~alive & (jax.random.uniform(k_form, stab.shape) < 1.0 - jnp.exp(-(rate_base + rate_task)))
        is_task = jax.random.uniform(k_kind, stab.shape) * (rate_base + rate_task) < rate_task
        alive = alive | born
        ensemble = jnp.where(born, jnp.where(is_task, task, -1), jnp.where(alive, s["ensemble"], -1))
        birth = jnp.where(born, day, s["birth"])
        stab = jnp.where(born, 0.0, jnp.where(alive, stab, 0.0))
        s.update(alive=alive, ensemble=ensemble, birth=birth, tag_alive=tag_alive)
        # Census of the early window's new spines.
        new = self._new(params, s, day)
        clustered = new & _next_is(alive, new, self.max_cluster_sites, params["cluster_max_um"])
        census = day == params["census_day"]
        s["tag"] = jnp.where(census & new, jnp.where(clustered, 1, 2), s["tag"])
        s["tag_alive"] = jnp.where(census, new, s["tag_alive"])
        return State(fast=state.fast, plastic={"stability": stab}, structural=s, slow=slow)

    def snapshot(self, state: State) -> dict[str, Array]:
        """The spine map of one animal for the report: presence, birth day and ensemble per site."""
        s = state.structural
        return {"alive": s["alive"], "birth": s["birth"], "ensemble": s["ensemble"], "day": state.slow["day"]}

    def assess(self, params: dict[str, Array], state: State, key: Array) -> dict[str, Array]:
        s = state.structural
        alive = s["alive"]
        new = self._new(params, s, state.slow["day"])
        clustered = new & _next_is(alive, new, self.max_cluster_sites, params["cluster_max_um"])
        n_new = new.sum()
        per100 = 100.0 / (self.n_branches * self.n_sites)

        def survival(tag: int) -> Array:
            total = (s["tag"] == tag).sum()
            return jnp.where(
                total > 0, 100.0 * ((s["tag"] == tag) & s["tag_alive"]).sum() / jnp.maximum(total, 1), jnp.nan
            )

        return {
            "spine_density": alive.mean(),
            "new_spines": n_new * per100,
            "cluster_fraction": jnp.where(n_new > 0, 100.0 * clustered.sum() / jnp.maximum(n_new, 1), 0.0),
            "task_spines": (alive & (s["ensemble"] >= 0)).sum() * per100,
            "survival_clustered": survival(1),
            "survival_isolated": survival(2),
            "skill": state.slow["skill"].max(),
        }
