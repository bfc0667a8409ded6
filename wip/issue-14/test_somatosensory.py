"""`somatosensory` against SCIENCE.md section 3: takeover after a digit's loss, unmasking and
filling after a median nerve cut, crush against cut and repair in adults and children,
regrowth times and 20 Hz stimulation, and sensory re-education in a virtual trial.

Each simulation is a cohort small enough for a test (a few patients, the model's default
sheet); tolerances are stated with each assertion.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from neurorehab.models.somatosensory import INFO, Amputation, NerveCrush, NerveCut, Somatosensory
from neurorehab.models.somatosensory.skin import SKIN

from neurorehab.config import compile_scenario, load_scenario
from neurorehab.core import simulate
from neurorehab.core.engine import develop
from neurorehab.models import default_params
from neurorehab.models.protocol import Block, compile_calendar

ROOT = Path(__file__).resolve().parents[1]
N = 4
MODEL = Somatosensory()
KEYS = jax.random.split(jax.random.key(5), N)


@lru_cache(maxsize=4)
def _developed(juvenile: float):
    return develop(MODEL, default_params(INFO, N, {"juvenile": juvenile}), KEYS)


def run(event=None, values=None, *, days=365, assess=(0, 1, 2, 30, 120, 240, 364), blocks=(), juvenile=0.0):
    """N patients, the event on day 1 (before day 1's assessment), measures at `assess`."""
    cal = compile_calendar(list(blocks), duration_days=days, assess_days=list(assess), info=INFO,
                           event_days=[1] if event else [])  # fmt: skip
    events = (event,) if event else ()
    vals = ({k: jnp.full(N, values.get(k, v.default)) for k, v in event.params.items()},) if event else ()
    params = default_params(INFO, N, {"juvenile": juvenile})
    m, codes = simulate(MODEL, params, cal, KEYS, events=events, event_values=vals,
                        initial=_developed(juvenile))  # fmt: skip
    assert (np.asarray(codes) == 0).all()
    kept = np.asarray(cal.assess)
    return {k: np.asarray(v)[:, kept] for k, v in m.items()}, list(assess)


def test_the_developed_map_is_ordered_and_the_fingertips_magnified():
    """After development each digit owns a territory, digits in order, and the index pad is
    resolved near the sheet's resolution (Kaas et al. 1979's area 3b; Johansson & Vallbo
    1979's fingertip density): a healthy index pad's two-point-like distance 3-12 mm (mean
    under 9; normal human 2-5 mm, the sheet resolves less), localisation error under 3 mm,
    neighbouring units' preferred sites under 8 mm apart, under 30 % of the sheet silent."""
    m, _ = run(days=1, assess=(0,))
    for d in range(1, 6):
        assert (m[f"area_d{d}"][:, 0] > 8.0).all(), (d, m[f"area_d{d}"][:, 0])
    tpd = m["two_point_like"][:, 0]
    assert (tpd > 3.0).all() and (tpd < 12.0).all() and tpd.mean() < 9.0, tpd
    assert (m["localisation_like"][:, 0] < 3.0).all()
    assert (m["scatter"][:, 0] < 8.0).all()
    assert (m["area_silent"][:, 0] < 0.3 * 144).all()  # 24 x 24 units of 0.25 mm^2


def test_a_lost_digit_is_taken_over_by_its_neighbours_over_months():
    """Merzenich et al. 1984 (SCIENCE.md section 3): after digit 3's loss its territory goes
    silent, then its neighbours (and the palm) take over most of it within 2-8 months;
    their magnification rises and their receptive fields shrink. Tolerances: at least half of
    the silenced cortex driven again by 8 months; magnification of digits 2 and 4 up and their
    receptive fields smaller on average."""
    m, days = run(Amputation(), {"digit": 3.0}, days=240, assess=(0, 2, 60, 120, 240))
    silenced = m["area_silent"][:, 1] - m["area_silent"][:, 0]
    assert (m["area_d3"][:, 1] == 0).all() and (silenced > 5.0).all(), silenced
    back = (m["area_silent"][:, 1] - m["area_silent"][:, -1]) / silenced
    assert (back > 0.5).all(), back
    assert (back[:] >= (m["area_silent"][:, 1] - m["area_silent"][:, 2]) / silenced - 1e-6).all()  # grows
    mag = m["magnification_d2"] + m["magnification_d4"]
    assert (mag[:, -1] > mag[:, 0]).all(), mag
    rf = (m["rf_d2"] + m["rf_d4"]) / 2
    assert rf[:, -1].mean() < rf[:, 0].mean(), rf


def test_median_cut_silent_then_unmasked_then_filled():
    """Merzenich et al. 1983 (SCIENCE.md section 3): after a median nerve cut most of its
    cortex is silent at first while a part responds to neighbouring skin at once (about a
    fifth within hours; here at least a twentieth by the next day); the deprived cortex is
    re-occupied over weeks to months (silent area halved by 4 months), before reinnervation
    reaches the fingertips."""
    m, days = run(NerveCut(), {"nerve": 0.0, "regenerating": 0.0})
    median0 = m["area_median"][:, 0]
    silent1 = m["area_silent"][:, 2] - m["area_silent"][:, 0]
    assert (silent1 > 0.5 * median0).all(), (silent1, median0)
    unmasked = (m["area_ulnar"][:, 2] + m["area_radial"][:, 2]) - (
        m["area_ulnar"][:, 0] + m["area_radial"][:, 0]
    )
    assert (unmasked > 0.05 * median0).all(), (unmasked, median0)
    refill = m["area_silent"][:, 4] - m["area_silent"][:, 0]
    assert (refill < 0.5 * silent1).all(), (refill, silent1)


@pytest.fixture(scope="module")
def outcomes():
    crush, _ = run(NerveCrush(), {"nerve": 0.0})
    adult, _ = run(NerveCut(), {"nerve": 0.0})
    child, _ = run(NerveCut(), {"nerve": 0.0}, juvenile=1.0)
    return {"crush": crush, "adult": adult, "child": child}


def test_crush_returns_the_map_cut_scrambles_it_in_adults_less_in_children(outcomes):
    """Wall et al. 1983; Florence et al. 1996 (SCIENCE.md section 3): after a crush the map's
    order returns (scatter within 15 % of before, localisation within 1 mm); after an adult
    cut and repair it stays scrambled (scatter 1.5x, localisation over 3x worse); children
    relearn far more (localisation error at most half the adults')."""
    crush, adult, child = outcomes["crush"], outcomes["adult"], outcomes["child"]
    assert (np.abs(crush["scatter"][:, -1] / crush["scatter"][:, 0] - 1) < 0.15).all()
    assert (crush["localisation_like"][:, -1] < crush["localisation_like"][:, 0] + 1.0).all()
    assert (adult["scatter"][:, -1] > 1.5 * adult["scatter"][:, 0]).all()
    assert (adult["localisation_like"][:, -1] > 3.0 * adult["localisation_like"][:, 0]).all()
    assert child["localisation_like"][:, -1].mean() < 0.5 * adult["localisation_like"][:, -1].mean()


def test_fine_discrimination_recovers_after_crush_and_poorly_after_adult_repair(outcomes):
    """SCIENCE.md section 3 (Lundborg & Rosen 2007): two-point discrimination returns to normal
    after a crush (within 2 mm of before) and stays poor after an adult repair (at least twice
    before, or no discrimination) at a year."""
    crush, adult = outcomes["crush"], outcomes["adult"]
    assert (np.abs(crush["two_point_like"][:, -1] - crush["two_point_like"][:, 0]) < 2.0).all()
    assert (adult["two_point_like"][:, -1] >= 2.0 * adult["two_point_like"][:, 0]).all()


def test_regrowth_takes_distance_over_rate_and_20hz_stimulation_shortens_it():
    """SCIENCE.md section 3: axons regrow at about 1 mm a day after repair; the first site is
    reinnervated after the crossing delay plus the nearest site's distance over the rate
    (within 5 days), a halved rate doubles the growth time, and brief 20 Hz stimulation after
    repair (Al-Majed et al. 2000) brings reinnervation forward: more of the territory
    reinnervated at 4 months."""
    level = 20.0
    nearest = float(SKIN.to_wrist[SKIN.nerve == 0].min())
    m, _ = run(NerveCut(), {"nerve": 0.0, "level_mm": level, "delay_days": 7.0}, days=150,
               assess=(0, 30, 120, 149))  # fmt: skip
    expected = 7.0 + (level + nearest) / 1.0
    first = m["days_to_reinnervation"][:, -1]
    assert (np.abs(first - expected) <= 5.0 + 0.05 * 40.0).all(), (first, expected)
    slow, _ = run(NerveCut(), {"nerve": 0.0, "level_mm": level, "delay_days": 7.0, "rate_mm_day": 0.5},
                  days=150, assess=(0, 30, 120, 149))  # fmt: skip
    grow = (slow["days_to_reinnervation"][:, -1] - 7.0) / (first - 7.0)
    assert (np.abs(grow - 2.0) < 0.25).all(), grow
    stim = [Block("nerve-stimulation-20hz", 2, 1, 7, 60)]
    stimulated, _ = run(NerveCut(), {"nerve": 0.0, "level_mm": level}, days=150, assess=(0, 30, 120, 149),
                        blocks=stim)  # fmt: skip
    assert (stimulated["reinnervated"][:, 2] > m["reinnervated"][:, 2] + 0.05).all()


def test_the_developed_map_is_reused_and_changes_nothing():
    """`develop` gives the same numbers as the lanes' own init (Model.develops)."""
    cal = compile_calendar([], duration_days=3, assess_days=[0, 3], info=INFO)
    params = default_params(INFO, N)
    a, _ = simulate(MODEL, params, cal, KEYS)
    b, _ = simulate(MODEL, params, cal, KEYS, initial=_developed(0.0))
    for k in ("two_point_like", "area_median", "scatter"):
        np.testing.assert_array_equal(a[k], b[k])


def test_reeducation_trial_early_plus_late_beats_late_beats_none():
    """nerve-reeducation-trial (Rosen & Lundborg 2007; Imai et al. 1991): at 12 months the
    two-point-like distance is better (smaller) with re-education than without, and early plus
    late re-education beats late alone (mean over 32 patients an arm, each arm's difference
    at least 0.5 mm)."""
    s = load_scenario(ROOT / "scenarios/nerve-reeducation-trial.yaml")
    comp = compile_scenario(s)
    ids = np.arange(32)
    params, keys = comp.sample_params(ids), comp.sim_keys(ids)
    initial = develop(comp.model, params, keys)
    out = {}
    for arm in comp.arms:
        m, codes = simulate(comp.model, params, arm.calendar, keys, events=comp.events,
                            event_values=comp.sample_events(ids), initial=initial)  # fmt: skip
        assert (np.asarray(codes) == 0).all()
        out[arm.name] = np.asarray(m["two_point_like"])[:, np.asarray(arm.assess)][:, -1].mean()
    assert out["late"] < out["usual-care"] - 0.5, out
    assert out["early-and-late"] < out["late"] - 0.5, out
