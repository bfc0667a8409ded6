"""`somatosensory`: the hand's skin, three nerves and a cortical map that forms by experience.

Skin sites (`skin.py`) are innervated one afferent each, relayed 1:1 through the thalamus to a
square sheet of cortex (`side` x `side` units, 0.5 mm apart). The map follows the
Kohonen/Ritter family with anatomical arbors (Ritter, Martinetz & Schulten 1992; Grajski &
Merzenich 1990; Pons et al. 1991); README.md in this folder gives the whole account.

- **Touch.** A touch lands within a site's patch; each site's afferent fires by a Gaussian of
  the distance, widened by the patch's extent, times its receptors' maturity, unless blocked.
- **Response.** Input through the weights (stored as they act within the arbors) times a
  disinhibition gain, taken against the unit's own reference input, raised to `competition`
  and divided by a local pool plus a semi-saturation constant (Heeger 1992); then lateral
  excitation.
- **Learning.** Kohonen's rule in batch form, a chain of matrix products over touches x
  afferents x units, gated by the arbors; no weight falls under `latent` (silent synapses).
- **Arbors and growth.** A unit reaches afferents within `arbor_units` plus its grown reach
  of their developmental targets (dorsal digit skin also sparsely in register with the
  glabrous digits). A deprived unit's reach grows by `core.structural.growth_linear` (Butz &
  van Ooyen 2013): takeover beyond the arbors needs growth (Pons et al. 1991).
- **Disinhibition.** Under its activity set point a unit's gain rises (unmasking: Merzenich
  et al. 1983; Calford & Tweedale 1988).
- **Development.** High plasticity from random weights in `init`, once per patient draw; the
  engine and runners reuse it for every arm (`develops`). Juveniles learn `juvenile_gain`
  times faster (Florence et al. 1996).
- **Perception.** Place labels say where a unit's activity is felt. They drift weekly
  towards the centroid of each unit's receptive field and are taught by attended, seen touch
  (re-education).
- **Measures.** Counts (areas, receptive fields, map scatter) are soft, so they move smoothly
  with the weights: equal to rounding in any compiled program, and differentiable.

Regrowth (`events.py`): cut or crushed afferents lose their skin and regrow after a staggered
crossing delay at `rate_mm_day`, to their own site or, misdirected, another. Daily life is
`touches` everyday touches a day; sessions add attended touch, cross-modal drive, or 20 Hz
stimulation of a freshly repaired nerve.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from neurorehab.core.model import Model
from neurorehab.core.spec import Measure, Param
from neurorehab.core.structural import calcium_rate, grow, growth_linear
from neurorehab.core.types import Context, Modulation, State, Stimulus
from neurorehab.models.somatosensory.skin import DIGIT_X, DORSAL_Y, MEDIAN, N_SITES, NERVES, SKIN, ULNAR

UNIT_MM = 0.5  # cortical distance between neighbouring units
MINUTES_PER_REP = 5  # a repetition is five minutes of a session (`reps_per_minute` 0.2)
TOUCHES_PER_REP = 40  # touches in a repetition: 8 a minute
DEV_BATCH = 128  # touches per development step
SET_POINT_TOUCHES = 2048  # touches that set each unit's activity set point at the end of development
TEST_POINT_MM = 8.0  # two-point discrimination: the index pad, 8 mm from the tip
TWO_POINT_GAPS = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 12.0, 15.0)
NO_DISCRIMINATION = 20.0  # mm: reported when no gap up to 15 mm is told apart
LATE = 1.0e6  # day "never"
MIN_ACTIVITY = 1e-3  # the smallest activity set point
SOFT_WIDTH = 0.05  # width of the soft counts, as a share of a unit's peak (or of LIVE)
LIVE = 0.1  # a unit is live when its best touch drives it to a tenth of the strongest
LIVE_WIDTH = 0.002  # width of that soft threshold
PROFILE_MM = tuple(0.5 * i for i in range(61))  # the felt profile along a digit, tip to 30 mm

PARAMS: dict[str, Param] = {
    "touch_sd_mm": Param(
        1.5,
        "mm",
        "modelled: skin mechanics spread a point's indentation over about a millimetre (Johnson 2001)",
        "spread of a touch on glabrous skin (x3 dorsal)",
        0.3,
        10.0,
    ),
    "development_rate": Param(
        0.3,
        "1/batch",
        "modelled: a critical period of high plasticity",
        "learning rate at the start of development",
        0.01,
        1.0,
    ),
    "adult_rate": Param(
        0.5,
        "1/batch",
        "modelled: adult maps shift over weeks (Merzenich et al. 1984: 2-8 months for a digit's territory)",
        "adult learning rate a day's batch of touch",
        0.0,
        4.0,
    ),
    "juvenile": Param(0.0, "0/1", "patient trait", "1 for a child (juvenile plasticity)", 0.0, 1.0),
    "juvenile_gain": Param(
        4.0,
        "1",
        "modelled: young patients regain discrimination after repair "
        "(Florence et al. 1996; Lundborg & Rosen 2007)",
        "factor on plasticity and perceptual relearning in a juvenile",
        1.0,
        20.0,
    ),
    "competition": Param(
        4.0,
        "1",
        "modelled: winner-take-most within a neighbourhood (Kohonen; Heeger 1992)",
        "exponent of the divisive normalisation",
        1.0,
        12.0,
    ),
    "semi_saturation": Param(
        0.35,
        "1",
        "modelled: a unit answers inputs above about a third of its "
        "reference (Heeger 1992's semi-saturation constant)",
        "input, as a share of the unit's reference (in development: of the touch's strongest), "
        "under which a unit is suppressed",
        0.01,
        1.0,
    ),
    "inhibition_sd": Param(
        1.0,
        "units",
        "modelled: inhibition reaches farther than excitation",
        "reach of the normalising pool",
        0.5,
        12.0,
    ),
    "lateral_sd": Param(
        0.5,
        "units",
        "modelled: lateral excitation within about 0.5 mm",
        "spread of lateral excitation (adult)",
        0.1,
        5.0,
    ),
    "arbor_units": Param(
        2.5,
        "units",
        "Pons et al. 1991; Garraghty & Kaas 1991: thalamocortical arbors span 1-2 mm",
        "radius of a unit's arbor about its afferents' targets",
        0.5,
        16.0,
    ),
    "growth_rate": Param(
        0.06,
        "units/day",
        "modelled: sprouting over months (Florence, Taub & Kaas 1998)",
        "growth of a deprived unit's reach (linear homeostatic rule)",
        0.0,
        1.0,
    ),
    "register_share": Param(
        0.3,
        "1",
        "modelled: dorsal inputs in register with the glabrous digits are sparse (Merzenich et al. 1983)",
        "density of dorsal digit arbors in the glabrous representation",
        0.0,
        1.0,
    ),
    "max_reach": Param(8.0, "units", "modelled", "most a unit's reach can grow", 0.0, 16.0),
    "activity_days": Param(
        7.0,
        "days",
        "modelled: homeostatic disinhibition follows deprivation over "
        "days (Calford & Tweedale 1988: within hours to days)",
        "time constant of a unit's activity trace",
        0.1,
        30.0,
    ),
    "max_gain": Param(
        20.0,
        "1",
        "modelled: unmasking by disinhibition (Calford & Tweedale 1988)",
        "largest disinhibition gain of a deprived unit",
        1.0,
        50.0,
    ),
    "label_rate": Param(
        0.02,
        "1/week",
        "modelled: adults seldom regain fine localisation after repair (Lundborg & Rosen 2007)",
        "weekly share by which a place label moves to the unit's receptive field",
        0.0,
        1.0,
    ),
    "attended_gain": Param(
        4.0,
        "1",
        "modelled: attended training drives plasticity (Recanzone et al. 1992)",
        "plasticity of an attended touch against an everyday one",
        0.0,
        50.0,
    ),
    "feedback_rate": Param(
        0.01,
        "1/touch",
        "modelled: re-education teaches what the altered input means (Lundborg & Rosen 2007)",
        "share by which an attended, seen touch moves the "
        "place labels of the units it drives towards where it was seen",
        0.0,
        0.5,
    ),
    "teacher": Param(
        0.5,
        "1",
        "modelled: seeing where one is touched (Lundborg & Rosen 2007)",
        "share of an attended touch's response set by where it is seen",
        0.0,
        1.0,
    ),
    "maintain_rate": Param(
        0.02,
        "1/min",
        "modelled: the Sensor Glove keeps the map active (Rosen & Lundborg 2007)",
        "engagement gained per minute of early re-education",
        0.0,
        1.0,
    ),
    "maintain_days": Param(
        10.0, "days", "modelled", "time constant of the fading of that engagement", 0.1, 365.0
    ),
    "maturation_days": Param(
        60.0,
        "days",
        "modelled: receptors mature over months after reinnervation (Dellon 1981)",
        "time constant of receptor maturation",
        1.0,
        1000.0,
    ),
    "percept_mm": Param(
        2.0,
        "mm",
        "modelled: about the sheet's resolution at the pad (a unit to 3 mm "
        "of skin), so one point's units blend into one place",
        "blur of the felt place",
        0.5,
        20.0,
    ),
    "resolve_dip": Param(
        0.2,
        "1",
        "modelled: a Rayleigh-like criterion (a dip of about a fifth to a quarter between two peaks)",
        "dip between two felt peaks that tells them apart",
        0.01,
        0.9,
    ),
    "latent": Param(
        0.01,
        "1",
        "modelled: silent synapses that Hebbian depression leaves in the arbor "
        "(the substrate of unmasking; Calford & Tweedale 1988)",
        "least weight of a connection within a unit's arbor",
        0.0,
        0.2,
    ),
    "noise_mm": Param(
        0.5,
        "mm",
        "modelled: test-retest of two-point discrimination",
        "SD of a two-point or localisation test's noise",
        0.0,
        10.0,
    ),
}

MEASURES: dict[str, Measure] = {
    **{f"area_d{d}": Measure("mm^2", f"cortex preferring digit {d} (glabrous)") for d in range(1, 6)},
    "area_palm": Measure("mm^2", "cortex preferring the palm"),
    "area_dorsum": Measure("mm^2", "cortex preferring dorsal skin"),
    **{f"area_{n}": Measure("mm^2", f"cortex preferring the {n} nerve's territory") for n in NERVES},
    "area_silent": Measure("mm^2", "cortex that no touch drives"),
    **{
        f"rf_d{d}": Measure("mm^2", f"mean receptive field of units preferring digit {d}")
        for d in range(1, 6)
    },
    **{
        f"magnification_d{d}": Measure("mm^2/mm^2", f"cortical magnification of digit {d}")
        for d in range(1, 6)
    },
    "two_point_like": Measure("mm", "two-point-discrimination-like distance at the index pad"),
    "two_point_ulnar_like": Measure(
        "mm", "two-point-discrimination-like distance at the little finger's pad"
    ),
    "localisation_like": Measure("mm", "localisation-like error over the felt median territory (glabrous)"),
    "localisation_ulnar_like": Measure(
        "mm", "localisation-like error over the felt ulnar territory (glabrous)"
    ),
    "monofilament_like": Measure("g", "monofilament-like touch threshold at the index pad"),
    "mrc_sensory_like": Measure("0-4", "MRC-sensory-scale-like grade: 0 S0 ... 3 S3, 3.5 S3+, 4 S4"),
    "reinnervated": Measure("0-1", "share of the median territory's skin reinnervated (receptor maturity)"),
    "days_to_reinnervation": Measure(
        "days", "days from the latest injury to the first reinnervated site (0 before any)"
    ),
    "map_scatter": Measure(
        "mm",
        "map scatter: skin distance between the preferred sites of neighbouring "
        "units (a few mm in an ordered map)",
    ),
}


def separation(f: Array) -> Array:
    """How clearly a profile `f` [Y] shows two places: the largest 1 - dip / lower peak over
    pairs of points that both reach a quarter of its highest, the dip being the lowest value
    between them (0 for a single hump).

    Computed over dips, not pairs (for a profile >= 0, as responses are): for a dip at k the
    best pair is the highest point at or before k and the highest at or after it, so the
    largest over pairs is the largest over k of 1 - f[k] / min(running max from the left, from
    the right), the same value in O(Y) (the pairs' running minima, O(Y^2) memory and a window
    reduction of O(Y^3), took a sixth of an assessment)."""
    left = jax.lax.cummax(f)
    right = jax.lax.cummax(f, reverse=True)
    lower_peak = jnp.minimum(left, right)
    big = lower_peak >= 0.25 * f.max()
    return jnp.max(jnp.where(big, 1.0 - f / jnp.maximum(lower_peak, 1e-12), 0.0))


def _static(side: int) -> dict[str, np.ndarray]:
    """Arrays fixed by the model's structure: cortex positions, afferent targets, probe touches."""
    g = np.arange(side, dtype=float)
    pos = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)  # [C, 2] (u, v)
    x, y = SKIN.xy[:, 0], SKIN.xy[:, 1]
    glab = SKIN.surface == 0
    u = (x - 10.0) / 110.0 * (side - 1)
    # Digits take most of the glabrous rows (their magnification), the palm the rest, the
    # dorsum its own band (Kaas et al. 1979's area 3b layout, simplified).
    v_digit = (y / 50.0) ** 0.6 * 0.5 * side  # the pads magnified
    v_palm = 0.52 * side + (y - 55.0) / 40.0 * 0.18 * side
    v = np.where(
        glab, np.where(y < 52.0, v_digit, v_palm), 0.75 * side + (y - DORSAL_Y) / 70.0 * (0.25 * side - 1)
    )
    target = np.stack([u, v], -1)  # [S, 2] the developmental target of site s's afferent
    dist = np.linalg.norm(pos[:, None, :] - target[None, :, :], axis=-1)  # [C, S]
    # Dorsal digit skin also sends sparse arbors in register with the same digit's glabrous
    # representation (the inputs Merzenich et al. 1983 saw unmasked there after a median cut).
    register = np.stack(
        [u, np.where(glab, v, (np.clip(y - DORSAL_Y, 0.0, 50.0) / 50.0) ** 0.6 * 0.5 * side)], -1
    )
    dorsal_digit = (~glab) & (SKIN.digit > 0)
    dist_register = np.where(
        dorsal_digit[None, :], np.linalg.norm(pos[:, None, :] - register[None, :, :], axis=-1), np.inf
    )
    same = SKIN.surface[:, None] == SKIN.surface[None, :]
    chart = np.linalg.norm(SKIN.xy[:, None, :] - SKIN.xy[None, :, :], axis=-1) ** 2
    index = np.flatnonzero((SKIN.digit == 2) & glab & (SKIN.xy[:, 0] == 44.0))
    return {
        "pos": pos,
        "dist": dist,
        "dist_register": dist_register,
        "same": same.astype(float),
        "chart": chart,
        "apart": np.sqrt(chart),
        "index_axis": index,
    }


@dataclass(frozen=True)
class Somatosensory(Model):
    """`side`: cortical units along each side of the sheet; `touches`: everyday touches
    sampled a day (they stand for the day's contacts); `development`: batches of 128 touches
    that build the map."""

    side: int = 24
    touches: int = 64
    development: int = 48
    name: str = "somatosensory"
    steps_days: ClassVar[bool] = True
    develops: ClassVar[bool] = True
    # Measured (bench/somatosensory.py): a day costs 1.19 ms a patient in lanes of 8, 1.29 in
    # lanes of 16 and 1.35 in lanes of 32 (the matrix products are already wide per patient).
    lane_width: ClassVar[int] = 8

    @property
    def n_units(self) -> int:
        return self.side * self.side

    def _s(self) -> dict[str, Array]:
        return {k: jnp.asarray(v) for k, v in _static(self.side).items()}

    # --- touch and response -------------------------------------------------------------------

    def skin_activation(
        self,
        params: dict[str, Array],
        centres: Array,
        sites: Array,
        alive: Array,
        points: Array | None = None,
    ) -> Array:
        """[B, A] activation of the skin sites `sites` [A] by touches on sites `centres` [B], at
        `points` [B, 2] within those sites' patches (their centres when None). A site stands for
        the receptors of its patch, so its reach is the touch's spread widened by the patch's
        extent (per axis: sd^2 + half^2 / 3, a uniform patch's variance)."""
        xy = jnp.asarray(SKIN.xy)
        surface = jnp.asarray(SKIN.surface)
        touch = params["touch_sd_mm"] * jnp.where(surface > 0, 3.0, 1.0)
        var = (touch[:, None] ** 2 + jnp.asarray(SKIN.half) ** 2 / 3.0)[sites]  # [A, 2]
        at = xy[centres] if points is None else points
        here = xy[sites]
        # The two axes' terms added by hand: as a sum over a trailing axis of 2, XLA made one
        # slow fusion of it (a seventh of a day's time).
        z = (at[:, None, 0] - here[None, :, 0]) ** 2 / (2.0 * var[None, :, 0]) + (
            at[:, None, 1] - here[None, :, 1]
        ) ** 2 / (2.0 * var[None, :, 1])
        same = surface[centres][:, None] == surface[sites][None, :]  # a touch reaches one surface
        return jnp.where(same, jnp.exp(-z), 0.0) * alive[sites][None, :]

    def _afferent_gain(self, st: dict[str, Array], day: Array) -> Array:
        """[A] how strongly each afferent passes on its skin's activation: its receptors'
        maturity while it innervates skin and is not blocked, else 0."""
        live = (st["target"] >= 0) & (day >= st["block_until"])
        return st["maturity"] * live

    def fire(
        self,
        params: dict[str, Array],
        st: dict[str, Array],
        centres: Array,
        day: Array,
        points: Array | None = None,
    ) -> Array:
        """[B, A] afferent firing for touches on `centres` (at `points`), each afferent's skin
        activation computed at its own site. (Gathering afferents from the touches' activation
        of every site made XLA lay the firing out site-major, which slowed the response's
        product by half.)"""
        skin = self.skin_activation(params, centres, jnp.maximum(st["target"], 0), st["alive"], points)
        return skin * self._afferent_gain(st, day)[None, :]

    def afferents(self, st: dict[str, Array], skin: Array, day: Array) -> Array:
        """[B, A] afferent firing for a given skin activation of every site [B, S] (stimuli
        that are not touches of sites, such as the two-point test's)."""
        fires = jnp.take(skin, jnp.maximum(st["target"], 0), axis=1)
        return fires * self._afferent_gain(st, day)[None, :]

    def mask(self, params: dict[str, Array], st: dict[str, Array]) -> Array:
        """[C, A] soft arbor mask."""
        reach = params["arbor_units"] + st["reach"][:, None]
        s = self._s()
        own = jax.nn.sigmoid((reach - s["dist"]) / 0.3)
        return jnp.maximum(own, params["register_share"] * jax.nn.sigmoid((reach - s["dist_register"]) / 0.3))

    def respond(
        self, params: dict[str, Array], w: Array, gain: Array, a: Array, lateral_sd: Array, ref: Array | None
    ) -> Array:
        """[B, C] cortical responses to afferent firing [B, A] (`w`: the weights): each
        unit's input raised to the power `competition` and divided by its neighbourhood's
        (divisive normalisation over `inhibition_sd`; Heeger 1992), so competition is local and
        two touches apart evoke two blobs; then lateral excitation (`lateral_sd`)."""
        h = (a @ w.T) * gain[None, :]  # [B, C]
        peak = h.max(axis=1, keepdims=True)
        drive = jnp.tanh(peak / 0.05)
        scale = jnp.maximum(peak, 1e-6) if ref is None else ref[None, :]
        # x ** c as exp(c log x): XLA's general power is 2.5x slower here, and equal to rounding.
        e = jnp.exp(params["competition"] * jnp.log(jnp.maximum(h / scale, 1e-30)))
        r = e / (
            params["semi_saturation"] ** params["competition"] + self.spread(e, params["inhibition_sd"], True)
        )
        r = self.spread(r, lateral_sd, False)
        return r / jnp.maximum(r.max(axis=1, keepdims=True), 1e-9) * drive

    def spread(self, x: Array, sd: Array, mean: bool) -> Array:
        """[B, C] activity spread over the sheet by a Gaussian of `sd` units, separably (two
        small matrix products: rows, then columns); `mean`: a weighted mean, not a sum."""
        g = jnp.arange(self.side, dtype=x.dtype)
        k = jnp.exp(-((g[:, None] - g[None, :]) ** 2) / (2.0 * sd**2))
        if mean:
            k = k / k.sum(axis=0, keepdims=True)
        n, side = x.shape[0], self.side
        # Two plain products over the rows of every touch's sheet at once (35 % faster than
        # one three-way einsum): along the sheet's second axis, then, transposed, its first.
        y = (x.reshape(n * side, side) @ k).reshape(n, side, side)
        y = (jnp.swapaxes(y, 1, 2).reshape(n * side, side) @ k).reshape(n, side, side)
        return jnp.swapaxes(y, 1, 2).reshape(x.shape)

    def learn(self, w: Array, r: Array, a: Array, rate: Array, mask: Array, latent: Array) -> Array:
        """Kohonen's rule in batch form, within the arbors; no synapse falls under `latent`
        (silent synapses). `w` holds the weights as they act, a synapse's strength times its
        arbor's density (mask m), so a response needs no masking: for the strength u = w / m,
        du = rate m (r^T a - (sum r) u) / B, floored at `latent`, is in w

            dw = rate m (m r^T a - (sum r) w) / B,  floored at latent m,

        one pass over the weights. The mask gates the update: multiplying the weights by it
        each step would erode the arbors' edges day by day."""
        b = r.shape[0]
        return jnp.maximum(
            w + rate * mask * (mask * (r.T @ a) - r.sum(axis=0)[:, None] * w) / b, latent * mask
        )

    def redraw(self, params: dict[str, Array], st: dict[str, Array], w: Array) -> tuple[Array, Array]:
        """The arbors redrawn to the units' reach: (the new mask, the weights). Each synapse
        keeps its strength and acts with its arbor's new density: where an arbor has grown,
        silent synapses (`latent`) appear for learning to strengthen; where it has shrunk,
        synapses are pruned in proportion."""
        new, old = self.mask(params, st), st["mask"]
        strength = jnp.where(old > 1e-6, w / jnp.maximum(old, 1e-6), params["latent"])
        return new, jnp.maximum(strength, params["latent"]) * new

    def touch(self, key: Array, n: int, weights: Array) -> tuple[Array, Array]:
        """`n` touches: the sites they land on (by `weights`) and where within each site's patch
        (uniform), so touches between the sparse sites of the palm reach both."""
        k_site, k_at = jax.random.split(key)
        centres = jax.random.choice(k_site, N_SITES, (n,), p=weights / weights.sum())
        at = jax.random.uniform(k_at, (n, 2), minval=-1.0, maxval=1.0) * jnp.asarray(SKIN.half)[centres]
        return centres, jnp.asarray(SKIN.xy)[centres] + at

    # --- development -----------------------------------------------------------------------------

    def init(self, params: dict[str, Array], key: Array) -> State:
        k_w, k_dev, k_act = jax.random.split(key, 3)
        c, s = self.n_units, N_SITES
        st = {
            "target": jnp.arange(s),
            "maturity": jnp.ones(s),
            "block_until": jnp.full(s, -1.0),
            "pending": jnp.arange(s),
            "start": jnp.full(s, -LATE),
            "crossing": jnp.zeros(s),
            "growth": jnp.zeros(s),
            "reach": jnp.zeros(c),
            "alive": jnp.ones(s),
            "ca": jnp.ones(c),
        }
        mask = self.mask(params, st)
        u = jax.random.uniform(k_w, (c, s), minval=0.0, maxval=0.1) * mask  # synaptic strengths
        usage = jnp.asarray(SKIN.usage)
        steps = self.development
        adult = params["adult_rate"] * jnp.where(params["juvenile"] > 0, params["juvenile_gain"], 1.0)

        def body(i: Array, u: Array) -> Array:
            # The immature sheet responds through all its synapses, the silent ones beyond the
            # arbors included (developing arbors are diffuse, then pruned), while learning is
            # confined to the arbors; the mature map acts through the arbors alone.
            frac = i / max(steps - 1, 1)
            rate = params["development_rate"] * (adult / params["development_rate"]) ** frac
            lat = 3.0 * (params["lateral_sd"] / 3.0) ** frac
            centres, points = self.touch(jax.random.fold_in(k_dev, i), DEV_BATCH, usage)
            a = self.fire(params, st, centres, jnp.zeros(()), points)
            r = self.respond(params, u, jnp.ones(c), a, lat, None)
            du = (r.T @ a - r.sum(axis=0)[:, None] * u) / DEV_BATCH
            return jnp.maximum(u + rate * du * mask, params["latent"])

        w = jax.lax.fori_loop(0, steps, body, u) * mask  # the weights as they act
        # Each unit's reference input: the most any single touch gives it in the developed map.
        # Afterwards a unit's response is its input against its own reference, so touches in
        # two places each evoke their own response (no global winner).
        probe = self.fire(params, st, jnp.arange(s), jnp.zeros(()))
        best = (probe @ w.T).max(axis=0)
        st = {**st, "ref": jnp.maximum(best, 0.05 * jnp.median(best)), "mask": mask}
        rf = self.fields(params, w, jnp.ones(c), st, jnp.zeros(()))
        ca_set = self.activity(params, w, jnp.ones(c), st, k_act)
        st = {**st, "ca": ca_set}
        plastic = {"w": w, "labels": rf["centroid"]}
        slow = {
            "day": jnp.zeros(()),
            "ca_set": ca_set,
            "maintain": jnp.zeros(()),
            "injured": jnp.full((), -1.0),
            "first": jnp.full((), -1.0),
            "map": self.map_code(rf),
        }
        return State(fast={}, plastic=plastic, structural=st, slow=slow)

    # --- probes ------------------------------------------------------------------------------

    def gain(self, params: dict[str, Array], st: dict[str, Array], ca_set: Array) -> Array:
        return jnp.clip(ca_set / jnp.maximum(st["ca"], 1e-6), 1.0, params["max_gain"])

    def fields(
        self, params: dict[str, Array], w: Array, gain: Array, st: dict[str, Array], day: Array
    ) -> dict[str, Array]:
        """Every unit's response to a touch at every site ([S, C]) and what follows: preferred
        site, receptive-field area (mm^2, sites above half the unit's peak) and centroid (mm).

        Counts are soft (`live`, `share`, `inside`: logistic and softmax with narrow widths),
        so a measure moves smoothly with the weights: a hard argmax or threshold flips a whole
        unit on a float32 rounding difference, and has no gradient."""
        probe = self.fire(params, st, jnp.arange(N_SITES), day)
        r = self.respond(params, w, gain, probe, params["lateral_sd"], st["ref"])  # [S, C]
        peak = r.max(axis=0)
        rel = r / jnp.maximum(peak, 1e-9)[None, :]
        inside = jax.nn.sigmoid((rel - 0.5) / SOFT_WIDTH)  # above half the unit's peak
        area = (inside * jnp.asarray(SKIN.area)[:, None]).sum(axis=0)
        wts = inside * r
        centroid = (wts.T @ jnp.asarray(SKIN.xy)) / jnp.maximum(wts.sum(axis=0), 1e-9)[:, None]
        return {
            "response": r,
            "peak": peak,
            "live": jax.nn.sigmoid((peak - LIVE) / LIVE_WIDTH),
            "share": jax.nn.softmax(rel / SOFT_WIDTH, axis=0),  # [S, C] soft preferred site
            # The first site at the unit's peak, as argmax finds it, by a minimum over sites:
            # XLA's argmax (a two-operand reduction) took an eighth of a weekly probe.
            "preferred": jnp.min(
                jnp.where(r >= peak[None, :], jnp.arange(N_SITES)[:, None], N_SITES), axis=0
            ),
            "area": area,
            "centroid": centroid,
        }

    def activity(
        self, params: dict[str, Array], w: Array, gain: Array, st: dict[str, Array], key: Array
    ) -> Array:
        """Mean response of each unit to everyday touch, over `SET_POINT_TOUCHES` touches (a set
        point must not carry one day's sampling noise: a unit whose set point came out high
        would later be disinhibited without cause and silence its neighbours)."""
        centres, points = self.touch(key, SET_POINT_TOUCHES, jnp.asarray(SKIN.usage))
        a = self.fire(params, st, centres, jnp.zeros(()), points)
        return self.respond(params, w, gain, a, params["lateral_sd"], st["ref"]).mean(axis=0)

    # --- the engine's calls --------------------------------------------------------------------

    def plasticity(self, params: dict[str, Array]) -> Array:
        return params["adult_rate"] * jnp.where(params["juvenile"] > 0, params["juvenile_gain"], 1.0)

    def regrow(self, st: dict[str, Array], day: Array, maturation_days: Array) -> dict[str, Array]:
        """Afferents whose axons have reached their skin innervate it; receptors mature."""
        arrive = st["start"] + st["crossing"] + st["growth"]
        there = day >= arrive
        target = jnp.where(there, st["pending"], -1)
        maturity = jnp.where(there & (target >= 0), 1.0 - jnp.exp(-(day - arrive) / maturation_days), 0.0)
        return {**st, "target": target, "maturity": maturity}

    def day(self, params: dict[str, Array], state: State, context: Context, key: Array) -> State:
        day = jnp.asarray(context.day, jnp.float32)
        st, pl, sl = dict(state.structural), dict(state.plastic), dict(state.slow)
        before = (st["target"] >= 0).sum()
        st = self.regrow(st, day, params["maturation_days"])
        first = (sl["injured"] >= 0) & (sl["first"] < 0) & ((st["target"] >= 0).sum() > before)
        sl["first"] = jnp.where(first, day, sl["first"])
        # A day's everyday touch, unattended.
        gain = self.gain(params, st, sl["ca_set"])
        mask = st["mask"]
        centres, points = self.touch(key, self.touches, jnp.asarray(SKIN.usage) * st["alive"] + 1e-6)
        a = self.fire(params, st, centres, day, points)
        r = self.respond(params, pl["w"], gain, a, params["lateral_sd"], st["ref"])
        ca_set = jnp.maximum(sl["ca_set"], MIN_ACTIVITY)  # units silent from birth have no set point to miss
        deprived = jnp.clip(1.0 - st["ca"] / ca_set, 0.0, 1.0)
        rate = self.plasticity(params) * (1.0 - sl["maintain"] * deprived)[:, None]
        pl["w"] = self.learn(pl["w"], r, a, rate, mask, params["latent"])
        # Activity trace, disinhibition and growth of deprived units' reach.
        st["ca"] = calcium_rate(
            st["ca"], r.mean(axis=0), jnp.ones(()), params["activity_days"], 1.0 / params["activity_days"]
        )
        growth = growth_linear(st["ca"], params["growth_rate"], 0.5 * ca_set) * (sl["ca_set"] > MIN_ACTIVITY)
        st["reach"] = jnp.minimum(grow(st["reach"], growth, 1.0), params["max_reach"])
        sl["maintain"] = sl["maintain"] * jnp.exp(-1.0 / params["maintain_days"])
        sl["day"] = day

        def weekly(
            both: tuple[dict[str, Array], dict[str, Array], dict[str, Array]],
        ) -> tuple[dict[str, Array], dict[str, Array], dict[str, Array]]:
            # Weekly: the arbors are redrawn to the units' grown reach (growth is slow: at most
            # `growth_rate` x 7 units a week), and the skin is probed site by site. Place
            # labels of responsive units drift towards their receptive fields' centroids (the
            # place a touch most likely was, given the unit's activity); engaged early
            # re-education holds them. The probe also redraws the map's picture.
            st, pl, sl = both
            mask, w = self.redraw(params, st, pl["w"])
            st = {**st, "mask": mask}
            f = self.fields(params, w, gain, st, day)
            juv = jnp.where(params["juvenile"] > 0, params["juvenile_gain"], 1.0)
            move = params["label_rate"] * juv * (1.0 - sl["maintain"]) * f["live"]
            labels = pl["labels"] + move[:, None] * (f["centroid"] - pl["labels"])
            return st, {**pl, "w": w, "labels": labels}, {**sl, "map": self.map_code(f)}

        st, pl, sl = jax.lax.cond(jnp.mod(context.day, 7) == 0, weekly, lambda b: b, (st, pl, sl))
        return State(state.fast, pl, st, sl)

    def trial(
        self, params: dict[str, Array], state: State, stimulus: Stimulus, modulation: Modulation, key: Array
    ) -> State:
        """Five minutes of a session (a repetition): attended touches of the task's territory
        (with the seen place as a teacher), unattended touches (forced use), cross-modal drive
        with no afferent input (early re-education), or 20 Hz stimulation of a repaired nerve."""
        x = modulation.extra
        st, pl, sl = dict(state.structural), dict(state.plastic), dict(state.slow)
        day = sl["day"]
        nerve = jnp.asarray(SKIN.nerve)
        region = jnp.where(
            stimulus.task < 3,
            (nerve == stimulus.task).astype(jnp.float32),
            jnp.asarray(SKIN.usage) * (jnp.asarray(SKIN.surface) == 0),
        )
        touched = x["attend"] + x["everyday"]

        def touches(pl: dict[str, Array]) -> dict[str, Array]:
            centres, points = self.touch(key, TOUCHES_PER_REP, region * st["alive"] + 1e-6)
            gain = self.gain(params, st, sl["ca_set"])
            a = self.fire(params, st, centres, day, points) * stimulus.intensity
            r_bu = self.respond(params, pl["w"], gain, a, params["lateral_sd"], st["ref"])
            drive = r_bu.max(axis=1, keepdims=True)
            seen = points  # [B, 2] where each touch is seen
            at = pl["labels"]
            d2 = (at[None, :, 0] - seen[:, None, 0]) ** 2 + (at[None, :, 1] - seen[:, None, 1]) ** 2
            top = jnp.exp(-d2 / (2.0 * 3.0**2)) * drive
            rho = params["teacher"] * x["attend"]
            r = (1.0 - rho) * r_bu + rho * top
            juv = jnp.where(params["juvenile"] > 0, params["juvenile_gain"], 1.0)
            attention = 1.0 + (params["attended_gain"] - 1.0) * x["attend"]
            rate = (
                self.plasticity(params)
                * attention
                * modulation.plasticity
                * touched
                * TOUCHES_PER_REP
                / self.touches  # each touch weighs as one of the day's
            )
            w = self.learn(pl["w"], r, a, rate, st["mask"], params["latent"])
            # Localisation with feedback: the labels of responding units move towards the
            # seen place (a delta rule: sum over touches of r (seen - label)).
            lab = params["feedback_rate"] * juv * x["attend"]
            pull = r.T @ seen - r.sum(axis=0)[:, None] * pl["labels"]
            return {**pl, "w": w, "labels": pl["labels"] + lab * pull}

        # A session of cross-modal drive or nerve stimulation alone touches no skin (a branch on
        # the session's kind, which every patient of a calendar shares).
        pl = jax.lax.cond(touched > 0, touches, lambda p: p, pl)
        engaged = 1.0 - (1.0 - params["maintain_rate"] * x["cross_modal"]) ** MINUTES_PER_REP
        sl["maintain"] = sl["maintain"] + engaged * (1.0 - sl["maintain"])
        # 20 Hz stimulation in the week after a repair: the axons still waiting at the suture
        # cross it together (Al-Majed et al. 2000; Brushart et al. 2002).
        waiting = (day < st["start"] + st["crossing"]) & (day - st["start"] <= 7.0) & (day >= st["start"])
        cut = waiting & (x["stim20"] > 0)
        st["crossing"] = jnp.where(
            cut, jnp.minimum(st["crossing"], day - st["start"] + 2.0 + 0.15 * st["crossing"]), st["crossing"]
        )
        return State(state.fast, pl, st, sl)

    def assess(self, params: dict[str, Array], state: State, key: Array) -> dict[str, Array]:
        st, pl, sl = state.structural, state.plastic, state.slow
        s = self._s()
        day = sl["day"]
        gain = self.gain(params, st, sl["ca_set"])
        f = self.fields(params, pl["w"], gain, st, day)
        live, share = f["live"], f["share"]
        unit_area = UNIT_MM**2
        out: dict[str, Array] = {}
        skin_area = jnp.asarray(SKIN.area) * st["alive"]
        glabrous_site = jnp.asarray(SKIN.surface == 0, jnp.float32)

        def prefer(sites: Array) -> Array:
            """[C] each live unit's share preferring the sites where `sites` holds."""
            return live * (sites.astype(jnp.float32) @ share)

        for d in range(1, 6):
            mine = prefer((jnp.asarray(SKIN.digit) == d) * glabrous_site)
            out[f"area_d{d}"] = mine.sum() * unit_area
            out[f"rf_d{d}"] = (f["area"] * mine).sum() / jnp.maximum(mine.sum(), 1.0)
            glab = (jnp.asarray(SKIN.digit) == d) & (jnp.asarray(SKIN.surface) == 0)
            out[f"magnification_d{d}"] = out[f"area_d{d}"] / jnp.maximum((skin_area * glab).sum(), 1.0)
        out["area_palm"] = prefer((jnp.asarray(SKIN.digit) == 0) * glabrous_site).sum() * unit_area
        out["area_dorsum"] = prefer(1.0 - glabrous_site).sum() * unit_area
        for n, name in enumerate(NERVES):
            out[f"area_{name}"] = prefer(jnp.asarray(SKIN.nerve) == n).sum() * unit_area
        out["area_silent"] = (1.0 - live).sum() * unit_area
        k1, k2, k3, k4 = jax.random.split(key, 4)
        for name, pad, k in (("two_point_like", 2, k1), ("two_point_ulnar_like", 5, k3)):
            tpd = self.two_point(params, pl, st, gain, day, pad) + params["noise_mm"] * jax.random.normal(k)
            out[name] = jnp.clip(tpd, 1.0, NO_DISCRIMINATION)
        r = f["response"]  # [S, C]
        heard = r.sum(axis=1)
        felt = (r @ pl["labels"]) / jnp.maximum(heard, 1e-9)[:, None]
        err = jnp.linalg.norm(felt - jnp.asarray(SKIN.xy), axis=1)
        glabrous = jnp.asarray(SKIN.surface) == 0
        for name, nerve, k in (("localisation_like", MEDIAN, k2), ("localisation_ulnar_like", ULNAR, k4)):
            # Over the sites that are felt (one cannot localise what one does not feel; that is
            # the monofilament's and the MRC grade's business); none felt: NO_DISCRIMINATION.
            felt_site = jax.nn.sigmoid((heard - 0.5) / (0.5 * SOFT_WIDTH))
            mine = ((jnp.asarray(SKIN.nerve) == nerve) & glabrous) * felt_site
            loc = jnp.where(
                mine.sum() > 0.5, (err * mine).sum() / jnp.maximum(mine.sum(), 1e-9), NO_DISCRIMINATION
            )
            out[name] = jnp.maximum(loc + params["noise_mm"] * jax.random.normal(k), 0.0)
        median = (jnp.asarray(SKIN.nerve) == MEDIAN) & glabrous
        cover = jnp.zeros(N_SITES).at[jnp.maximum(st["target"], 0)].add(st["maturity"] * (st["target"] >= 0))
        cover = jnp.minimum(cover, 1.0) * st["alive"]
        pad = int(np.argmin(np.linalg.norm(SKIN.xy - np.array([44.0, TEST_POINT_MM]), axis=1)))
        near = jnp.exp(-s["chart"][pad] / (2.0 * 3.0**2)) * s["same"][pad]
        innervated = (near * cover).sum() / near.sum()
        out["monofilament_like"] = jnp.minimum(0.07 * jnp.maximum(innervated, 0.01) ** -2.0, 300.0)
        tpd = out["two_point_like"]
        grade = jnp.select(
            [innervated < 0.02, innervated < 0.1, tpd >= NO_DISCRIMINATION - 1e-3, tpd > 15.0, tpd > 6.0],
            [0.0, 1.0, 2.0, 3.0, 3.5],
            4.0,
        )
        out["mrc_sensory_like"] = grade
        out["reinnervated"] = (cover * median).sum() / jnp.maximum((median * st["alive"]).sum(), 1.0)
        out["days_to_reinnervation"] = jnp.where(sl["first"] >= 0, sl["first"] - sl["injured"], 0.0)
        # Map scatter: the mean chart distance between the preferred sites of neighbouring
        # responsive units, along both axes of the sheet (expected over the soft preferences):
        # sum over neighbours c, c' and sites s, s' of share[s, c] apart[s, s'] share[s', c'].
        # Site-major ([S, u, v]), each unit's distances meet its left and upper neighbours'
        # preferences in one fused pass (unit-major, the slices of neighbours took a third of
        # an assessment).
        side = self.side
        to = (s["apart"] @ share).reshape(-1, side, side)  # [S, u, v]: distance from a unit's sites
        ok = live.reshape(side, side)
        sh = share.reshape(-1, side, side) * ok
        before = jnp.pad(sh[:, :, :-1], ((0, 0), (0, 0), (1, 0))) + jnp.pad(
            sh[:, :-1], ((0, 0), (1, 0), (0, 0))
        )
        total = (to * ok * before).sum()
        count = (ok[:, 1:] * ok[:, :-1]).sum() + (ok[1:] * ok[:-1]).sum()
        out["map_scatter"] = total / jnp.maximum(count, 1.0)
        return out

    def two_point(
        self,
        params: dict[str, Array],
        pl: dict[str, Array],
        st: dict[str, Array],
        gain: Array,
        day: Array,
        digit: int = 2,
    ) -> Array:
        """The smallest gap at which two points on a digit's pad feel like two while one point
        feels like one. What is felt is a profile along the digit's axis: the responding
        units' place labels, each weighted by its response and blurred by `percept_mm`. It
        shows two places where it has two substantial peaks (each at least a quarter of the
        highest) with a dip between them deeper than `resolve_dip` of the lower peak (a
        Rayleigh-like criterion). A scrambled map makes even one point feel like several, so
        no gap is told apart (the clinical test alternates one and two points)."""
        xy = jnp.asarray(SKIN.xy)
        on_pad = jnp.asarray((SKIN.digit == digit) & (SKIN.surface == 0), jnp.float32)
        sd = params["touch_sd_mm"]
        x0 = DIGIT_X * digit

        def skin_at(y: Array) -> Array:
            d2 = (xy[:, 0] - x0) ** 2 + (xy[:, 1] - y) ** 2
            return jnp.exp(-d2 / (2.0 * sd**2)) * on_pad * st["alive"]

        gaps = jnp.asarray(TWO_POINT_GAPS)
        one = skin_at(jnp.asarray(TEST_POINT_MM))
        two = jax.vmap(lambda g: skin_at(TEST_POINT_MM - g / 2) + skin_at(TEST_POINT_MM + g / 2))(gaps)
        skins = jnp.concatenate([one[None], two], axis=0)
        a = self.afferents(st, skins, day)
        r = self.respond(params, pl["w"], gain, a, params["lateral_sd"], st["ref"])  # [G+1, C]
        axis = jnp.asarray(PROFILE_MM)
        d2 = (pl["labels"][:, None, 0] - x0) ** 2 + (pl["labels"][:, None, 1] - axis[None, :]) ** 2
        profile = r @ jnp.exp(-d2 / (2.0 * params["percept_mm"] ** 2))  # [G+1, Y]
        sep = jax.vmap(separation)(profile)
        dip = params["resolve_dip"]
        one_feels_one = sep[0] < dip
        margin = sep[1:] - dip  # > 0: the two points feel like two
        ok = margin > 0
        i = jnp.argmax(ok)
        lo_g = gaps[jnp.maximum(i - 1, 0)]
        lo_m = margin[jnp.maximum(i - 1, 0)]
        hi_g, hi_m = gaps[i], margin[i]
        at = jnp.where(i > 0, lo_g + (hi_g - lo_g) * (-lo_m) / jnp.maximum(hi_m - lo_m, 1e-9), gaps[0])
        felt = r.sum(axis=1)[0] > 0.5
        return jnp.where(ok.any() & felt & one_feels_one, at, NO_DISCRIMINATION)

    def map_code(self, f: dict[str, Array]) -> Array:
        """Each unit's preferred region: 0 palm, 1-5 digits, 6 dorsum, -1 silent."""
        digit = jnp.asarray(SKIN.digit)[f["preferred"]]
        dorsal = jnp.asarray(SKIN.surface)[f["preferred"]] > 0
        return jnp.where(f["peak"] > 0.1, jnp.where(dorsal, 6.0, digit), -1.0)

    def snapshot(self, state: State) -> dict[str, Array]:
        """The map as of its latest weekly update: each unit's preferred region."""
        return {"map": state.slow["map"].reshape(self.side, self.side)}
