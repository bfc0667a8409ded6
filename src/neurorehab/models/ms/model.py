"""`ms`: multiple sclerosis as populations of myelinated axons, over years.

Three pathways (`PATHWAYS`: a motor pathway to the legs, one to the hands, a cognitive
processing-speed pathway) are each `axons` axons, every one with its diameter, the myelin of
its worst lesioned segment, an inflammatory block, and how much of it survives. Each axon
conducts through its lesion by the reduced conduction model (`conduction.py`, fitted to the
cable model of `cable.py`) at the body's current temperature: where its safety factor is at
least 1 and it is not inflamed, at the highest rate it follows (1 / refractory period of
transmission). A pathway's conduction is the surviving, conducting share of its axons, each
weighted by the share of the pathway's firing rate it follows.

The course, day by day (`day`):
- **New lesions** arrive as a Poisson process whose rate falls with disease duration and in
  progressive phases, lowered by disease-modifying therapy by its relative factor. A lesion
  falls in one pathway (by exposure), strips myelin from a lognormal share of its axons and
  blocks a wider share by inflammation, which resolves over weeks (Smith & McDonald 1999).
- **Remyelination** begins after a lag and restores part of the lost myelin, thinner than
  before (Smith, Blakemore & McDonald 1981: conduction from about week 2); progressive
  phases remyelinate less.
- **Neurodegeneration**: axons are lost slowly, faster while chronically demyelinated (Trapp
  et al. 1998) and in progressive phases. Relapsing-remitting patients convert to secondary
  progressive at a yearly hazard.
- **Relapses** are not drawn: a relapse is a lesion whose deficit the patient notices (a
  pathway's function falling by at least `relapse_threshold` in a day); it lasts until
  function is back within the threshold of where it was, or 180 days (then recovery was
  partial). So most lesions are silent, and a relapse's duration comes from inflammation and
  remyelination.
- **Compensation**: recruitment of other areas makes up a share c of the lost function,
  c = c0 (1 + skill) exp(-damage / compensation_sat): it holds function while damage is small
  and fails as it grows (Rocca et al. 2005's account of adaptive recruitment), and practice of
  a pathway's task raises its `skill` (task practice, cognitive rehabilitation, balance).

Sessions (`trial`, one repetition a minute): aerobic, resistance and balance training raise
fitness, strength and balance (each detrains towards the patient's baseline); heat (a warm
bath, exercise) raises and cooling lowers the body's temperature, which relaxes to 37
degrees C over about half an hour; every minute of exertion adds to an MS fatigue whose cost
is the effort of working through the conducting axons left at the current temperature, so it
is heat- and load-sensitive (Uhthoff's phenomenon; Krupp 2003); fatigue management (energy
conservation) lowers that cost. A dose of disease-modifying therapy lowers the lesion rate
for its cover period.

Scores are documented mappings from state, named "-like" (README.md): T25FW-like, 9HPT-like,
6MW-like, SDMT-like, EDSS-like from functional-system-like grades and walking, and confirmed
disability progression by the standard rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
from jax import Array

from neurorehab.core.model import Model
from neurorehab.core.spec import Measure, Param
from neurorehab.core.types import Context, Modulation, State, Stimulus
from neurorehab.models.ms.conduction import reduced

PATHWAYS = ("legs", "hands", "cognition")
# Static anatomy (modelled): each pathway's share of new lesions (long spinal tracts and the
# periventricular white matter are the commonest sites; Kidd et al. 1999), its axons' median
# diameter (um; corticospinal axons mostly 1-4 um, association fibres under 1.5 um: Graf von
# Keyserlingk & Schramm 1984; Aboitiz et al. 1992) and the firing rate its function needs (Hz).
EXPOSURE = (0.35, 0.25, 0.40)
DIAMETER_UM = (3.0, 2.5, 1.2)
RATE_HZ = (80.0, 80.0, 40.0)
DIAMETER_SD_LOG = 0.35
MAX_LESIONS = 2  # per day (the day step's bound; a third in one day has probability < 1e-6)
RELAPSE_MAX_DAYS = 180
PLATEAU_DAYS = 14  # a relapse whose deficit has not improved in this long has ended
CONFIRM_DAYS = 90  # confirmed disability progression: sustained 3 months
SESSION_HOUR = 9.0
BODY_C = 37.0

PARAMS: dict[str, Param] = {
    "disease_years": Param(2.0, "years", "patient trait", "disease duration on day 0", 0.0, 60.0),
    "phase": Param(0.0, "0/1/2", "patient trait", "disease phase on day 0: 0 relapsing-remitting, "
                   "1 secondary progressive, 2 primary progressive", 0.0, 2.0),
    "lesion_rate": Param(8.0, "lesions/year", "MRI: new gadolinium-enhancing lesions about 0.5-1 a month "
                         "early in relapsing-remitting MS (placebo arms; McFarland et al. 1992; recalled)",
                         "new lesions a year at onset", 0.0, 100.0),
    "lesion_decline_years": Param(12.0, "years", "relapse rates fall with disease duration (Tremlett et al. "
                                  "2008; recalled)", "time constant of the fall of the lesion rate",
                                  1.0, 100.0),
    "progressive_lesions": Param(0.25, "1", "modelled: fewer new inflammatory lesions in progressive MS "
                                 "(Lublin et al. 2014)", "factor on the lesion rate in progressive phases",
                                 0.0, 1.0),
    "lesion_size": Param(0.015, "share of axons", "calibrated: most new lesions are silent, under a fifth "
                         "clinical (SCIENCE.md section 4)", "median share of a pathway's axons a new lesion "
                         "demyelinates", 0.001, 0.5),
    "lesion_size_sd_log": Param(1.0, "1", "modelled: lesion volumes are right-skewed (lognormal)",
                                "spread of lesion sizes (SD of the log)", 0.0, 3.0),
    "inflammation_spread": Param(1.5, "1", "modelled: oedema and inflammation reach beyond the plaque "
                                 "(Smith & McDonald 1999)", "share blocked by inflammation per share "
                                 "demyelinated", 1.0, 5.0),
    "inflammation_days": Param(14.0, "days", "gadolinium enhancement lasts about 3 weeks (Cotton et al. "
                               "2003; recalled); Smith & McDonald 1999: inflammatory block resolves "
                               "over weeks",
                               "time constant of the resolution of inflammatory block", 1.0, 100.0),
    "lesion_myelin": Param(0.03, "fraction", "modelled: acute plaques strip most myelin (Lassmann 1998)",
                           "mean myelin left in a new lesion's axons (uniform from 0 to twice this)",
                           0.0, 0.5),
    "remyelinating": Param(0.5, "probability", "Patrikios et al. 2006 (recalled: remyelination is extensive "
                           "in a minority of lesions; many stay demyelinated)", "chance that a lesion "
                           "remyelinates (relapsing phase)", 0.0, 1.0),
    "remyelination": Param(0.6, "fraction", "Patrikios et al. 2006 (remyelinated myelin is thin: shadow "
                           "plaques)", "share of lost myelin a remyelinating lesion regains", 0.0, 1.0),
    "remyelination_lag_days": Param(10.0, "days", "Smith, Blakemore & McDonald 1981: conduction returns "
                                    "from about week 2", "delay before remyelination starts", 0.0, 120.0),
    "remyelination_days": Param(30.0, "days", "Smith, Blakemore & McDonald 1981: refractory period normal "
                                "by 3 months", "time constant of remyelination", 1.0, 720.0),
    "progressive_remyelination": Param(0.4, "1", "modelled: remyelination fails with age and progression "
                                       "(Franklin & ffrench-Constant 2008)", "factor on the chance of "
                                       "remyelination in progressive phases", 0.0, 1.0),
    "degeneration": Param(0.005, "1/year", "modelled: brain atrophy about 0.5 %/year in MS (Barkhof et al. "
                          "2009; recalled)", "yearly loss of axons with intact myelin", 0.0, 0.5),
    "demyelinated_degeneration": Param(5.0, "1", "Trapp et al. 1998: transected axons in active and "
                                       "chronic lesions", "factor on axon loss while demyelinated",
                                       1.0, 50.0),
    "progressive_degeneration": Param(3.0, "1", "modelled: neurodegeneration dominates progressive MS "
                                      "(Lassmann 2018)", "factor on axon loss in progressive phases",
                                      1.0, 20.0),
    "sp_hazard": Param(0.035, "1/year", "about half convert within 15-20 years (Scalfari et al. 2014; "
                       "recalled)", "yearly hazard of conversion to secondary progressive", 0.0, 1.0),
    "prior_lesion_share": Param(0.3, "share of axons", "patient trait: lesions before day 0",
                                "share of each pathway's axons in old lesions on day 0", 0.0, 0.9),
    "prior_axon_loss": Param(0.03, "share of axons", "patient trait", "axons lost before day 0", 0.0, 0.9),
    "compensation": Param(0.8, "1", "modelled: early recruitment of other areas (Rocca et al. 2005)",
                          "share of lost function made up by recruitment while damage is small", 0.0, 1.0),
    "compensation_sat": Param(0.3, "share of function", "modelled: compensation fails as damage "
                              "accumulates (SCIENCE.md section 4)", "damage at which compensation falls "
                              "to 1/e", 0.01, 2.0),
    "skill_rate": Param(0.0005, "1/min", "modelled: task practice improves function in MS (Rasova et al. "
                        "2016)", "compensation skill gained per minute of a pathway's practice", 0.0, 0.1),
    "skill_max": Param(0.5, "1", "modelled", "most compensation skill (factor 1 + skill)", 0.0, 3.0),
    "skill_days": Param(120.0, "days", "modelled", "time constant of the loss of unpractised skill",
                        1.0, 3650.0),
    "relapse_threshold": Param(0.05, "share of function", "modelled: a deficit a patient notices",
                               "fall of a pathway's function in a day that is a relapse", 0.005, 0.5),
    "training_rate": Param(0.0008, "1/min", "calibrated: 12 weeks of aerobic training raise peak oxygen "
                           "uptake about 10-20 % in MS (Petajan et al. 1996; Platta et al. 2016; "
                           "recalled)", "fitness gained per minute at full intensity, of what is "
                           "left to the ceiling", 0.0, 0.01),
    "fitness_max": Param(1.4, "x baseline", "modelled", "ceiling of aerobic fitness", 1.0, 3.0),
    "detraining_days": Param(60.0, "days", "Mujika & Padilla 2000: detraining over weeks to months",
                             "time constant of the return to baseline fitness, strength, balance",
                             1.0, 3650.0),
    "strength_rate": Param(0.0004, "1/min", "modelled: resistance training raises strength in MS "
                           "(Kjolhede et al. 2012)", "strength gained per minute", 0.0, 0.01),
    "balance_rate": Param(0.0004, "1/min", "modelled: balance training (Paltamaa et al. 2012)",
                          "balance gained per minute", 0.0, 0.01),
    "walk_speed": Param(1.9, "m/s", "healthy fast walking speed (T25FW about 4 s; recalled)",
                        "fast walking speed with full leg function", 0.5, 3.0),
    "aerobic_reserve": Param(0.85, "1", "modelled: a healthy 6-minute walk is about 85 % of the fast "
                             "speed over 6 minutes", "sustained share of fast speed at baseline fitness "
                             "and full function", 0.1, 1.5),
    "exercise_heat": Param(0.02, "degrees C/min", "Davis et al. 2010: core temperature rises 0.5-1 "
                           "degrees C in 30-60 min of exercise", "heating per minute of aerobic exercise "
                           "at intensity 1", 0.0, 0.2),
    "cooling_tau_min": Param(30.0, "min", "modelled: core temperature returns in about half an hour",
                             "time constant of the return to 37 degrees C", 1.0, 600.0),
    "ms_fatigue_minutes": Param(300.0, "minutes", "modelled: fatigue builds over hours of exertion",
                          "minutes of exertion at full function that bring MS fatigue to 63 %", 1.0, 1e5),
    "ms_fatigue_hours": Param(3.0, "h", "modelled: MS fatigue recovers with rest over hours",
                           "time constant of recovery from MS fatigue", 0.1, 72.0),
    "daily_load": Param(240.0, "minutes", "modelled: a day's usual exertion", "minutes of exertion a "
                        "day (the fatigue-impact-like score)", 0.0, 1440.0),
    "pacing_rate": Param(0.01, "1/min", "modelled: energy conservation courses lower fatigue impact "
                         "(Mathiowetz et al. 2005)", "pacing gained per minute of fatigue management",
                         0.0, 0.5),
    "walk_cv": Param(0.08, "1", "T25FW test-retest (Bosma et al. 2010; recalled)",
                     "coefficient of variation of timed walks", 0.0, 0.5),
    "peg_cv": Param(0.07, "1", "9HPT test-retest (recalled)", "coefficient of variation of the peg test",
                    0.0, 0.5),
    "sdmt_sd": Param(3.0, "points", "SDMT test-retest (Benedict et al. 2017; recalled)",
                     "SD of SDMT-like noise", 0.0, 20.0),
}  # fmt: skip

MEASURES: dict[str, Measure] = {
    "t25fw_like": Measure("s", "timed 25-foot walk-like: 7.62 m at fast walking speed"),
    "nhpt_like": Measure("s", "nine-hole peg test-like time"),
    "six_mw_like": Measure("m", "six-minute walk-like distance"),
    "sdmt_like": Measure("correct in 90 s", "symbol digit modalities test-like score"),
    "edss_like": Measure("0-10 in half steps", "EDSS-like score from functional-system-like grades "
                         "and walking"),
    "fs_pyramidal": Measure("0-5", "pyramidal functional-system-like grade (legs and hands)"),
    "fs_cerebral": Measure("0-5", "cerebral (mental) functional-system-like grade"),
    "cdp": Measure("0/1", "confirmed disability progression so far (+1.0 from baseline 5.5 or less, "
                   "+0.5 above, sustained 3 months)"),
    "relapses": Measure("count", "clinical relapses since day 0"),
    "relapse_days": Measure("days", "days spent in relapses that have ended"),
    "relapses_ended": Measure("count", "relapses that have ended"),
    "relapses_recovered": Measure("count", "ended relapses after which function returned within the "
                                  "threshold"),
    "new_lesions": Measure("count", "new lesions since day 0 (MRI-like)"),
    "conducting_legs": Measure("0-1", "share of the leg pathway conducting (at the current temperature)"),
    "conducting_hands": Measure("0-1", "share of the hand pathway conducting"),
    "conducting_cognition": Measure("0-1", "share of the cognitive pathway conducting"),
    "function_legs": Measure("0-1", "leg function with compensation"),
    "function_hands": Measure("0-1", "hand function with compensation"),
    "function_cognition": Measure("0-1", "cognitive processing speed with compensation"),
    "myelin": Measure("0-1", "mean myelin of the axons' lesioned segments (1: none lesioned)"),
    "axons": Measure("0-1", "share of axons surviving"),
    "temperature": Measure("degrees C", "core body temperature"),
    "fitness": Measure("x baseline", "aerobic fitness (peak oxygen uptake-like)"),
    "fatigue_like": Measure("0-1", "MS fatigue now"),
    "fatigue_impact_like": Measure("0-84", "MFIS-like fatigue impact: the fatigue of a usual day's load "
                                   "at 37 degrees C"),
    "phase": Measure("0/1/2", "disease phase (0 relapsing-remitting, 1 secondary, 2 primary progressive)"),
    "dmt": Measure("0-1", "relative reduction of the lesion rate by therapy now"),
}  # fmt: skip

GRADE = 0.06  # function lost per functional-system-like grade (modelled mapping)
# Ambulation bands of the EDSS-like score on leg function (modelled mapping; README.md): the
# lowest leg function of each step, from 4.0 (walks 500 m unaided) to 9.5.
AMBULATION = ((0.64, 4.0), (0.58, 4.5), (0.52, 5.0), (0.46, 5.5), (0.38, 6.0), (0.30, 6.5),
              (0.20, 7.0), (0.12, 7.5), (0.06, 8.0), (0.03, 8.5), (0.01, 9.0))  # fmt: skip


def _const(values: tuple[float, ...]) -> Array:
    return jnp.asarray(values)[:, None]


@dataclass(frozen=True)
class Ms(Model):
    """`axons`: axons per pathway."""

    axons: int = 64
    name: str = "ms"
    steps_days = True

    # --- state pieces ------------------------------------------------------------------------

    def myelin(self, params: dict[str, Array], st: State, day: Array) -> Array:
        """Myelin of each axon's lesioned segment on `day`: from its nadir towards its target
        after the remyelination lag (closed form, so it does not depend on the calendar)."""
        s = st.structural
        age = jnp.maximum(day - s["lesion_day"] - params["remyelination_lag_days"], 0.0)
        back = 1.0 - jnp.exp(-age / params["remyelination_days"])
        return s["nadir"] + (s["target"] - s["nadir"]) * back

    def conducting(self, params: dict[str, Array], st: State, temp: Array) -> Array:
        """Each pathway's surviving, conducting share, weighted by the share of its rate each
        axon follows."""
        s = st.structural
        c = reduced(s["myelin"], temp, s["diameter"])
        follows = jnp.minimum(c["max_rate"] / _const(RATE_HZ), 1.0)
        return (s["alive"] * (1.0 - s["inflamed"]) * c["conducts"] * follows).mean(axis=1)

    def function(self, params: dict[str, Array], st: State, temp: Array) -> tuple[Array, Array]:
        """(conducting share, function with compensation) per pathway."""
        f = self.conducting(params, st, temp)
        damage = 1.0 - f
        c = (
            params["compensation"]
            * (1.0 + st.plastic["skill"])
            * jnp.exp(-damage / params["compensation_sat"])
        )
        return f, f + damage * jnp.clip(c, 0.0, 1.0)

    def edss(self, function: Array) -> tuple[Array, Array, Array]:
        """(EDSS-like, pyramidal grade, cerebral grade): grades of 0-5, one for each 6 % of
        function lost; the EDSS-like steps of 0-4.0 from the grades, 4.0-9.5 from leg function."""
        pyr = jnp.clip(jnp.floor((1.0 - jnp.minimum(function[0], function[1])) / GRADE), 0.0, 5.0)
        cer = jnp.clip(jnp.floor((1.0 - function[2]) / GRADE), 0.0, 5.0)
        hi, lo = jnp.maximum(pyr, cer), jnp.minimum(pyr, cer)
        fs = jnp.select(
            [hi >= 4, (hi == 3) & (lo >= 2), (hi == 3) & (lo == 3), hi == 3, (hi == 2) & (lo == 2),
             hi == 2, (hi == 1) & (lo == 1), hi == 1],
            [4.0, 3.5, 3.5, 3.0, 2.5, 2.0, 1.5, 1.0], 0.0,
        )  # fmt: skip
        amb = jnp.asarray(9.5)
        for floor, step in reversed(AMBULATION):
            amb = jnp.where(function[0] >= floor, step, amb)
        amb = jnp.where(function[0] >= AMBULATION[0][0] + 0.06, 0.0, amb)
        return jnp.maximum(fs, amb), pyr, cer

    def demyelinate(
        self,
        params: dict[str, Array],
        st: dict[str, Array],
        myelin: Array,
        hit: Array,
        inflamed: Array,
        left: Array,
        day: Array,
        progressive: Array,
        draw: Array,
    ) -> dict[str, Array]:
        """A lesion on `day`: the `hit` axons keep at most `left` of their myelin (`myelin`: all
        axons' myelin today); if the lesion remyelinates (`draw` below the chance
        `remyelinating`, lower when progressive) they regain the share `remyelination` of what
        they lost, else they stay demyelinated; the `inflamed` ones are blocked by inflammation."""
        chance = params["remyelinating"] * jnp.where(progressive, params["progressive_remyelination"], 1.0)
        remyel = params["remyelination"] * (draw < chance)
        nadir = jnp.minimum(myelin, left)
        return {
            **st,
            "nadir": jnp.where(hit, nadir, st["nadir"]),
            "target": jnp.where(hit, nadir + remyel * (1.0 - nadir), st["target"]),
            "lesion_day": jnp.where(hit, day, st["lesion_day"]),
            "myelin": jnp.where(hit, nadir, myelin),
            "inflamed": jnp.where(inflamed, 1.0, st["inflamed"]),
        }

    def _rate(self, params: dict[str, Array], st: State, day: Array) -> Array:
        """New lesions a day."""
        s = st.slow
        years = params["disease_years"] + day / 365.0
        rate = params["lesion_rate"] * jnp.exp(-years / params["lesion_decline_years"])
        rate = rate * jnp.where(s["phase"] > 0, params["progressive_lesions"], 1.0)
        dmt = jnp.where(day <= s["dmt_until"], s["dmt"], 0.0)  # a dose on day d covers d+1..d+cover
        return rate * (1.0 - dmt) / 365.0

    # --- the engine's calls ------------------------------------------------------------------

    def init(self, params: dict[str, Array], key: Array) -> State:
        shape = (len(PATHWAYS), self.axons)
        k_d, k_old, k_m, k_r, k_loss = jax.random.split(key, 5)
        diameter = _const(DIAMETER_UM) * jnp.exp(DIAMETER_SD_LOG * jax.random.normal(k_d, shape))
        old = jax.random.uniform(k_old, shape) < params["prior_lesion_share"]
        # Old lesions, long settled: remyelinated by the same chance as new ones, or not.
        left = 2.0 * params["lesion_myelin"] * jax.random.uniform(k_m, shape)
        repaired = jax.random.uniform(k_r, shape) < params["remyelinating"]
        nadir = jnp.where(old, left + repaired * params["remyelination"] * (1.0 - left), 1.0)
        alive = jnp.where(jax.random.uniform(k_loss, shape) < params["prior_axon_loss"], 0.0, 1.0)
        z = jnp.zeros(())
        structural = {"diameter": diameter, "nadir": nadir, "target": nadir,
                      "lesion_day": jnp.full(shape, -1e4), "myelin": nadir, "alive": alive,
                      "inflamed": jnp.zeros(shape)}  # fmt: skip
        plastic = {"skill": jnp.zeros(len(PATHWAYS)), "fitness": jnp.ones(()), "strength": jnp.ones(()),
                   "balance": jnp.ones(()), "pacing": z}  # fmt: skip
        fast = {"temp": jnp.full((), BODY_C), "fatigue": z, "minutes": z}
        st = State(fast=fast, plastic=plastic, structural=structural, slow={})
        _, fn = self.function(params, st, jnp.full((), BODY_C))
        slow = {"day": jnp.full((), -1.0), "phase": jnp.round(params["phase"]), "dmt": z,
                "dmt_until": z - 1.0, "lesions": z, "relapses": z, "in_relapse": z, "relapse_start": z,
                "reference": fn, "previous": fn, "check_day": z, "check_deficit": z, "relapse_days": z,
                "ended": z, "recovered": z,
                "baseline_edss": jnp.full((), -1.0), "worse_since": jnp.full((), -1.0), "cdp": z}  # fmt: skip
        return st._replace(slow=slow)

    def day(self, params: dict[str, Array], state: State, context: Context, key: Array) -> State:
        day = jnp.asarray(context.day, jnp.float32)
        s, st_ = dict(state.slow), dict(state.structural)
        k_sp, k_n, k_lesions = jax.random.split(key, 3)
        # Conversion to secondary progressive.
        converts = (s["phase"] == 0) & (jax.random.uniform(k_sp) < params["sp_hazard"] / 365.0)
        s["phase"] = jnp.where(converts, 1.0, s["phase"])
        progressive = s["phase"] > 0
        # New lesions: up to MAX_LESIONS today (Poisson).
        lam = self._rate(params, state._replace(slow=s), day)
        n_new = jnp.minimum(jax.random.poisson(k_n, lam), MAX_LESIONS)
        myelin = self.myelin(params, state, day)
        shape = myelin.shape
        for j in range(MAX_LESIONS):
            kp, ks, ka, km, kr = jax.random.split(jax.random.fold_in(k_lesions, j), 5)
            occurs = j < n_new
            where = jax.random.choice(kp, len(PATHWAYS), p=jnp.asarray(EXPOSURE))
            spread = jnp.exp(params["lesion_size_sd_log"] * jax.random.normal(ks))
            size = jnp.clip(params["lesion_size"] * spread, 0.0, 1.0)
            in_path = (jnp.arange(len(PATHWAYS)) == where)[:, None] & occurs
            draw = jax.random.uniform(ka, shape)
            hit = in_path & (draw < size)
            inflamed = in_path & (draw < jnp.minimum(params["inflammation_spread"] * size, 1.0))
            left = 2.0 * params["lesion_myelin"] * jax.random.uniform(km, shape)
            st_ = self.demyelinate(params, st_, myelin, hit, inflamed, left, day, progressive,
                                   jax.random.uniform(kr))  # fmt: skip
            myelin = st_["myelin"]
        s["lesions"] = s["lesions"] + n_new
        st_["inflamed"] = st_["inflamed"] * jnp.exp(-1.0 / params["inflammation_days"])
        st_["myelin"] = myelin
        # Axon loss: faster while demyelinated (below half its myelin) and when progressive.
        loss = params["degeneration"] * jnp.where(myelin < 0.5, params["demyelinated_degeneration"], 1.0)
        loss = loss * jnp.where(progressive, params["progressive_degeneration"], 1.0)
        st_["alive"] = st_["alive"] * jnp.exp(-loss / 365.0)
        pl = dict(state.plastic)
        back = jnp.exp(-1.0 / params["detraining_days"])
        for k in ("fitness", "strength", "balance"):
            pl[k] = 1.0 + (pl[k] - 1.0) * back
        pl["skill"] = pl["skill"] * jnp.exp(-1.0 / params["skill_days"])
        state = State(state.fast, pl, st_, s)
        # Relapses and confirmed progression, judged on the day's function at 37 degrees C.
        _, fn = self.function(params, state, jnp.full((), BODY_C))
        onset = (s["in_relapse"] == 0) & jnp.any(s["previous"] - fn >= params["relapse_threshold"])
        reference = jnp.where(onset, s["previous"], s["reference"])
        deficit = jnp.max(reference - fn)
        start = jnp.where(onset, day, s["relapse_start"])
        length = day - start
        # A relapse ends when its deficit is no longer noticed (complete recovery), or has not
        # improved in a fortnight (partial recovery), or after RELAPSE_MAX_DAYS.
        check = (s["in_relapse"] > 0) & (day - s["check_day"] >= PLATEAU_DAYS)
        plateau = check & (deficit >= s["check_deficit"] - 0.1 * params["relapse_threshold"])
        full = deficit < 0.5 * params["relapse_threshold"]
        ends = (s["in_relapse"] > 0) & ~onset & (full | plateau | (length >= RELAPSE_MAX_DAYS))
        s["relapses"] = s["relapses"] + onset
        s["reference"], s["relapse_start"] = reference, start
        s["check_day"] = jnp.where(onset | check, day, s["check_day"])
        s["check_deficit"] = jnp.where(onset | check, deficit, s["check_deficit"])
        s["relapse_days"] = s["relapse_days"] + jnp.where(ends, length, 0.0)
        s["ended"] = s["ended"] + ends
        s["recovered"] = s["recovered"] + (ends & full)
        s["in_relapse"] = jnp.where(onset, 1.0, jnp.where(ends, 0.0, s["in_relapse"]))
        s["previous"] = fn
        edss, _, _ = self.edss(fn)
        base = jnp.where(s["baseline_edss"] < 0, edss, s["baseline_edss"])
        worse = edss >= base + jnp.where(base <= 5.5, 1.0, 0.5)
        since = jnp.where(worse, jnp.where(s["worse_since"] < 0, day, s["worse_since"]), -1.0)
        s["cdp"] = jnp.maximum(s["cdp"], (worse & (day - since >= CONFIRM_DAYS)).astype(jnp.float32))
        s["baseline_edss"], s["worse_since"], s["day"] = base, since, day
        return state._replace(slow=s)

    def trial(
        self, params: dict[str, Array], state: State, stimulus: Stimulus, modulation: Modulation, key: Array
    ) -> State:
        """One minute of a session."""
        x, i = modulation.extra, stimulus.intensity
        f, pl = dict(state.fast), dict(state.plastic)
        # Body temperature: this minute's heating (a warm bath, exercise) or cooling.
        heat = x["heat"] + x["aerobic"] * params["exercise_heat"] * i - x["cooling"]
        decay = jnp.exp(-1.0 / params["cooling_tau_min"])
        f["temp"] = BODY_C + (f["temp"] - BODY_C) * decay + heat * params["cooling_tau_min"] * (1.0 - decay)
        gain = modulation.plasticity
        pl["fitness"] = pl["fitness"] + params["training_rate"] * x["aerobic"] * i * gain * (
            params["fitness_max"] - pl["fitness"]
        )
        pl["strength"] = pl["strength"] + params["strength_rate"] * x["resistance"] * i * gain * (
            1.5 - pl["strength"]
        )
        pl["balance"] = pl["balance"] + params["balance_rate"] * x["balance"] * i * gain * (
            1.5 - pl["balance"]
        )
        target = jnp.where(x["cognitive"] > 0, 2, jnp.where(x["balance"] > 0, 0, stimulus.task))
        trained = (jnp.arange(len(PATHWAYS)) == target) * x["skill"]
        pl["skill"] = pl["skill"] + params["skill_rate"] * trained * gain * (
            1.0 - pl["skill"] / params["skill_max"]
        )
        pl["pacing"] = pl["pacing"] + params["pacing_rate"] * x["pacing"] * (0.5 - pl["pacing"])
        # MS fatigue: exertion through what conducts at this temperature.
        _, fn = self.function(params, state, f["temp"])
        effort = 1.0 / jnp.maximum(fn[jnp.clip(stimulus.task, 0, 2)], 0.1) / (1.0 + pl["pacing"])
        f["fatigue"] = (
            f["fatigue"] + (1.0 - f["fatigue"]) * x["load"] * i * effort / params["ms_fatigue_minutes"]
        )
        f["minutes"] = f["minutes"] + 1.0  # the session's own time, not to be counted again offline
        s = dict(state.slow)
        doses = x["dmt"] > 0
        s["dmt"] = jnp.where(doses, x["dmt"], s["dmt"])
        s["dmt_until"] = jnp.where(doses, jnp.maximum(s["day"], 0.0) + x["dmt_cover_days"], s["dmt_until"])
        return State(f, pl, state.structural, s)

    def offline(
        self, params: dict[str, Array], state: State, hours: Array, context: Context, key: Array
    ) -> State:
        """Temperature and fatigue relax over the gap, less the minutes the last session's
        trials already took (the engine's sessions take no clock time)."""
        f = dict(state.fast)
        rest = jnp.maximum(hours - f["minutes"] / 60.0, 0.0)
        f["temp"] = BODY_C + (f["temp"] - BODY_C) * jnp.exp(-60.0 * rest / params["cooling_tau_min"])
        f["fatigue"] = f["fatigue"] * jnp.exp(-rest / params["ms_fatigue_hours"])
        f["minutes"] = jnp.zeros_like(f["minutes"])
        return state._replace(fast=f)

    def assess(self, params: dict[str, Array], state: State, key: Array) -> dict[str, Array]:
        temp = state.fast["temp"]
        cond, fn = self.function(params, state, temp)
        pl, s, st_ = state.plastic, state.slow, state.structural
        edss, pyr, cer = self.edss(fn)
        k1, k2, k3, k4 = jax.random.split(key, 4)
        speed = params["walk_speed"] * fn[0] ** 1.5 * pl["strength"] ** 0.3 * pl["balance"] ** 0.2
        t25 = 7.62 / jnp.maximum(speed, 0.02) * jnp.exp(params["walk_cv"] * jax.random.normal(k1))
        # Six minutes at the speed fitness sustains: impaired gait costs more energy per metre
        # (Olgiati et al. 1988), so the walk is fitness-limited where the 25-foot walk is not.
        sustain = params["aerobic_reserve"] * pl["fitness"] * fn[0]
        sustain = sustain - jax.nn.softplus(10.0 * (sustain - 1.0)) / 10.0  # a smooth min(., 1)
        six = 360.0 * speed * sustain * jnp.exp(params["walk_cv"] * jax.random.normal(k2))
        nhpt = 18.0 / jnp.maximum(fn[1], 0.05) * jnp.exp(params["peg_cv"] * jax.random.normal(k3))
        sdmt = jnp.clip(60.0 * fn[2] + params["sdmt_sd"] * jax.random.normal(k4), 0.0, 110.0)
        effort = 1.0 / jnp.maximum(self.function(params, state, jnp.full((), BODY_C))[1].mean(), 0.1)
        impact = 84.0 * (
            1.0
            - jnp.exp(-params["daily_load"] * effort / ((1.0 + pl["pacing"]) * params["ms_fatigue_minutes"]))
        )
        dmt = jnp.where(s["day"] <= s["dmt_until"], s["dmt"], 0.0)
        return {
            "t25fw_like": t25, "nhpt_like": nhpt, "six_mw_like": six, "sdmt_like": sdmt,
            "edss_like": edss, "fs_pyramidal": pyr, "fs_cerebral": cer, "cdp": s["cdp"],
            "relapses": s["relapses"], "relapse_days": s["relapse_days"], "relapses_ended": s["ended"],
            "relapses_recovered": s["recovered"], "new_lesions": s["lesions"],
            "conducting_legs": cond[0], "conducting_hands": cond[1], "conducting_cognition": cond[2],
            "function_legs": fn[0], "function_hands": fn[1], "function_cognition": fn[2],
            "myelin": st_["myelin"].mean(), "axons": st_["alive"].mean(), "temperature": temp,
            "fitness": pl["fitness"], "fatigue_like": state.fast["fatigue"],
            "fatigue_impact_like": impact, "phase": s["phase"], "dmt": dmt,
        }  # fmt: skip

    def snapshot(self, state: State) -> dict[str, Array]:
        st_ = state.structural
        return {"myelin": st_["myelin"], "alive": st_["alive"], "inflamed": st_["inflamed"]}
