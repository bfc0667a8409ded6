"""Report figures from tidy results (pandas-free: numpy arrays out of DuckDB)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from scipy import stats

from neurorehab.io.results import query

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f"]


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def summary(run: Path, measure: str) -> dict[str, dict[str, np.ndarray]]:
    """Per arm: days, mean, 95 % t-interval half-width and n over patients that did not fail."""
    rows = query(
        run,
        f"""
        select arm, day, avg(value) as mean, stddev_samp(value) as sd, count(value) as n
        from results where measure = '{measure}' and failure = 0 and isfinite(value)
        group by arm, day order by arm, day""",
    ).fetchall()
    out: dict[str, dict[str, list[float]]] = {}
    for arm, day, mean, sd, n in rows:
        d = out.setdefault(arm, {"day": [], "mean": [], "half": [], "n": []})
        half = stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n) if n > 1 and sd is not None else 0.0
        for k, v in (("day", day), ("mean", mean), ("half", half), ("n", n)):
            d[k].append(v)
    return {a: {k: np.asarray(v, float) for k, v in d.items()} for a, d in out.items()}


def recovery_curves(run: Path, measures: list[str], units: dict[str, str], arms: list[str]) -> bytes:
    """One panel per measure: each arm's mean with its 95 % confidence band over days."""
    cols = min(3, len(measures))
    rows = int(np.ceil(len(measures) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax, m in zip(axes.flat, measures, strict=False):
        s = summary(run, m)
        for i, arm in enumerate(arms):
            if arm not in s:
                continue
            d, c = s[arm], COLORS[i % len(COLORS)]
            ax.plot(d["day"], d["mean"], color=c, label=arm, lw=1.8)
            ax.fill_between(d["day"], d["mean"] - d["half"], d["mean"] + d["half"], color=c, alpha=0.2)
        ax.set_title(m, fontsize=10)
        ax.set_xlabel("day")
        ax.set_ylabel(units.get(m, ""))
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(measures) :]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=8)
    fig.suptitle("Mean per arm with 95 % confidence interval", fontsize=11)
    fig.tight_layout()
    return png(fig)


def pathway_figures(run: Path, arms: list[str], snapshots: dict[str, Any]) -> list[tuple[str, bytes]]:
    """A->D and B->D weights over time per arm (seed 000, Fig. 2)."""
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for measure, style in (("w_ad", "-"), ("w_bd", "--")):
        s = summary(run, measure)
        for i, arm in enumerate(arms):
            if arm in s:
                d = s[arm]
                ax.plot(
                    d["day"],
                    d["mean"],
                    style,
                    color=COLORS[i % len(COLORS)],
                    label=f"{arm}: {'A' if measure == 'w_ad' else 'B'}->D",
                )
    ax.set_xlabel("day")
    ax.set_ylabel("mean weight")
    ax.set_title("Surviving route A->D (solid) and lost route B->D (dashed)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return [("A->D and B->D weights", png(fig))]


def load_snapshots(path: Path) -> dict[str, dict[str, np.ndarray]]:
    """A run's snapshot file as {label: {name: array}} in the order the run took them."""
    data = dict(np.load(path))
    labels = [str(x) for x in data.pop("labels")]
    return {
        label: {k.split("__", 1)[1]: v for k, v in data.items() if k.startswith(f"{label}__")}
        for label in labels
    }


def _pick(snaps: dict[str, dict[str, np.ndarray]], *labels: str) -> tuple[str, dict[str, np.ndarray]]:
    for label in labels:
        if label in snaps:
            return label, snaps[label]
    last = list(snaps)[-1]
    return last, snaps[last]


def spines_figures(run: Path, arms: list[str], snapshots: dict[str, Any]) -> list[tuple[str, bytes]]:
    """Spine maps of one animal per arm early in training (coloured by birth day) and the
    cluster fraction by day."""
    out = []
    if snapshots:
        picked = {arm: _pick(snaps, "early therapy", "end") for arm, snaps in snapshots.items()}
        fig, axes = plt.subplots(len(picked), 1, figsize=(9, 1.9 * len(picked)), squeeze=False)
        for ax, (arm, (label, snap)) in zip(axes[:, 0], picked.items(), strict=True):
            alive, birth = snap["alive"][:8], snap["birth"][:8]
            yy, xx = np.nonzero(alive)
            old = birth[yy, xx] < 0
            ax.scatter(xx[old], yy[old], s=6, c="#bbbbbb", label="pre-existing")
            sc = ax.scatter(
                xx[~old],
                yy[~old],
                s=14,
                c=birth[yy, xx][~old],
                cmap="viridis",
                label="new (colour: birth day)",
            )
            ax.set_title(f"{arm}: spine map on day {int(snap['day'])}, {label} (8 branches)", fontsize=9)
            ax.set_xlabel("position along branch (um)")
            ax.set_yticks([])
            if (~old).any():
                fig.colorbar(sc, ax=ax, label="birth day", pad=0.01)
        axes[0, 0].legend(fontsize=7, loc="upper right")
        fig.tight_layout()
        out.append(("Spine maps", png(fig)))
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    s = summary(run, "cluster_fraction")
    for i, arm in enumerate(arms):
        if arm in s:
            d, c = s[arm], COLORS[i % len(COLORS)]
            ax.plot(d["day"], d["mean"], "-o", ms=3, color=c, label=arm)
            ax.fill_between(d["day"], d["mean"] - d["half"], d["mean"] + d["half"], color=c, alpha=0.2)
    ax.axhline(32.5, color="k", ls=":", lw=1)
    ax.text(0.5, 33.5, "Fu et al. 2012: 32.5 % (days 1-4)", fontsize=7)
    ax.axhline(6.8, color="gray", ls=":", lw=1)
    ax.text(0.5, 7.8, "controls 6.8 %", fontsize=7, color="gray")
    ax.set_xlabel("day")
    ax.set_ylabel("% of new spines in clusters")
    ax.set_title("Cluster fraction of new spines (4-day window)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    out.append(("Cluster fraction by day", png(fig)))
    return out


MODEL_FIGURES = {"pathway": pathway_figures, "spines": spines_figures}


def _arm_doses(run: Path) -> tuple[dict[str, int], int | None]:
    """Total repetitions per arm when the arms form a dose sweep (every arm with a protocol uses
    the same single intervention), and the day the last therapy block ends; empty otherwise,
    e.g. CIMT against usual care."""
    from neurorehab.config import compile_scenario, parse_scenario

    scenario = parse_scenario(json.loads((run / "manifest.json").read_text())["scenario"])
    kinds = {b.intervention for arm in scenario.arms for b in arm.protocol}
    if len(kinds) != 1:
        return {}, None
    end = max(b.start_day + b.n_days for arm in scenario.arms for b in arm.protocol)
    doses = {a.name: int(np.asarray(a.calendar.n_trials).sum()) for a in compile_scenario(scenario).arms}
    return doses, end


def per_patient(run: Path, measure: str, arm: str, day: int) -> dict[int, float]:
    """One measure of every non-failed patient of an arm on the first assessment on or after
    `day`: patient id -> value (empty when no assessment falls that late)."""
    rows = query(
        run,
        f"""
        with first as (select min(day) as d from results
                       where arm = '{arm}' and measure = '{measure}' and day >= {int(day)})
        select patient, value from results, first
        where arm = '{arm}' and measure = '{measure}' and day = first.d and failure = 0
        order by patient""",
    ).fetchall()
    return {int(p): float(v) for p, v in rows}


def _threshold_inputs(run: Path, arms: list[str], end: int, last: int) -> list[list[np.ndarray]] | None:
    """Per arm, use a week after therapy, use on the last day and the error right after
    therapy, of the same patients; None when an arm has none."""
    out: list[list[np.ndarray]] = [[], [], []]
    for arm in arms:
        maps = [
            per_patient(run, "use_share", arm, end + 7),
            per_patient(run, "use_share", arm, last),
            per_patient(run, "error_q1", arm, end),
        ]
        ids = sorted(set(maps[0]) & set(maps[1]) & set(maps[2]))
        if not ids:
            return None
        for column, m in zip(out, maps, strict=True):
            column.append(np.asarray([m[i] for i in ids]))
    return out


def motor_figures(run: Path, arms: list[str], snapshots: dict[str, Any]) -> list[tuple[str, bytes]]:
    """Tuning of both cortices before and after (polar histograms) and, for dose sweeps,
    dose-response."""
    out = []
    doses, end = _arm_doses(run)
    if snapshots:
        have = sorted((a for a in arms if a in snapshots), key=lambda a: doses.get(a, 0))
        # at most 4 rows, spread over the arms (a dose sweep: lowest, two between, highest)
        shown = [have[i] for i in sorted({round(k * (len(have) - 1) / 3) for k in range(4)})] if have else []
        panels = [
            ("affected cortex", 0, ("baseline",)),
            ("affected, after injury", 0, ("after injury", "baseline")),
            ("affected, end of therapy", 0, ("end of therapy", "end")),
            ("affected, end", 0, ("end",)),
            ("less affected, end", 1, ("end",)),
        ]
        fig, axes = plt.subplots(
            len(shown),
            len(panels),
            figsize=(2.6 * len(panels), 2.8 * len(shown)),
            squeeze=False,
            subplot_kw={"projection": "polar"},
        )
        bins = np.linspace(0, 2 * np.pi, 37)
        for row, arm in enumerate(shown):
            for col, (title, cortex, labels) in enumerate(panels):
                _, snap = _pick(snapshots[arm], *labels)
                ax = axes[row, col]
                pd, alive, silenced = (
                    snap["pd"][cortex],
                    snap["alive"][cortex] > 0,
                    snap["silenced"][cortex] > 0,
                )
                ax.hist(pd[alive & ~silenced], bins=bins, color=COLORS[row % len(COLORS)], alpha=0.8)
                if silenced.any():
                    ax.hist(pd[alive & silenced], bins=bins, color="#999999", alpha=0.6)
                ax.set_title(f"{arm}: {title}", fontsize=7)
                ax.set_yticklabels([])
                ax.tick_params(labelsize=6)
        fig.suptitle(
            "Preferred directions of working cells (grey: silenced, recoverable), patient 0", fontsize=10
        )
        fig.tight_layout()
        out.append(("Tuning of both cortices", png(fig)))
    shown = [a for a in arms if a in doses]
    if end is None or len({doses[a] for a in shown}) < 3:
        return out
    use = summary(run, "use_share")
    last = int(max((max(use[a]["day"]) for a in shown if a in use), default=-1))
    # use_share covers the past week: a week after therapy ends, it is the first week's use
    inputs = _threshold_inputs(run, shown, end, last) if last > end + 7 else None
    if inputs is not None:
        from neurorehab.cohort import dose_threshold

        th = dose_threshold([doses[a] for a in shown], *inputs)
        x = np.maximum(th.doses, 1.0)
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10.5, 3.8))
        ax.plot(x, th.losing, "-o", color=COLORS[1], label="keep losing use")
        ax.plot(x, th.gaining, "-s", color=COLORS[2], label="keep gaining use")
        ax.axhline(0.5, color="#999999", lw=0.8)
        if np.isfinite(th.threshold):
            ax.axvline(max(th.threshold, 1.0), color="k", ls="--", lw=1)
            ax.set_title(
                f"Threshold ~{th.threshold:.0f} repetitions "
                f"(error after therapy {th.error_at_threshold:.0f} deg)",
                fontsize=10,
            )
        else:
            ax.set_title("No threshold within the doses swept", fontsize=10)
        ax.set_xscale("log")
        ax.set_xlabel("total therapy repetitions (0 drawn at 1)")
        ax.set_ylabel(f"share of patients, day {end + 7} to {int(last)}")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        ax2.plot(x, th.error_after, "-s", color=COLORS[0])
        ax2.set_xscale("log")
        ax2.set_xlabel("total therapy repetitions (0 drawn at 1)")
        ax2.set_ylabel("affected-quadrant error after therapy (deg)")
        ax2.grid(alpha=0.3)
        fig.suptitle("Dose-response: does spontaneous use keep growing after therapy ends?", fontsize=11)
        fig.tight_layout()
        out.append(("Dose-response and threshold", png(fig)))
    return out


MODEL_FIGURES["motor"] = motor_figures
