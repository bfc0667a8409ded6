"""Report figures of `fear` (matplotlib, imported only when a report is built)."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from neurorehab.models.views import COLORS, pick

PROBES = {
    "fear_trauma_ctx": "trauma cue, trauma context",
    "fear_everyday": "trauma cue, everyday context",
    "fear_safe_ctx": "trauma cue, safe context",
    "fear_similar": "similar cue, everyday context",
}


def figures(run: Any) -> list[tuple[str, Any]]:
    """Fear by context over time in each arm (acquisition, extinction, tests), and the latent
    causes patient 0 of each arm had inferred by the end."""
    out = []
    summaries = {m: run.summary(m) for m in PROBES}
    arms = run.arms[:6]
    fig, axes = plt.subplots(1, len(arms), figsize=(4.2 * len(arms), 3.2), squeeze=False, sharey=True)
    for ax, arm in zip(axes[0], arms, strict=True):
        for (measure, label), color in zip(PROBES.items(), COLORS, strict=False):
            s = summaries[measure].get(arm)
            if s is None or not len(s["day"]):
                continue
            ax.plot(s["day"], s["mean"], color=color, label=label, lw=1.5)
            ax.fill_between(s["day"], s["mean"] - s["half"], s["mean"] + s["half"], color=color, alpha=0.15)
        ax.set_title(arm, fontsize=9)
        ax.set_xlabel("day")
    axes[0, 0].set_ylabel("expressed fear (1: conditioned level)")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("Fear by cue and context (mean and 95 % interval)", fontsize=10)
    fig.tight_layout()
    out.append(("Fear by cue and context", fig))

    snaps = {a: pick(s, "end") for a, s in run.snapshots.items() if s}
    if snaps and all("cause_count" in snap for _, snap in snaps.values()):
        fig, axes = plt.subplots(1, len(snaps), figsize=(3.6 * len(snaps), 3.0), squeeze=False, sharey=True)
        for ax, (arm, (label, snap)) in zip(axes[0], snaps.items(), strict=True):
            n = np.asarray(snap["cause_count"], float)
            used = np.flatnonzero(n > 1e-6)
            outcome = np.asarray(snap["cause_outcome"], float)[used]
            bars = ax.bar(np.arange(len(used)), n[used], color=plt.cm.coolwarm(np.clip(outcome, 0, 1)))
            for bar, fear, ctx in zip(
                bars,
                np.asarray(snap["cause_fear"])[used],
                np.asarray(snap["cause_context"])[used],
                strict=True,
            ):
                ax.annotate(f"fear {fear:.2f}\nctx {ctx:.2f}", (bar.get_x() + 0.4, bar.get_height()),
                            ha="center", va="bottom", fontsize=6)  # fmt: skip
            ax.set_ylim(0, 1.3 * max(float(n[used].max()), 1.0))
            ax.set_xticks(np.arange(len(used)), [f"cause {i + 1}" for i in range(len(used))], fontsize=7)
            ax.set_title(f"{arm}: patient 0, {label}", fontsize=9)
        axes[0, 0].set_ylabel("trials the cause explains")
        fig.suptitle(
            "Latent causes inferred (colour: mean outcome of their trials, red = aversive)", fontsize=10
        )
        fig.tight_layout()
        out.append(("Latent causes a patient inferred", fig))
    return out
