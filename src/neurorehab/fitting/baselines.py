"""Two published ways to forecast a patient's recovery, beside the model's forecast.

Both work on impairment: the distance of a score from the healthy end of its range (for an
instrument scored 0-66 with 66 healthy, 66 - score), so they serve any instrument that declares
its range and healthy end.

- The proportional recovery rule (Prabhakaran et al. 2008, Neurorehabil Neural Repair 22:64;
  Winters et al. 2015): a patient regains 70 % of the initial impairment, so the outcome is
  score0 + 0.7 x (best - score0), from the latest early score.
- A mixture of recovery curves after van der Vliet et al. 2020 (Ann Neurol 87:383): patients
  belong to one of K latent subgroups (they found 5), each regaining a share r_k of the initial
  impairment I0 with time constant tau_k, I(t) = I0 (1 - r_k (1 - exp(-t / tau_k))). We fit the
  subgroups by expectation-maximisation on a reference cohort's trajectories (their model was
  Bayesian; we keep its structure, not its priors), with I0 profiled out per patient by least
  squares; a new patient's early scores give the posterior weights of the subgroups and of
  their I0, and the forecast is their weighted curve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize


def proportional_rule(
    score0: np.ndarray, best: float, higher_is_better: bool = True, share: float = 0.7
) -> np.ndarray:
    """The rule's outcome from early scores: `share` of the impairment regained."""
    sign = 1.0 if higher_is_better else -1.0
    impairment = sign * (best - np.asarray(score0, float))
    return best - sign * (1 - share) * impairment


def _gain(r: np.ndarray, tau: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Share of the initial impairment regained by day t: [K, T]."""
    return r[:, None] * (1 - np.exp(-np.asarray(t, float)[None, :] / tau[:, None]))


def _profile(gain: np.ndarray, imp: np.ndarray, seen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per patient and subgroup, the least-squares I0 (>= 0) and the residual sum of squares:
    imp [N, T] (impairments, NaN missing), gain [K, T] -> ([N, K], [N, K])."""
    f = 1 - gain  # [K, T]: I(t) = I0 f(t)
    y = np.where(seen, imp, 0.0)
    fs = f[None, :, :] * seen[:, None, :]
    i0 = np.maximum((fs * y[:, None, :]).sum(-1) / np.maximum((fs * fs).sum(-1), 1e-12), 0.0)
    resid = (y[:, None, :] - i0[:, :, None] * fs) * seen[:, None, :]
    return i0, (resid**2).sum(-1)


@dataclass(frozen=True)
class RecoveryMixture:
    """Fitted subgroups: weights `share`, regained shares `r`, time constants `tau` (days),
    residual SD `sd` (score points); `best` and `higher_is_better` of the instrument."""

    share: np.ndarray
    r: np.ndarray
    tau: np.ndarray
    sd: float
    best: float
    higher_is_better: bool = True

    def _impairment(self, scores: np.ndarray) -> np.ndarray:
        sign = 1.0 if self.higher_is_better else -1.0
        return sign * (self.best - np.asarray(scores, float))

    def weights(self, days: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """[N, T] early scores (NaN missing) on `days` since onset -> subgroup weights and I0 [N, K]."""
        imp = self._impairment(scores)
        seen = np.isfinite(imp)
        i0, sse = _profile(_gain(self.r, self.tau, days), imp, seen)
        logw = np.log(self.share)[None, :] - sse / (2 * self.sd**2)
        w = np.exp(logw - logw.max(axis=1, keepdims=True))
        return w / w.sum(axis=1, keepdims=True), i0

    def predict(self, days: np.ndarray, scores: np.ndarray, at: np.ndarray) -> np.ndarray:
        """Forecast scores [N, len(at)] on days `at` from early scores [N, T] on `days`."""
        w, i0 = self.weights(days, scores)
        g = _gain(self.r, self.tau, np.asarray(at, float))  # [K, A]
        imp = (w[:, :, None] * i0[:, :, None] * (1 - g)[None]).sum(1)
        sign = 1.0 if self.higher_is_better else -1.0
        return self.best - sign * imp


def fit_mixture(
    days: np.ndarray,
    scores: np.ndarray,
    best: float,
    *,
    higher_is_better: bool = True,
    k: int = 5,
    iterations: int = 30,
) -> RecoveryMixture:
    """Fit `k` subgroups by EM to a reference cohort: scores [N, T] on `days` since onset."""
    sign = 1.0 if higher_is_better else -1.0
    imp = sign * (best - np.asarray(scores, float))
    seen = np.isfinite(imp)
    days = np.asarray(days, float)
    # start: subgroups spread over the share regained by the last day, one time constant
    first = np.array([row[s][0] if s.any() else np.nan for row, s in zip(imp, seen, strict=True)])
    last = np.array([row[s][-1] if s.any() else np.nan for row, s in zip(imp, seen, strict=True)])
    regained = np.clip(1 - last / np.maximum(first, 1e-6), 0.0, 1.0)
    r = np.clip(np.nanquantile(regained, (np.arange(k) + 0.5) / k), 0.02, 0.98)
    tau = np.full(k, 30.0)
    share = np.full(k, 1.0 / k)
    sd = float(np.nanstd(imp) / 4 + 1e-3)
    for _ in range(iterations):
        _, sse = _profile(_gain(r, tau, days), imp, seen)
        logw = np.log(share)[None, :] - sse / (2 * sd**2)
        resp = np.exp(logw - logw.max(axis=1, keepdims=True))
        resp /= resp.sum(axis=1, keepdims=True)
        share = np.maximum(resp.mean(axis=0), 1e-6)
        for j in range(k):

            def cost(v: np.ndarray, w: np.ndarray = resp[:, j]) -> float:
                g = _gain(np.array([1 / (1 + np.exp(-v[0]))]), np.array([np.exp(v[1])]), days)
                return float((w * _profile(g, imp, seen)[1][:, 0]).sum())

            x0 = np.array([np.log(r[j] / (1 - r[j])), np.log(tau[j])])
            best_v = optimize.minimize(
                cost, x0, method="Nelder-Mead", options={"xatol": 1e-3, "fatol": 1e-6}
            ).x
            # kept inside (0, 1) and [0.5, 1e4] days, so the next start is finite
            r[j] = float(np.clip(1 / (1 + np.exp(-best_v[0])), 1e-4, 1 - 1e-4))
            tau[j] = float(np.clip(np.exp(best_v[1]), 0.5, 1e4))
        _, sse = _profile(_gain(r, tau, days), imp, seen)
        sd = float(np.sqrt((resp * sse).sum() / max(seen.sum(), 1)))
    return RecoveryMixture(share / share.sum(), r, tau, max(sd, 1e-3), best, higher_is_better)
