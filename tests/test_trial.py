"""Virtual trials: allocation, drop-out, the statistics against published worked examples and
statsmodels/scipy on the same data, a null intervention's type I error, cohorts with
correlated traits and patient tables, and identical numbers from every executor."""

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from neurorehab.cohort.lmm import fit_random_intercept
from neurorehab.cohort.trial import (
    TrialData,
    allocate,
    analyse,
    ancova,
    dropout_days,
    hedges_g,
    power_curve,
    strata_codes,
)
from neurorehab.config import compile_scenario, parse_scenario
from neurorehab.config.scenario import ScenarioError
from neurorehab.runners import Execution, run_scenario

ROOT = Path(__file__).resolve().parents[1]

TRIAL = {
    "name": "trial-small",
    "model": "pathway",
    "seed": 11,
    "duration_days": 35,
    "patients": {
        "count": 120,
        "params": {
            "learning_rate": {"dist": "lognormal", "median": 0.01, "sd_log": 0.4},
            "w_a0": {"dist": "uniform", "low": 0.15, "high": 0.25},
        },
        "traits": {"age": {"dist": "normal", "mean": 60, "sd": 10}},
        "correlations": [{"a": "age", "b": "learning_rate", "r": -0.5}],
    },
    "injury": {"kind": "lose-b", "day": 1},
    "arms": [
        {"name": "rest"},
        {
            "name": "practice",
            "protocol": [{"start_day": 7, "weeks": 3, "sessions_per_week": 5, "repetitions": 60}],
        },
    ],
    "assessments": {"every_days": 7, "days": [6]},
    "trial": {
        "control": "rest",
        "primary": {"measure": "d_function", "baseline_day": 6, "followup_day": 35},
        "allocation": {"scheme": "stratified", "block_size": 4, "strata": ["age"]},
        "dropout_per_week": 0.03,
        "mid": 5.0,
        "subgroups": ["age", "learning_rate"],
        "power": {"sizes": [5, 20], "repeats": 40},
    },
    "chunk_size": 40,
}


def scenario(**changes):
    data = json.loads(json.dumps(TRIAL))
    for key, value in changes.items():
        *path, last = key.split(".")
        node = data
        for p in path:
            node = node[p]
        node[last] = value
    return parse_scenario(data)


# --- allocation and drop-out -------------------------------------------------------------


def test_block_allocation_is_balanced_within_every_block_and_stratum():
    rng = np.random.default_rng(0)
    a = allocate(103, 2, rng, scheme="block", block_size=4)
    for start in range(0, 100, 4):  # each complete block holds 2 of each arm
        assert np.bincount(a[start : start + 4], minlength=2).tolist() == [2, 2]
    strata = strata_codes({"x": rng.normal(size=300), "y": rng.normal(size=300)})
    assert set(strata) == {0, 1, 2, 3}
    b = allocate(300, 3, rng, scheme="stratified", block_size=6, strata=strata)
    for s in range(4):  # within a stratum the arms differ by at most one incomplete block
        counts = np.bincount(b[strata == s], minlength=3)
        assert counts.max() - counts.min() <= 2, counts
    same = allocate(50, 2, np.random.default_rng(7), scheme="simple")
    assert np.array_equal(same, allocate(50, 2, np.random.default_rng(7), scheme="simple"))


def test_dropout_follows_a_constant_weekly_hazard():
    """Staying through w weeks has probability (1 - p)^w (geometric law); 20,000 patients."""
    p, n = 0.05, 20_000
    days = dropout_days(n, p, 10, np.random.default_rng(3))
    for weeks in (1, 4, 10):
        stayed = np.mean(days > 10 + 7 * weeks)
        expected = (1 - p) ** weeks
        assert abs(stayed - expected) < 4 * np.sqrt(expected * (1 - expected) / n)
    assert np.isinf(dropout_days(5, 0.0, 10, np.random.default_rng(0))).all()


# --- statistics against references --------------------------------------------------------


def _exact(mean, sd, n, seed):
    x = np.random.default_rng(seed).normal(size=n)
    return mean + sd * (x - x.mean()) / x.std(ddof=1)


def test_hedges_g_matches_borenstein_worked_example():
    """Borenstein et al. 2009, Introduction to Meta-Analysis, ch. 4: means 103 and 100, SDs 5.5
    and 4.5, n = 50 each: d = 0.5970, J = 0.9923, g = 0.5924, V_g = 0.0411."""
    x, y = _exact(103, 5.5, 50, 1), _exact(100, 4.5, 50, 2)
    g, lo, hi = hedges_g(x, y)
    assert g == pytest.approx(0.5924, abs=5e-4)
    se = (hi - lo) / (2 * stats.norm.ppf(0.975))
    assert se**2 == pytest.approx(0.0411, abs=1e-4)


def test_hedges_g_interval_covers_the_truth_95_percent_of_the_time():
    rng = np.random.default_rng(5)
    covered = 0
    for _ in range(2000):
        _, lo, hi = hedges_g(rng.normal(0.5, 1, 30), rng.normal(0, 1, 30))
        covered += lo <= 0.5 <= hi
    assert abs(covered / 2000 - 0.95) < 0.015  # binomial SD 0.005


def test_responders_match_newcombe_1998_example():
    """Newcombe 1998 (Stat Med 17:873), Table II, example (a) 56/70 vs 48/80: difference 0.2,
    hybrid score (method 10) interval 0.0524 to 0.3339; NNT is its inverse (Altman 1998)."""
    from neurorehab.cohort.trial import _responders

    t = np.r_[np.ones(56, bool), np.zeros(14, bool)]
    c = np.r_[np.ones(48, bool), np.zeros(32, bool)]
    r = _responders(t, c, 0.05)
    assert r["risk_difference"] == pytest.approx(0.2, abs=1e-9)
    assert r["rd_ci"] == pytest.approx([0.0524, 0.3339], abs=5e-5)
    assert r["nnt"] == pytest.approx(5.0)
    assert r["nnt_ci"] == pytest.approx([1 / 0.3339, 1 / 0.0524], rel=2e-3)


def test_ancova_matches_the_textbook_closed_form():
    """Two-group ANCOVA (Snedecor & Cochran, Statistical Methods, ch. 18): the adjusted effect is
    (mean y1 - mean y0) - b_w (mean x1 - mean x0) with b_w the pooled within-group slope; its
    t statistic has n - 3 degrees of freedom."""
    rng = np.random.default_rng(9)
    x1, x0 = rng.normal(10, 2, 40), rng.normal(11, 2, 45)
    y1, y0 = 1.5 + 0.8 * x1 + rng.normal(0, 1, 40), 0.8 * x0 + rng.normal(0, 1, 45)
    a = ancova(np.r_[y1, y0], np.r_[x1, x0], np.r_[np.ones(40, bool), np.zeros(45, bool)])
    sxx = ((x1 - x1.mean()) ** 2).sum() + ((x0 - x0.mean()) ** 2).sum()
    sxy = ((x1 - x1.mean()) * (y1 - y1.mean())).sum() + ((x0 - x0.mean()) * (y0 - y0.mean())).sum()
    bw = sxy / sxx
    effect = (y1.mean() - y0.mean()) - bw * (x1.mean() - x0.mean())
    resid = np.r_[y1 - y1.mean() - bw * (x1 - x1.mean()), y0 - y0.mean() - bw * (x0 - x0.mean())]
    s2 = (resid**2).sum() / (85 - 3)
    se = np.sqrt(s2 * (1 / 40 + 1 / 45 + (x1.mean() - x0.mean()) ** 2 / sxx))
    assert a["effect"] == pytest.approx(effect, rel=1e-9)
    assert a["p"] == pytest.approx(2 * stats.t.sf(abs(effect / se), 82), rel=1e-6)
    assert a["ci_low"] == pytest.approx(effect - stats.t.ppf(0.975, 82) * se, rel=1e-9)


def _synthetic(n=300, effect=2.0, seed=0):
    """Baseline ~ N(10, 2); follow-up = baseline + 1 + effect x treated + patient + noise."""
    rng = np.random.default_rng(seed)
    base = rng.normal(10, 2, n)
    u = rng.normal(0, 1.5, n)
    pot = np.stack([base + 1 + u + rng.normal(0, 1, n), base + 1 + effect + u + rng.normal(0, 1, n)], 1)
    allocated = allocate(n, 2, rng, block_size=4)
    days = [0, 7, 14, 21]
    rows = []
    for i in range(n):
        for d in days:
            frac = d / 21
            value = (
                base[i] + frac * (pot[i, allocated[i]] - base[i]) + rng.normal(0, 0.5) * (d > 0) * (d < 21)
            )
            rows.append((i, d, value))
    visits = pd.DataFrame(rows, columns=["patient", "day", "value"])
    return TrialData(
        arms=("control", "treated"),
        control=0,
        allocated=allocated,
        baseline_potential=np.stack([base, base], 1),
        potential=pot,
        dropout_day=dropout_days(n, 0.02, 0, rng),
        failed=np.zeros(n, bool),
        baseline_day=0,
        followup_day=21,
        visits=visits,
        traits={"age": rng.normal(60, 10, n)},
    )


def test_analysis_agrees_with_statsmodels_formulas_and_recovers_a_known_effect():
    data = _synthetic()
    res = analyse(data, mid=1.5, subgroups=("age",))
    comp = res["comparisons"]["treated"]
    base, follow = data.observed()
    frame = pd.DataFrame({"y": follow, "b": base, "t": data.allocated}).dropna()
    fit = smf.ols("y ~ C(t) + b", frame).fit()
    assert comp["ancova"]["effect"] == pytest.approx(fit.params["C(t)[T.1]"], rel=1e-9)
    assert comp["ancova"]["p"] == pytest.approx(fit.pvalues["C(t)[T.1]"], rel=1e-6)
    ch = frame["y"] - frame["b"]
    w = stats.ttest_ind(ch[frame.t == 1], ch[frame.t == 0], equal_var=False)
    assert comp["change_difference"]["p"] == pytest.approx(w.pvalue, rel=1e-9)
    for method in ("ancova", "mixed_model"):  # the known effect (2.0) inside each 95 % interval
        assert comp[method]["ci_low"] < 2.0 < comp[method]["ci_high"], (method, comp[method])
    assert comp["true_effect"]["mean"] == pytest.approx(2.0, abs=0.2)
    c = res["consort"]
    assert c["enrolled"] == 300
    assert sum(a["allocated"] for a in c["arms"].values()) == 300
    for a in c["arms"].values():
        assert a["analysed"] + a["lost_to_follow_up"] + a["simulation_failed"] == a["allocated"]
    assert comp["subgroups"]["age"]["interaction_p"] > 0.001  # no true heterogeneity here


@pytest.mark.parametrize("tau", [4.0, 0.0])
def test_random_intercept_reml_agrees_with_statsmodels_mixedlm(tau):
    """cohort.lmm's closed-form REML against statsmodels' MixedLM (the same model and formula:
    arm x visit day, baseline, a random intercept per patient) on a trial-like data set with
    drop-out; with tau = 0 the between-patient variance sits at its boundary. Effects agree to
    1e-6, standard errors to 1e-3, variances to 1e-3 (MixedLM's own optimiser tolerance)."""
    import warnings

    rng = np.random.default_rng(0)
    days, follow_up, rows = np.arange(14, 71, 7), 70, []
    for i in range(300):
        t, b, u = i % 2, rng.normal(50, 10), rng.normal(0, tau)
        drop = rng.choice([49, 200], p=[0.15, 0.85])
        rows += [(i, d, t, b, 0.5 * b + 2.0 * t * d / 70 + u + rng.normal(0, 3)) for d in days if d < drop]
    f = pd.DataFrame(rows, columns=["patient", "day", "treated", "baseline", "value"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        formula = f"value ~ treated * C(day, Treatment(reference={follow_up})) + baseline"
        sm = smf.mixedlm(formula, f, groups=f["patient"]).fit(reml=True)
    dummies = np.stack([(f["day"] == d).to_numpy(float) for d in days if d != follow_up], 1)
    tr = f["treated"].to_numpy(float)[:, None]
    x = np.column_stack([np.ones(len(f)), tr, dummies, tr * dummies, f["baseline"]])
    ours = fit_random_intercept(x, f["value"].to_numpy(), f["patient"].to_numpy())
    assert ours.beta[1] == pytest.approx(sm.params["treated"], rel=1e-6)
    assert np.sqrt(ours.cov[1, 1]) == pytest.approx(sm.bse["treated"], rel=1e-3)
    assert ours.sigma2 == pytest.approx(sm.scale, rel=1e-3)
    assert ours.tau2 == pytest.approx(float(sm.cov_re.iloc[0, 0]), rel=1e-3, abs=1e-3 * ours.sigma2)


def test_random_intercept_refuses_a_rank_deficient_design():
    # a visit day observed in one arm only: its arm x day column repeats the day's column
    rng = np.random.default_rng(1)
    day = rng.integers(0, 2, 40).astype(float)
    x = np.column_stack([np.ones(40), day, day])
    with pytest.raises(ValueError, match="rank-deficient"):
        fit_random_intercept(x, rng.normal(size=40), np.repeat(np.arange(10), 4))


def test_a_null_intervention_rejects_at_alpha():
    """Two identical arms: the share of virtual trials rejecting at 0.05 is 0.05 (±3 binomial SD)."""
    data = _synthetic(n=2000, effect=0.0, seed=4)
    p = power_curve(data, 1, (30,), 1500, np.random.default_rng(1), per_week=0.02)
    power = p["rows"][0]["power"]
    assert abs(power - 0.05) < 3 * np.sqrt(0.05 * 0.95 / 1500), power
    strong = power_curve(_synthetic(n=400, effect=2.0), 1, (5, 40), 100, np.random.default_rng(2))
    assert strong["rows"][1]["power"] > 0.95 and strong["rows"][0]["power"] < strong["rows"][1]["power"]


def test_sizes_needed_interpolate_the_power_curve():
    from neurorehab.cohort.trial import _needed

    rows = [
        {"n_per_arm": 10, "power": 0.5},
        {"n_per_arm": 20, "power": 0.7},
        {"n_per_arm": 40, "power": 0.95},
    ]
    assert _needed(rows) == {"80%": 28, "90%": 36}
    assert _needed(rows[:2]) == {"80%": None, "90%": None}


# --- cohorts ----------------------------------------------------------------------------------


def test_correlated_traits_keep_their_marginals_and_correlation():
    s = scenario(**{"patients.count": 4000})
    c = compile_scenario(s)
    traits = c.sample_traits(np.arange(4000))
    age, lr = traits["age"], traits["learning_rate"]
    rho = stats.spearmanr(age, lr).statistic
    # Gaussian copula: Spearman's rho = (6/pi) asin(r/2) = -0.483 for r = -0.5
    assert rho == pytest.approx(6 / np.pi * np.arcsin(-0.25), abs=0.04)
    assert np.mean(age) == pytest.approx(60, abs=0.5) and np.std(age) == pytest.approx(10, rel=0.05)
    assert stats.kstest(np.log(lr / 0.01) / 0.4, "norm").pvalue > 0.001
    again = compile_scenario(s).sample_traits(np.arange(100, 110))
    np.testing.assert_array_equal(again["age"], age[100:110])  # a patient is the same in any shard


def test_patient_table_rows_replace_distributions(tmp_path):
    table = tmp_path / "cohort.csv"
    table.write_text("age,learning_rate\n50,0.02\n70,0.005\n")
    data = json.loads(json.dumps(TRIAL))
    data["patients"]["table"] = str(table)
    data["patients"]["correlations"] = []
    c = compile_scenario(parse_scenario(data))
    t = c.sample_traits(np.arange(200))
    pairs = set(zip(t["age"].tolist(), np.round(t["learning_rate"].astype(float), 6).tolist(), strict=True))
    assert pairs == {(50.0, 0.02), (70.0, 0.005)}
    assert np.asarray(c.sample_params(np.arange(200))["learning_rate"]).min() == pytest.approx(0.005)
    bad = tmp_path / "bad.csv"
    bad.write_text("age,learning_rate\n50,abc\n")
    data["patients"]["table"] = str(bad)
    with pytest.raises(ScenarioError, match="non-numeric"):
        parse_scenario(data)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"trial.control": "usual"}, "trial.control: 'usual' is not an arm"),
        ({"trial.primary.followup_day": 30}, "followup_day: day 30 is not an assessment day"),
        ({"trial.primary.measure": "grip"}, "'grip' is not a measure"),
        ({"trial.allocation.block_size": 3}, "not a multiple of the 2 arms"),
        ({"trial.subgroups": ["height"]}, "'height' is not a quantity that varies"),
        ({"patients.correlations": [{"a": "age", "b": "noise", "r": 0.5}]}, "'noise' does not vary"),
        ({"trial.primary.baseline_day": 35}, "must come after baseline_day"),
        ({"trial.eligibility": [{"measure": "grip", "day": 6, "at_least": 1}]}, "eligibility.0.measure"),
        ({"trial.eligibility": [{"measure": "d_function", "day": 5, "at_least": 1}]}, "not an assessment"),
        ({"trial.eligibility": [{"measure": "d_function", "day": 14, "at_least": 1}]}, "after baseline"),
        ({"trial.eligibility": [{"measure": "d_function", "day": 6}]}, "give at_least, at_most or both"),
        ({"trial.eligibility": [{"measure": "d_function", "day": 6, "at_least": 2, "at_most": 1}]}, "above"),
        (
            {"trial.secondary": [{"measure": "grip", "baseline_day": 6, "followup_day": 35}]},
            "secondary.0.measure",
        ),
        (
            {"trial.secondary": [{"measure": "d_function", "baseline_day": 6, "followup_day": 30}]},
            "trial.secondary.0.followup_day: day 30 is not an assessment day",
        ),
        (
            {"trial.secondary": [{"measure": "d_function", "baseline_day": 14, "followup_day": 7}]},
            "trial.secondary.0.followup_day: 7 must come after baseline_day (14)",
        ),
        (
            {
                "trial.secondary": [
                    {"measure": "d_function", "baseline_day": 6, "followup_day": 7, "scale": "x"}
                ]
            },
            "scale",
        ),
    ],
)
def test_bad_trial_input_is_refused_naming_the_field(change, fragment):
    with pytest.raises(ScenarioError) as err:
        scenario(**change)
    assert fragment in "\n".join(err.value.lines)


def test_impossible_correlations_are_refused():
    data = json.loads(json.dumps(TRIAL))
    data["patients"]["correlations"] = [
        {"a": "age", "b": "learning_rate", "r": 0.9},
        {"a": "age", "b": "w_a0", "r": 0.9},
        {"a": "learning_rate", "b": "w_a0", "r": -0.9},
    ]
    with pytest.raises(ScenarioError, match="not positive definite"):
        parse_scenario(data)


# --- a whole run -------------------------------------------------------------------------------


UNBRANCHED = property(lambda self: tuple((-1, 0) for _ in self.arms))  # every arm run whole


def _branched_and_whole(s, tmp_path, monkeypatch):
    """`s` run as its arms branch (`CompiledScenario.branches`) into tmp_path/tree, then with
    every arm run whole into tmp_path/whole; their results are checked equal, bit for bit."""
    from neurorehab.config.compile import CompiledScenario

    run_scenario(s, tmp_path / "tree")
    monkeypatch.setattr(CompiledScenario, "branches", UNBRANCHED)
    run_scenario(s, tmp_path / "whole")
    pd.testing.assert_frame_equal(_results(tmp_path / "tree"), _results(tmp_path / "whole"), check_exact=True)
    return tmp_path / "tree", tmp_path / "whole"


def _results(folder):
    t = pq.read_table(folder / "results.parquet").to_pandas()
    return t.sort_values(["arm", "patient", "day", "measure"]).reset_index(drop=True)


def test_arms_that_part_at_different_days_form_a_tree_with_the_numbers_of_whole_runs(tmp_path, monkeypatch):
    """Arms that part at different days (rest; practice from day 21; practice from day 7; the
    same for a week longer) run each shared stretch once: an arm goes on from the carry of
    the earlier arm it follows longest (`CompiledScenario.branches`), a grandchild from its
    parent's. The results equal, bit for bit, those of every arm run whole."""

    practice = {"weeks": 3, "sessions_per_week": 5, "repetitions": 60}
    s = scenario(
        **{"patients.count": 24, "chunk_size": 8, "duration_days": 42},
        arms=[
            {"name": "rest"},
            {"name": "late", "protocol": [{"start_day": 21, **practice}]},
            {"name": "early", "protocol": [{"start_day": 7, **practice}]},
            {"name": "early-longer", "protocol": [{"start_day": 7, **practice, "weeks": 4}]},
        ],
    )
    c = compile_scenario(s)
    (p0, _), (p1, late), (p2, early), (p3, longer) = c.branches
    assert (p0, p1, p2, p3) == (-1, 0, 0, 2)  # early-longer follows early, not rest
    assert 0 < early < late and early < longer
    assert c.stops(0) == (early, late) and c.stops(2) == (longer,)
    _branched_and_whole(s, tmp_path, monkeypatch)


def test_pictures_of_a_branched_run_are_those_of_patient_0_run_alone(tmp_path, monkeypatch):
    """When arms branch, an arm's pictures come from the carries at the cuts after each pictured
    slot (`runners.shards._cuts`), so they show the run the results come from; they equal
    those of patient 0 run alone (`snapshots_one`, the path of an unbranched run) to float32
    rounding (the two are compiled apart: a lane of 8 against one patient unbatched)."""
    import yaml

    from neurorehab.config import load_scenario

    data = yaml.safe_load((ROOT / "scenarios" / "stroke-cimt.yaml").read_text())
    practice = {"intervention": "task-practice", "weeks": 1, "sessions_per_week": 5, "repetitions": 100}
    data.update(duration_days=20, assessments={"every_days": 4}, chunk_size=8)
    data["patients"]["count"] = 8
    data["arms"] = [
        {"name": "no-therapy"},
        {"name": "from-day-10", "protocol": [{**practice, "start_day": 10}]},
        {"name": "from-day-6", "protocol": [{**practice, "start_day": 6}]},
    ]
    data.pop("trial", None)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    s = load_scenario(path)
    assert compile_scenario(s).branched
    runs = _branched_and_whole(s, tmp_path, monkeypatch)
    for arm in ("no-therapy", "from-day-10", "from-day-6"):
        tree, alone = (np.load(run / "snapshots" / f"{arm}.npz") for run in runs)
        assert sorted(tree.files) == sorted(alone.files) and len(tree.files) > 2
        for k in tree.files:
            if tree[k].dtype.kind == "f":
                np.testing.assert_allclose(tree[k], alone[k], rtol=1e-5, atol=1e-7, err_msg=f"{arm} {k}")
            else:
                np.testing.assert_array_equal(tree[k], alone[k], err_msg=f"{arm} {k}")


def test_process_workers_are_dealt_cores_in_turn():
    """Each worker of `--executor processes` keeps to its own cores (no two share one): the
    parent's cores dealt out in turn; no pinning with more workers than cores."""
    from neurorehab.runners.shards import _core_sets

    if not hasattr(os, "sched_getaffinity"):
        assert _core_sets(2) == []
        return
    cores = sorted(os.sched_getaffinity(0))
    sets = _core_sets(len(cores))
    assert sorted(c for mine in sets for c in mine) == cores and all(len(m) == 1 for m in sets)
    one = _core_sets(1)
    assert one == [cores]
    assert _core_sets(len(cores) + 1) == []


@pytest.mark.slow
def test_executors_give_identical_results_and_the_trial_matches_statsmodels(tmp_path):
    s = scenario()
    runs = {}
    for how in (Execution("local"), Execution("processes", workers=2), Execution("dask", workers=2)):
        out = tmp_path / how.executor
        manifest = run_scenario(s, out, execution=how)
        assert manifest["timings"]["executor"] == how.executor
        runs[how.executor] = out
    local = _results(runs["local"])
    for name in ("processes", "dask"):
        pd.testing.assert_frame_equal(local, _results(runs[name]), check_exact=True)
        assert json.loads((runs[name] / "trial.json").read_text()) == json.loads(
            (runs["local"] / "trial.json").read_text()
        )
    # the trial's primary analysis, recomputed from the written files with statsmodels
    trial = json.loads((runs["local"] / "trial.json").read_text())
    patients = pq.read_table(runs["local"] / "patients.parquet").to_pandas()
    prim = local[local.measure == "d_function"].merge(patients, on=["patient", "arm"])
    base = prim[prim.day == 6].set_index("patient")["value"]
    fu = prim[(prim.day == 35) & (prim.dropout_day > 35)].set_index("patient")["value"]
    frame = pd.DataFrame({"y": fu, "b": base.loc[fu.index]})
    frame["t"] = (patients.set_index("patient").loc[fu.index, "arm"] == "practice").astype(int)
    assert frame.b.std() > 0.01  # w_a0 varies, so the baseline does
    fit = smf.ols("y ~ t + b", frame).fit()
    assert trial["comparisons"]["practice"]["ancova"]["adjusted_for_baseline"] is True
    assert trial["comparisons"]["practice"]["ancova"]["effect"] == pytest.approx(fit.params["t"], rel=1e-6)
    assert trial["comparisons"]["practice"]["n_treated"] == int(frame.t.sum())
    assert trial["comparisons"]["practice"]["ancova"]["effect"] > 0  # practice restores D (seed 000)
    assert (runs["local"] / "report.html").exists() is False  # reports are built by the CLI


def test_eligibility_enrols_only_patients_meeting_every_criterion(tmp_path):
    """A trial enrols the simulated patients that meet its inclusion criteria at screening (as
    trials enrol on baseline scores: EXCITE, Schnurr 2022); the rest are counted as screened
    and not eligible, never allocated or analysed."""
    full = tmp_path / "all"
    run_scenario(scenario(), full)
    day6 = _results(full)
    day6 = day6[(day6.measure == "d_function") & (day6.day == 6) & (day6.arm == "rest")]
    cut = float(day6.value.median())
    s = scenario(**{"trial.eligibility": [{"measure": "d_function", "day": 6, "at_most": cut}]})
    out = tmp_path / "screened"
    run_scenario(s, out)
    patients = pq.read_table(out / "patients.parquet").to_pandas().set_index("patient")
    value = day6.set_index("patient")["value"]
    eligible = value <= cut
    assert (patients.loc[eligible.index, "arm"] != "not enrolled").tolist() == eligible.tolist()
    assert patients.loc[~eligible, "dropout_day"].isna().all()
    trial = json.loads((out / "trial.json").read_text())
    assert trial["consort"]["screened"] == 120 and trial["consort"]["enrolled"] == int(eligible.sum())
    assert sum(a["allocated"] for a in trial["consort"]["arms"].values()) == int(eligible.sum())
    # the enrolled keep their simulated numbers: the same results file as the unscreened run
    pd.testing.assert_frame_equal(_results(full), _results(out), check_exact=True)
    assert trial["per_arm"]["rest"]["baseline_mean"] < json.loads((full / "trial.json").read_text())[
        "per_arm"]["rest"]["baseline_mean"]  # fmt: skip


def test_secondary_outcomes_are_analysed_over_the_primary_allocation(tmp_path):
    """A secondary outcome shares the primary's allocation and drop-out: given the primary's own
    measure and days it reproduces the primary ANCOVA exactly, and on the log scale its effect
    is 100 (exp(b) - 1) of statsmodels' OLS of log follow-up on arm and log baseline (the
    analysis of log WMFT time in EXCITE, Wolf et al. 2006)."""
    same = {"measure": "d_function", "baseline_day": 6, "followup_day": 35}
    logged = {**same, "scale": "log"}
    earlier = {"measure": "d_function", "baseline_day": 6, "followup_day": 21}
    out = tmp_path / "run"
    run_scenario(scenario(**{"trial.secondary": [same, logged, earlier]}), out)
    trial = json.loads((out / "trial.json").read_text())
    first, second, third = trial["secondary"]
    assert first["comparisons"]["practice"]["ancova"] == trial["comparisons"]["practice"]["ancova"]
    assert first["comparisons"]["practice"]["true_effect"] == pytest.approx(
        trial["comparisons"]["practice"]["true_effect"]["mean"], rel=1e-12
    )
    patients = pq.read_table(out / "patients.parquet").to_pandas()
    results = _results(out)
    mine = results.merge(patients[["patient", "arm", "dropout_day"]], on=["patient", "arm"])
    wide = (
        mine[mine.measure == "d_function"]
        .pivot_table(index=["patient", "arm", "dropout_day"], columns="day", values="value")
        .reset_index()
    )
    seen = wide[wide["dropout_day"].isna() | (wide["dropout_day"] > 35)].copy()
    seen["treated"] = (seen["arm"] == "practice").astype(int)
    seen["lf"], seen["lb"] = np.log(seen[35]), np.log(seen[6])
    fit = smf.ols("lf ~ treated + lb", seen).fit()
    b, (lo, hi) = fit.params["treated"], fit.conf_int().loc["treated"]
    got = second["comparisons"]["practice"]["ancova"]
    assert got["effect"] == pytest.approx(100 * np.expm1(b), rel=1e-9)
    assert got["ci_low"] == pytest.approx(100 * np.expm1(lo), rel=1e-9)
    assert got["ci_high"] == pytest.approx(100 * np.expm1(hi), rel=1e-9)
    rest = wide[wide["arm"] == "rest"]  # the baseline over every patient allocated to rest
    geometric = float(np.exp(np.log(rest[6]).mean()))
    assert second["per_arm"]["rest"]["baseline_mean"] == pytest.approx(geometric, rel=1e-9)
    # an earlier follow-up keeps the patients who dropped out between it and the primary's day
    assert third["comparisons"]["practice"]["n_treated"] >= first["comparisons"]["practice"]["n_treated"]


def test_arms_share_their_run_in_with_the_numbers_of_whole_runs(tmp_path, monkeypatch):
    """The arms of `trial-small` are alike until practice starts on day 7: a shard simulates that
    run-in once and the later arm goes on from the first's carry (`CompiledScenario.branches`).
    The results equal, bit for bit, those of every arm run whole (the engine's conformance test
    splits every model's calendar the same way)."""

    s = scenario()
    (first, _), (parent, at) = compile_scenario(s).branches
    assert (first, parent) == (-1, 0) and at > 0
    _branched_and_whole(s, tmp_path, monkeypatch)
