"""`motor`: use-dependent motor recovery after stroke, with arm choice (learned non-use).

Source: Han, Arbib & Schweighofer 2008 (PLoS Comput Biol 4:e1000133, "Stroke rehabilitation
reaches a threshold"), built from its equations as SCIENCE.md section 2 gives them; no code was
copied from any re-implementation. Two motor cortices, each a population of cosine-tuned cells
driving the opposite arm; y_i = [cos(theta_d - theta_i) - k m]+ / ((1 - k) m) with
multiplicative noise 0.15, m the peak drive of the working cells (recruitment by lateral
inhibition; k = 0 is Han et al.'s rectified cosine; see `tuning_threshold`); the reach direction
is the population vector (the cells' noise enters it as its exact 2-D Gaussian projection); the
cortex that moved learns by an error term and a use term,
dtheta_i = a_err (theta_d - theta_reach) y_i + a_use (theta_d - theta_i) y_i. An arm-choice
module learns each arm's value per direction with Gaussian basis functions,
dw = eta (r - Q) phi / max(phi) on normalised bases (Q = w.phi / sum(phi)), reward
r = exp(-err^2 / w^2), and chooses by softmax (beta 10).
Spontaneous daily-life reaching with free arm choice runs every day (`daily_reaches`), so use
feeds back on function: cells of the affected cortex drift toward the directions the arm is
still used for and the lesioned sector empties further (learned non-use), unless therapy has
made the arm good enough to be chosen there, when use keeps improving it (Han et al.'s
threshold).

Additions, each with its own source:
- corticospinal (CST) output gain scales the population vector against a fixed motor noise,
  so diffuse damage raises errors in every direction (strength loss);
- spontaneous biological recovery: a share `penumbra` of the lost cells and CST output is
  dysfunctional but viable tissue that returns with time constant `recovery_tau_days`
  (resolution of diaschisis and peri-infarct restitution: Murphy & Corbett 2009; Ward 2017);
  it is withheld when CST damage passes `cst_threshold` (Byblow et al. 2015: patients without
  motor-evoked potentials do not follow the proportional recovery rule). This yields the
  proportional recovery rule (Prabhakaran et al. 2008; Winters et al. 2015) without a fitted
  curve.
Index 0 is the affected cortex (driving the affected arm), index 1 the less affected one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
from jax import Array

from neurorehab.core.model import Model
from neurorehab.core.spec import Measure, Param
from neurorehab.core.types import Context, Modulation, State, Stimulus

TWO_PI = 2.0 * math.pi
_HAN = "Han, Arbib & Schweighofer 2008 (public re-implementation defaults, SCIENCE.md 2)"

PARAMS: dict[str, Param] = {
    "alpha_use": Param(0.002, "rad/(reach x activity)", _HAN, "use-dependent learning rate", 0.0, 0.05),
    "alpha_error": Param(0.005, "1/(reach x activity)", _HAN, "error-based learning rate", 0.0, 0.05),
    "beta": Param(10.0, "1/value", _HAN, "softmax inverse temperature of arm choice", 0.0, 1e3),
    "value_rate": Param(0.2, "1/reach", _HAN, "learning rate of arm values", 0.0, 1.0),
    "reward_width": Param(
        0.35,
        "rad",
        "calibrated: the re-implementation's 0.2 rad makes the arm choice blind to any error "
        "above ~6 deg (reward 0.47 at 10 deg against 0.99 for the other arm, a 1:180 choice "
        "at beta 10); 0.35 rad places Han et al.'s threshold at post-therapy errors of 11 deg "
        "(half keep gaining use) to 18 deg (half keep losing it), in the 10-20 deg range issue "
        "19 gives (models/motor/README.md: its source is unconfirmed)",
        "reward = exp(-err^2 / width^2)",
        1e-3,
        3.0,
    ),
    "noise": Param(
        0.15,
        "fraction of activity",
        _HAN,
        "multiplicative noise of cell activity (capped at 0.3, where dropping the rare "
        "rectification of 1 + noise xi < 0 stays exact to <1 %)",
        0.0,
        0.3,
    ),
    "motor_noise": Param(
        0.03,
        "population-vector units",
        "illustrative: healthy reach errors of ~2 deg",
        "noise added to the normalised population vector after the CST gain",
        0.0,
        2.0,
    ),
    "tuning_threshold": Param(
        0.7,
        "fraction of the peak drive",
        "calibrated (0 is Han et al.'s rectified cosine): lateral inhibition recruits, for "
        "each reach, the cells driven above 0.7 of the best-driven working cell, with "
        "activity normalised to that peak (divisive normalisation: Carandini & Heeger 2012). "
        "With 0, the use term, driven by every cell within 90 deg of each target, clumps a "
        "healthy map within months (healthy-quadrant error 4 to 21 deg over 20 weeks) and the "
        "lesion leaves 12 deg in the adjacent quadrants; 0.7 keeps the map stable with no "
        "added stabiliser, leaves ~4 deg there and ~29 deg in the lesioned quadrant, whose "
        "surviving neighbours still fire (and learn) at full strength for its targets "
        "(models/motor/README.md)",
        "y_i = [cos(theta_d - theta_i) - k m]+ / ((1 - k) m), m = max_j cos(theta_d - theta_j)",
        0.0,
        0.95,
    ),
    "basis_width": Param(
        0.4, "rad", "illustrative: 16 overlapping bases", "SD of the value bases", 0.05, 3.0
    ),
    "penumbra": Param(
        0.85,
        "fraction",
        "calibrated: with the model's learned non-use, 0.85 gives MEP-positive patients a "
        "recovery slope of ~0.7 of the initial impairment (Prabhakaran et al. 2008; Winters et "
        "al. 2015); tests/test_motor.py",
        "share of the lost cells and CST output that is viable and recovers",
        0.0,
        1.0,
    ),
    "recovery_tau_days": Param(
        30.0,
        "day",
        "most spontaneous recovery within 3 months (Kwakkel et al. 2006, recalled)",
        "time constant of spontaneous biological recovery",
        0.1,
        1e4,
    ),
    "cst_per_severity": Param(
        0.0,
        "fraction",
        "0 reproduces Han et al.'s pure cortical lesion; cohorts set it",
        "CST output lost per unit of lesion severity",
        0.0,
        1.0,
    ),
    "cst_threshold": Param(
        0.6,
        "fraction",
        "illustrative: severe CST damage (no MEP) blocks recovery (Byblow et al. 2015)",
        "CST loss above which spontaneous recovery is withheld",
        0.0,
        1.0,
    ),
    "fm_width_deg": Param(
        30.0,
        "deg",
        "documented mapping choice: a 30 deg error scores 61 % of a direction's points",
        "error scale of the FM-UE-like score",
        1.0,
        180.0,
    ),
}

MEASURES: dict[str, Measure] = {
    "error_q1": Measure("deg", "mean |directional error| of the affected arm, targets 0-90 deg"),
    "error_q2": Measure("deg", "same, targets 90-180 deg"),
    "error_q3": Measure("deg", "same, targets 180-270 deg"),
    "error_q4": Measure("deg", "same, targets 270-360 deg"),
    "use_share": Measure("0-1", "share of the past week's daily-life reaches made with the affected arm"),
    "use_day": Measure("0-1", "the same share over the last day only"),
    **{
        f"use_q{q}": Measure(
            "0-1",
            f"share of the past week's daily-life reaches to targets {90 * (q - 1)}-{90 * q} deg made with "
            "the affected arm (use per workspace region: quadrant 1 is the lesioned one)",
        )
        for q in range(1, 5)
    },
    "wmft_like": Measure(
        "s",
        "Wolf-motor-function-test-like mean time: per test direction 1.5 s / (accuracy x CST gain), "
        "capped at 120 s, averaged (accuracy as in the FM-UE-like score)",
    ),
    "mal_like": Measure("0-5", "motor-activity-log-like amount of use: 5 x use_share / 0.5, capped at 5"),
    "fm_ue_like": Measure(
        "0-66", "FM-UE-like score: 66 x CST gain x mean over the test reaches of exp(-err^2/(2 w^2))"
    ),
    "arat_like": Measure("0-57", "ARAT-like score: 57 x (FM-UE-like / 66)^1.5 (floor effect)"),
    "cells_q1": Measure("fraction", "share of working affected-cortex cells tuned to 0-90 deg"),
    "cst_gain": Measure(
        "0-1",
        "corticospinal output of the affected side (an MEP-like marker: above "
        "1 - cst_threshold, the patient is MEP-positive)",
    ),
}


def _circle(x: Array) -> Array:
    """x mod 2 pi by floor, which XLA vectorises (its remainder, jnp.mod, runs cell by cell on
    CPU: a quarter of a day of daily life, 2026-12-04); equal to jnp.mod within an ulp of 2 pi."""
    return x - TWO_PI * jnp.floor(x / TWO_PI)


def _wrap(x: Array) -> Array:
    """Angle difference wrapped to [-pi, pi)."""
    return _circle(x + math.pi) - math.pi


def _unit(pd: Array) -> Array:
    """Unit vectors of preferred directions: [..., 2, N] (cos, sin)."""
    return jnp.stack([jnp.cos(pd), jnp.sin(pd)], axis=-2)


def _population_density(k: Array) -> Array:
    """|population vector| per cell of a full uniform map, (1/2pi) int y(x) cos x dx for
    y = [cos x - k]+ / (1 - k) (a full map's peak drive is 1): normalises the vector so a
    healthy reach has length ~1."""
    a = jnp.arccos(k)
    return (a + 0.5 * jnp.sin(2 * a) - 2 * k * jnp.sin(a)) / (TWO_PI * (1 - k))


WEEK = 7  # days behind the use share (the motor activity log asks about the past week)
WMFT_HEALTHY_S = 1.5  # s a WMFT task takes a healthy adult (Wolf et al. 2001: about 1-2 s)
WMFT_CAP_S = 120.0  # the WMFT's ceiling for a task not completed (Wolf et al. 2001)


@dataclass(frozen=True)
class Motor(Model):
    """Two cortices of `n_cells`, `n_basis` value bases, `daily_reaches` a day; see module docstring.

    `daily_reaches`: spontaneous reaches a day with free arm choice, 200 by default: fewer than
    the thousands of arm movements of a day (a compute trade-off), enough for daily use to
    shape the affected cortex within weeks as in Han et al.'s simulations.
    """

    n_cells: int = 200
    n_basis: int = 16
    daily_reaches: int = 200
    n_test: int = 64
    name: str = "motor"
    # Lanes of 64: a day of daily life costs 16.6, 35.1 and 74.7 ms for lanes of 64, 128 and 256
    # patients (2 cores, 2026-12-05, after the loop's cosines and sines got their own carries),
    # about the same per patient, so the narrowest lanes waste least on a batch that does not
    # fill them (150 patients x 12 weeks: 4.8 s against 6.9 s in lanes of 128, side by side); a
    # patient's numbers are the same bit for bit in any width (checked that day).
    lane_width: ClassVar[int] = 64

    # --- pieces -------------------------------------------------------------------------
    def _phi(self, params: dict[str, Array], theta: Array) -> Array:
        """Value bases at a direction, normalised to sum 1 (so Q = w . phi)."""
        centres = jnp.arange(self.n_basis) * TWO_PI / self.n_basis
        phi = jnp.exp(-(_wrap(theta - centres) ** 2) / (2 * params["basis_width"] ** 2))
        return phi / phi.sum()

    def _reach(self, params, u, working, cst, target, z, eta, drive):
        """One reach of one cortex with unit vectors `u` [2, N]: activities [N], signed error (rad).

        y_i = [cos(theta_d - theta_i) - k m]+ / ((1 - k) m), m the peak drive over working cells
        (cos by a dot product with the target's unit vector: no trigonometry per cell). The
        cells' multiplicative noise, y_i (1 + sigma xi_i), enters the population vector as its
        exact projection: sigma sum_i y_i xi_i u_i is a 2-D Gaussian with covariance
        sigma^2 sum_i y_i^2 u_i u_i^T, drawn from two normals `z` instead of N (the
        rectification of 1 + sigma xi < 0 has probability ~1e-11 at sigma 0.15). Learning uses
        the mean activities, whose per-cell noise averages out over reaches.
        """
        k = params["tuning_threshold"]
        ct, st = jnp.cos(target), jnp.sin(target)
        cos_pd, sin_pd = u[0], u[1]
        drive_i = ct * cos_pd + st * sin_pd  # cos(theta_d - theta_i)
        # floor: a target more than ~87 deg from every working cell recruits none
        peak = jnp.maximum(jnp.max(jnp.where(working > 0, drive_i, -1.0)), 0.05)
        y = jnp.maximum(drive_i - k * peak, 0.0) / ((1 - k) * peak) * working * drive
        y2 = y * y
        a, b, cc = y2 @ (cos_pd * cos_pd), y2 @ (cos_pd * sin_pd), y2 @ (sin_pd * sin_pd)
        l11 = jnp.sqrt(a + 1e-12)
        l21 = b / l11
        l22 = jnp.sqrt(jnp.maximum(cc - l21 * l21, 0.0) + 1e-12)
        noise = params["noise"] * jnp.stack([l11 * z[0], l21 * z[0] + l22 * z[1]])
        scale = 1.0 / (_population_density(k) * self.n_cells)  # a full healthy map gives |v| ~ 1
        mean = jnp.stack([y @ cos_pd, y @ sin_pd])
        v = scale * cst * (mean + noise) + params["motor_noise"] * eta
        return y, _wrap(target - jnp.arctan2(v[1], v[0]))

    def _learn(self, params, pd, u, y, err, target, plasticity, error_gain):
        """Han et al.'s rule on angles `pd`, with the unit vectors `u` = (cos, sin) rotated
        alongside by the step's cos/sin to 2nd/3rd order: exact to float32 at the default rates
        (steps < 0.01 rad) and within 1e-3 up to 0.4 rad, the largest step the rates' bounds
        allow. `u` is rebuilt from `pd` every day and every trial, so nothing accumulates.
        Returns the new angles, cosines and sines (three arrays, not one stacked: a stack costs
        the daily loop a transposed copy of both cortices each reach, half its time)."""
        d = plasticity * (
            params["alpha_error"] * error_gain * err * y + params["alpha_use"] * _wrap(target - pd) * y
        )
        cd, sd = 1.0 - 0.5 * d * d, d - d * d * d / 6.0
        c, s = u[0], u[1]
        return _circle(pd + d), c * cd - s * sd, s * cd + c * sd

    def _update_value(self, params, value, arm, phi, reward, gate):
        """Delta rule: Q = w.phi, dw = eta (r - Q) phi/max(phi) (peak step eta (r - Q))."""
        q = value[arm] @ phi
        return value.at[arm].add(gate * params["value_rate"] * (reward - q) * phi / jnp.max(phi))

    def _reward(self, params, err):
        return jnp.exp(-(err**2) / params["reward_width"] ** 2)

    # --- contract ---------------------------------------------------------------------
    def init(self, params: dict[str, Array], key: Array) -> State:
        # a uniform map without the chance gaps of independent draws: one cell per 1/N of the circle
        jitter = jax.random.uniform(key, (2, self.n_cells))
        pd = (jnp.arange(self.n_cells) + jitter) * (TWO_PI / self.n_cells)
        return State(
            fast={},
            plastic={"pd": pd, "value": jnp.full((2, self.n_basis), 0.9)},
            structural={
                "alive": jnp.ones((2, self.n_cells)),
                "silenced": jnp.zeros((2, self.n_cells)),
                "cst": jnp.ones(2),
                "cst_target": jnp.ones(2),
            },
            slow={
                "forced": jnp.zeros(()),
                "use_days": jnp.full(WEEK, 0.5),
                "use_q_days": jnp.full((WEEK, 4), 0.5),  # the same per quadrant of the workspace
            },
        )

    def _target(self, task: Array, u: Array) -> Array:
        """Task 0: any direction; task q (1-4): a direction in quadrant q."""
        return jnp.where(task == 0, u * TWO_PI, (task - 1 + u) * (math.pi / 2))

    def trial(
        self, params: dict[str, Array], state: State, stimulus: Stimulus, modulation: Modulation, key: Array
    ) -> State:
        """A therapy reach with the affected arm (index 0), or its imagined/mirrored version."""
        k_t, k_xi, k_eta = jax.random.split(key, 3)
        s = state.structural
        target = self._target(stimulus.task, jax.random.uniform(k_t))
        working = s["alive"][0] * (1.0 - s["silenced"][0])
        pd0 = state.plastic["pd"][0]
        u0 = _unit(pd0)
        y, err = self._reach(
            params,
            u0,
            working,
            s["cst"][0],
            target,
            jax.random.normal(k_xi, (2,)),
            jax.random.normal(k_eta, (2,)),
            stimulus.intensity * modulation.drive,
        )
        gains = {"movement": 1.0, "error": 1.0, "forced_use": 0.0, **modulation.extra}  # neutral if unset
        err = err * gains["movement"]  # an imagined reach has no visible outcome
        new0, _, _ = self._learn(params, pd0, u0, y, err, target, modulation.plasticity, gains["error"])
        # The reward is judged from the error shown: reducing it (error-reduced, Han et al. 2008;
        # Ballester et al. 2016) makes the affected arm's reaches feel more successful.
        value = self._update_value(
            params,
            state.plastic["value"],
            0,
            self._phi(params, target),
            self._reward(params, err * gains["error"]),
            gains["movement"],
        )
        return state._replace(
            plastic={**state.plastic, "pd": state.plastic["pd"].at[0].set(new0), "value": value},
            slow={**state.slow, "forced": gains["forced_use"]},
        )

    def _daily_life(self, params, state: State, forced: Array, key: Array) -> tuple[State, Array]:
        """One day's spontaneous reaches with free (or forced) arm choice; returns the use share."""
        r = self.daily_reaches
        k_t, k_c, k_f, k_xi, k_eta = jax.random.split(key, 5)
        targets = jax.random.uniform(k_t, (r,), maxval=TWO_PI)
        u_choice, u_force = jax.random.uniform(k_c, (r,)), jax.random.uniform(k_f, (r,))
        xis = jax.random.normal(k_xi, (r, 2))
        etas = jax.random.normal(k_eta, (r, 2))
        s = state.structural
        working = s["alive"] * (1.0 - s["silenced"])
        pd = state.plastic["pd"]

        def reach(carry, xs):
            pd, cos_pd, sin_pd, value = carry
            target, uc, uf, xi, eta = xs
            phi = self._phi(params, target)
            q = value @ phi
            p_aff = jax.nn.sigmoid(params["beta"] * (q[0] - q[1]))
            arm = jnp.where((uf < forced) | (uc < p_aff), 0, 1)
            u = (cos_pd[arm], sin_pd[arm])
            y, err = self._reach(params, u, working[arm], s["cst"][arm], target, xi, eta, 1.0)
            pd_a, c_a, s_a = self._learn(params, pd[arm], u, y, err, target, 1.0, 1.0)
            value = self._update_value(params, value, arm, phi, self._reward(params, err), 1.0)
            carry = (pd.at[arm].set(pd_a), cos_pd.at[arm].set(c_a), sin_pd.at[arm].set(s_a), value)
            return carry, arm == 0

        # Cosines and sines ride in the carry as their own arrays (2026-12-05: a day of 128
        # patients 67 -> 33 ms against one stacked array of unit vectors, the same numbers).
        (pd, _, _, value), used = jax.lax.scan(
            reach,
            (pd, jnp.cos(pd), jnp.sin(pd), state.plastic["value"]),
            (targets, u_choice, u_force, xis, etas),
        )
        quad = jax.nn.one_hot((targets // (math.pi / 2)).astype(jnp.int32), 4)  # [r, 4]
        per_q = (used[:, None] * quad).sum(0) / jnp.maximum(quad.sum(0), 1.0)
        return state._replace(plastic={**state.plastic, "pd": pd, "value": value}), jnp.concatenate(
            [used.mean()[None], per_q]
        )

    def _recover(self, params, state: State, key: Array) -> State:
        """One day of spontaneous biological recovery: silenced cells return, CST output relaxes
        to its recoverable level (time constant `recovery_tau_days`)."""
        s = state.structural
        p = 1.0 - jnp.exp(-1.0 / params["recovery_tau_days"])
        back = jax.random.uniform(key, s["silenced"].shape) < p
        cst = s["cst_target"] + (s["cst"] - s["cst_target"]) * jnp.exp(-1.0 / params["recovery_tau_days"])
        return state._replace(structural={**s, "silenced": s["silenced"] * (1.0 - back), "cst": cst})

    steps_days = True

    def day(self, params: dict[str, Array], state: State, context: Context, key: Array) -> State:
        """A day since the last update: recovery, then a day of spontaneous reaching.

        Forced use (a CIMT mitt) applies on the first day after a session, i.e. the session's day.
        """
        k_rec, k_life = jax.random.split(key)
        state = self._recover(params, state, k_rec)
        state, shares = self._daily_life(params, state, state.slow["forced"], k_life)
        days = jnp.roll(state.slow["use_days"], 1).at[0].set(shares[0])
        by_q = jnp.roll(state.slow["use_q_days"], 1, axis=0).at[0].set(shares[1:])
        return state._replace(
            slow={**state.slow, "use_days": days, "use_q_days": by_q, "forced": jnp.zeros(())}
        )

    def assess(self, params: dict[str, Array], state: State, key: Array) -> dict[str, Array]:
        s = state.structural
        m = max(1, 128 // self.n_test)  # noisy repetitions per test direction (128 reaches in all)
        targets = (jnp.arange(self.n_test) + 0.5) * TWO_PI / self.n_test
        k_xi, k_eta = jax.random.split(key)
        xi = jax.random.normal(k_xi, (self.n_test, m, 2))
        eta = jax.random.normal(k_eta, (self.n_test, m, 2))
        working = s["alive"][0] * (1.0 - s["silenced"][0])
        u0 = _unit(state.plastic["pd"][0])

        def err_at(target, xi_t, eta_t):
            return jax.vmap(lambda a, b: self._reach(params, u0, working, s["cst"][0], target, a, b, 1.0)[1])(
                xi_t, eta_t
            )

        errs = jnp.abs(jax.vmap(err_at)(targets, xi, eta))  # [n_test, m]
        err_dir = jnp.degrees(errs.mean(axis=1))
        quad = (targets // (math.pi / 2)).astype(jnp.int32)
        per_q = [jnp.sum(err_dir * (quad == q)) / jnp.maximum(jnp.sum(quad == q), 1) for q in range(4)]
        acc_dir = jnp.exp(-(jnp.degrees(errs) ** 2) / (2 * params["fm_width_deg"] ** 2)).mean(axis=1)
        acc = acc_dir.mean()
        fm = 66.0 * s["cst"][0] * acc
        # WMFT-like time: a task takes WMFT_HEALTHY_S divided by the chance of its reach landing
        # (accuracy x CST output), capped at the test's 120 s; the mean over the directions.
        wmft = jnp.minimum(WMFT_HEALTHY_S / jnp.maximum(acc_dir * s["cst"][0], 1e-6), WMFT_CAP_S).mean()
        pd = state.plastic["pd"][0]
        in_q1 = (pd < math.pi / 2).astype(jnp.float32)
        share = state.slow["use_days"].mean()
        return {
            "error_q1": per_q[0],
            "error_q2": per_q[1],
            "error_q3": per_q[2],
            "error_q4": per_q[3],
            "use_share": share,
            "use_day": state.slow["use_days"][0],
            **{f"use_q{q + 1}": state.slow["use_q_days"][:, q].mean() for q in range(4)},
            "wmft_like": wmft,
            "mal_like": jnp.minimum(5.0, 10.0 * share),
            "fm_ue_like": fm,
            "arat_like": 57.0 * (fm / 66.0) ** 1.5,
            "cells_q1": jnp.sum(in_q1 * working) / jnp.maximum(jnp.sum(working), 1.0),
            "cst_gain": s["cst"][0],
        }

    def snapshot(self, state: State) -> dict[str, Array]:
        """Preferred directions and status of every cell of both cortices, for the polar plot."""
        s = state.structural
        return {"pd": state.plastic["pd"], "alive": s["alive"], "silenced": s["silenced"]}
