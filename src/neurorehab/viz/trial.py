"""Figures and tables of a virtual trial: observed trajectories, forest plot, power curve, CONSORT."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from neurorehab.io.results import query
from neurorehab.viz.figures import COLORS, plt, png


def trajectories(run: Path, trial: dict[str, Any]) -> bytes:
    """Primary measure per arm as the trial saw it: allocated patients, visits before drop-out."""
    measure = trial["primary_measure"]
    patients = Path(run) / "patients.parquet"
    rows = query(
        run,
        f"""
        select r.arm, r.day, avg(r.value), stddev_samp(r.value), count(r.value)
        from daily r join read_parquet('{patients.as_posix()}') p
          on r.patient = p.patient and r.arm = p.arm
        where r.measure = '{measure}' and r.failure = 0 and r.day < p.dropout_day
        group by r.arm, r.day order by r.arm, r.day""",
    ).fetchall()
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for i, arm in enumerate(trial["arms"]):
        mine = np.asarray([r[1:] for r in rows if r[0] == arm], float)
        if not len(mine):
            continue
        day, mean, sd, n = mine.T
        half = stats.t.ppf(0.975, np.maximum(n - 1, 1)) * np.nan_to_num(sd) / np.sqrt(n)
        c = COLORS[i % len(COLORS)]
        ax.plot(day, mean, "o-", color=c, ms=3, label=f"{arm} (n={int(n[-1])} at the end)")
        ax.fill_between(day, mean - half, mean + half, color=c, alpha=0.2)
    for d, label in ((trial["baseline_day"], "baseline"), (trial["followup_day"], "follow-up")):
        ax.axvline(d, color="#999", lw=0.8, ls="--")
        ax.text(d, ax.get_ylim()[1], f" {label}", va="top", fontsize=8, color="#666")
    ax.set(xlabel="day", ylabel=measure, title="Observed outcome by allocated arm (mean, 95 % CI)")
    ax.legend(fontsize=8, frameon=False)
    return png(fig)


def forest(trial: dict[str, Any]) -> bytes:
    """Effect on the primary outcome: overall (ANCOVA) and in each subgroup half (change score),
    with the true effect the simulator knows as an open circle."""
    labels, est, lo, hi, truth = [], [], [], [], []
    for arm, comp in trial["comparisons"].items():
        if "ancova" not in comp:
            continue
        a = comp["ancova"]
        labels.append(f"{arm}: all (ANCOVA)")
        est.append(a["effect"])
        lo.append(a["ci_low"])
        hi.append(a["ci_high"])
        truth.append(comp["true_effect"]["mean"])
        for name, g in comp.get("subgroups", {}).items():
            for half in ("low", "high"):
                row = g[half]
                sign = "<=" if half == "low" else ">"
                n = f"n={row['n_treated']}+{row['n_control']}"
                labels.append(f"  {name} {sign} {g['split_at']:.3g} ({n})")
                est.append(row.get("effect"))
                lo.append(row.get("ci_low"))
                hi.append(row.get("ci_high"))
                truth.append(row.get("true_effect"))
    y = np.arange(len(labels))[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(labels) + 1.2))
    for yi, e, lo_, hi_, t in zip(y, est, lo, hi, truth, strict=True):
        if e is not None:
            xerr = np.maximum(0, [[e - lo_], [hi_ - e]])
            ax.errorbar(e, yi, xerr=xerr, fmt="s", color="#1f77b4", ms=5, capsize=2)
        if t is not None:
            ax.plot(t, yi, "o", mfc="none", mec="#d62728", ms=7)
    ax.axvline(0, color="#666", lw=0.8)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set(
        xlabel=f"difference in {trial['primary_measure']} vs {trial['control']} (95 % CI)",
        title="Effects overall and by subgroup (open circle: true effect)",
    )
    return png(fig)


def power_figure(trial: dict[str, Any]) -> bytes:
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for i, (arm, p) in enumerate(trial["power"].items()):
        n = [r["n_per_arm"] for r in p["rows"]]
        pw = np.asarray([r["power"] for r in p["rows"]])
        ci = np.asarray([r["ci"] for r in p["rows"]])
        c = COLORS[(i + 1) % len(COLORS)]
        yerr = np.maximum(0, [pw - ci[:, 0], ci[:, 1] - pw])
        ax.errorbar(n, pw, yerr=yerr, fmt="o-", color=c, capsize=3, label=arm)
    for level in (0.8, 0.9):
        ax.axhline(level, color="#999", lw=0.8, ls="--")
    ax.axhline(trial["alpha"], color="#bbb", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set(
        xlabel="patients per arm",
        ylabel="power",
        ylim=(0, 1.02),
        title="Power by simulation (Wilson 95 % CI)",
    )
    ax.legend(fontsize=8, frameon=False)
    return png(fig)


def consort(trial: dict[str, Any]) -> bytes:
    """CONSORT-style flow: enrolled, allocated, lost to follow-up, analysed."""
    c = trial["consort"]
    arms = list(c["arms"])
    fig, ax = plt.subplots(figsize=(2.6 * len(arms) + 1, 3.6))
    ax.set_axis_off()
    ax.set(xlim=(0, len(arms)), ylim=(0, 4))

    def box(x: float, y: float, text: str) -> None:
        ax.text(
            x,
            y,
            text,
            ha="center",
            va="center",
            fontsize=8.5,
            bbox={"boxstyle": "round", "fc": "#f4f4f4", "ec": "#888"},
        )

    screened = c.get("screened", c["enrolled"])
    if screened != c["enrolled"]:
        rules = "; ".join(_criterion(k) for k in trial.get("eligibility", []))
        text = f"Screened n = {screened}\nnot eligible n = {screened - c['enrolled']}\n({rules})"
        ax.text(len(arms) - 0.02, 3.95, text, ha="right", va="top", fontsize=7.5, color="#555")
    box(len(arms) / 2, 3.6, f"Enrolled (virtual patients)\nn = {c['enrolled']}")
    for i, arm in enumerate(arms):
        a, x = c["arms"][arm], i + 0.5
        ax.annotate("", (x, 2.75), (len(arms) / 2, 3.35), arrowprops={"arrowstyle": "->", "color": "#888"})
        box(x, 2.5, f"Allocated to {arm}\nn = {a['allocated']}")
        lost = f"Lost to follow-up n = {a['lost_to_follow_up']}"
        if a["simulation_failed"]:
            lost += f"\nsimulation failed n = {a['simulation_failed']}"
        box(x, 1.45, lost)
        box(x, 0.45, f"Analysed\nn = {a['analysed']}")
    return png(fig)


def _criterion(k: dict[str, Any]) -> str:
    bounds = [f"{k['measure']} >= {k['at_least']:g}"] if k.get("at_least") is not None else []
    bounds += [f"{k['measure']} <= {k['at_most']:g}"] if k.get("at_most") is not None else []
    return " and ".join(bounds) + f" on day {k['day']}"


def results_table(trial: dict[str, Any]) -> str:
    """The main numbers as an HTML table, one row per comparison."""

    def ci(d: dict[str, Any], key: str = "effect") -> str:
        if d.get(key) is None:
            return html.escape(d.get("error", "n/a"))
        p = f", p = {d['p']:.3g}" if d.get("p") is not None else ""
        return f"{d[key]:.3g} [{d['ci_low']:.3g}, {d['ci_high']:.3g}]{p}"

    head = (
        "<tr><th>arm vs control</th><th>n</th><th>ANCOVA (primary)</th><th>change, Welch</th>"
        "<th>mixed model</th><th>Hedges' g</th><th>responders (rate, NNT)</th><th>true effect</th></tr>"
    )
    rows = []
    for arm, comp in trial["comparisons"].items():
        if "ancova" not in comp:
            rows.append(
                f"<tr><td>{html.escape(arm)}</td><td colspan=7>{html.escape(comp.get('error', ''))}</td></tr>"
            )
            continue
        r = comp.get("responders")
        resp = "no MID given"
        if r:
            nnt = f"{r['nnt']:.1f}" if r["nnt"] is not None else "n/a"
            nnt_ci = f" [{r['nnt_ci'][0]:.1f}, {r['nnt_ci'][1]:.1f}]" if r.get("nnt_ci") else " (unbounded)"
            resp = f"{r['rate_treated']:.0%} vs {r['rate_control']:.0%}; NNT {nnt}{nnt_ci}"
        rows.append(
            f"<tr><td>{html.escape(arm)}</td><td>{comp['n_treated']} + {comp['n_control']}</td>"
            f"<td>{ci(comp['ancova'])}</td><td>{ci(comp['change_difference'])}</td>"
            f"<td>{ci(comp['mixed_model'])}</td><td>{ci(comp['hedges_g'], 'g')}</td><td>{resp}</td>"
            f"<td>{comp['true_effect']['mean']:.3g}</td></tr>"
        )
    power = ""
    for arm, p in trial.get("power", {}).items():
        need = ", ".join(f"{k}: {v if v is not None else 'more than tried'}" for k, v in p["needed"].items())
        power += (
            f"<p>Patients per arm needed ({html.escape(arm)}): {need} "
            f"({p['repeats']} virtual trials a size).</p>"
        )
    return f"<table>{head}{''.join(rows)}</table>{power}{secondary_table(trial)}"


def secondary_table(trial: dict[str, Any]) -> str:
    """The secondary outcomes: means by arm, the ANCOVA against control and the true effect."""
    ends = trial.get("secondary") or []
    if not ends:
        return ""
    rows = []
    for e in ends:
        log = e["scale"] == "log"
        means = "; ".join(
            f"{html.escape(arm)} {m['baseline_mean']:.3g} &rarr; "
            + (f"{m['followup_mean']:.3g}" if m["followup_mean"] is not None else "n/a")
            for arm, m in e["per_arm"].items()
        )
        for arm, comp in e["comparisons"].items():
            a = comp.get("ancova")
            unit = " %" if log else ""
            est = (
                f"{a['effect']:.3g}{unit} [{a['ci_low']:.3g}, {a['ci_high']:.3g}], p = {a['p']:.3g}"
                if a
                else html.escape(comp.get("error", "n/a"))
            )
            true = "n/a" if comp["true_effect"] is None else f"{comp['true_effect']:.3g}{unit}"
            rows.append(
                f"<tr><td>{html.escape(e['measure'])}{' (log)' if log else ''}</td>"
                f"<td>{e['baseline_day']} &rarr; {e['followup_day']}</td><td>{means}</td>"
                f"<td>{html.escape(arm)}</td><td>{est}</td><td>{true}</td></tr>"
            )
    head = (
        "<tr><th>secondary outcome</th><th>days</th><th>mean by arm (geometric for log)</th>"
        "<th>arm vs control</th><th>ANCOVA (log: % ratio)</th><th>true effect</th></tr>"
    )
    return f"<h3>Secondary outcomes</h3><table>{head}{''.join(rows)}</table>"
