"""Report figures of `motor` (matplotlib, imported only when a report is built)."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from neurorehab.models.motor.analyses import dose_threshold, proportional_recovery
from neurorehab.models.views import COLORS, pick

MEP_LOSS = 0.6  # cst_threshold's default: CST loss beyond which a patient is MEP-negative


def _threshold_inputs(run: Any, arms: list[str], end: int, last: int) -> list[list[np.ndarray]] | None:
    """Per arm, use a week after therapy, use on the last day and the error right after
    therapy, of the same patients; None when an arm has none."""
    out: list[list[np.ndarray]] = [[], [], []]
    for arm in arms:
        maps = [
            run.per_patient("use_share", arm, end + 7),
            run.per_patient("use_share", arm, last),
            run.per_patient("error_q1", arm, end),
        ]
        ids = sorted(set(maps[0]) & set(maps[1]) & set(maps[2]))
        if not ids:
            return None
        for column, m in zip(out, maps, strict=True):
            column.append(np.asarray([m[i] for i in ids]))
    return out


def _recovery_figure(run: Any) -> tuple[str, Any] | None:
    """Proportional recovery in the first arm: change in FM-UE-like score against the initial
    impairment (first assessment in days 2-14) at about 3 months (the assessment nearest day 90,
    at least 8 weeks later), fitters by MEP-like CST output at baseline; with the analysis's
    warnings when the slope is likely an artefact (Hope et al. 2019)."""
    fm = run.summary("fm_ue_like")
    arm = run.arms[0] if run.arms else None
    kept = run.scenario.get("assessments", {}).get("measures") or ["cst_gain"]
    if arm not in fm or "cst_gain" not in kept:
        return None
    days = np.asarray(fm[arm]["day"], int)
    early = [d for d in days if 2 <= d <= 14]
    if not early:
        return None
    base_day = early[0]
    later = [d for d in days if d >= base_day + 56]
    if not later:
        return None
    end_day = min(later, key=lambda d: abs(d - 90))
    base, end = run.per_patient("fm_ue_like", arm, base_day), run.per_patient("fm_ue_like", arm, end_day)
    cst = run.per_patient("cst_gain", arm, base_day)
    ids = sorted(set(base) & set(end) & set(cst))
    if len(ids) < 10:
        return None
    threshold = run.scenario.get("patients", {}).get("params", {}).get("cst_threshold", MEP_LOSS)
    threshold = threshold if isinstance(threshold, int | float) else MEP_LOSS
    x0, x1 = np.asarray([base[i] for i in ids]), np.asarray([end[i] for i in ids])
    mep = np.asarray([cst[i] for i in ids]) > 1.0 - threshold
    r = proportional_recovery(x0, x1, fitters=mep)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    imp = 66.0 - x0
    ax.scatter(imp[mep], (x1 - x0)[mep], s=12, color=COLORS[0], label="MEP-positive (fitters)")
    ax.scatter(imp[~mep], (x1 - x0)[~mep], s=12, color=COLORS[1], label="MEP-negative")
    grid = np.linspace(0, 66, 50)
    ax.plot(
        grid, r.slope * grid, color=COLORS[0], lw=1.2, label=f"fitters: change = {r.slope:.2f} x impairment"
    )
    ax.plot(grid, 0.7 * grid, color="#999999", ls="--", lw=1, label="the rule, 0.7")
    ax.set_xlabel(f"initial impairment, 66 - FM-UE-like on day {base_day}")
    ax.set_ylabel(f"change by day {end_day}")
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(alpha=0.3)
    stats_line = (
        f"corr(baseline, change) {r.corr_baseline_change:.2f} (coupling alone: {r.coupling_expected:.2f}); "
        f"corr(baseline, outcome) {r.corr_baseline_outcome:.2f}; variance ratio {r.variance_ratio:.2f}"
    )
    verdict = (
        "Likely an artefact: " + "; ".join(r.warnings)
        if r.artefact_likely
        else f"Outcome depends on baseline as the rule says (slope {r.outcome_slope:.2f} against "
        f"{1 - r.slope:.2f}): not a coupling artefact"
    )
    fig.text(0.01, 0.005, "\n".join(_wrap_text(t, 120) for t in (stats_line, verdict)), fontsize=6.5,
             color="#a00" if r.artefact_likely else "#333", va="bottom")  # fmt: skip
    ax.set_title(f"{arm}: proportional recovery ({len(ids)} patients)", fontsize=10)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return ("Proportional recovery", fig)


def _wrap_text(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def figures(run: Any) -> list[tuple[str, Any]]:
    """Tuning of both cortices before and after (polar histograms), proportional recovery when
    the run assesses early and at about 3 months, and, for dose sweeps, dose-response."""
    out = []
    recovery = _recovery_figure(run)
    arms, snapshots = run.arms, run.snapshots
    doses, end = run.doses, run.therapy_end
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
                _, snap = pick(snapshots[arm], *labels)
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
        out.append(("Tuning of both cortices", fig))
    if recovery is not None:
        out.append(recovery)
    shown = [a for a in arms if a in doses]
    if end is None or len({doses[a] for a in shown}) < 3:
        return out
    use = run.summary("use_share")
    last = int(max((max(use[a]["day"]) for a in shown if a in use), default=-1))
    # use_share covers the past week: a week after therapy ends, it is the first week's use
    inputs = _threshold_inputs(run, shown, end, last) if last > end + 7 else None
    if inputs is not None:
        th = dose_threshold([doses[a] for a in shown], *inputs)
        x = np.maximum(th.doses, 1.0)
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10.5, 3.8))
        ax.plot(x, th.losing, "-o", color=COLORS[1], label="keep losing use")
        ax.plot(x, th.gaining, "-s", color=COLORS[2], label="keep gaining use")
        ax.axhline(0.5, color="#999999", lw=0.8)
        if np.isfinite(th.gaining_threshold):
            ax.axvline(max(th.gaining_threshold, 1.0), color="k", ls="--", lw=1)
            sharp = th.sharpness
            ax.set_title(
                f"Half keep gaining at ~{th.gaining_threshold:.0f} repetitions "
                f"(error after therapy {th.error_at_gaining_threshold:.0f} deg)"
                + (f";\n20 % to 75 % within {sharp:.2f}-fold of dose" if np.isfinite(sharp) else ""),
                fontsize=9,
            )
        else:
            ax.set_title("No dose swept starts the virtuous circle in half the patients", fontsize=10)
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
        out.append(("Dose-response and threshold", fig))
    return out
