"""The hand's skin as receptor sites on a chart, with the three nerves' territories.

A chart in millimetres: digit d (1 thumb ... 5 little) is a glabrous strip centred at
x = 22 d, from its tip (y = 0) towards its base; the glabrous palm lies below the digits
(y 55-95); the dorsal skin is a second band (y from 110) with the same x. Distances within a
surface are chart distances, so touch on one digit does not reach the next (22 mm apart) and
the digits' bases meet the palm.

Sites are denser at the fingertips (rows 1 mm apart at the tip, 2-3 mm on the pad, 6-9 mm
at the base), as tactile afferents are (Johansson & Vallbo 1979: about 140 units/cm^2 at the
fingertip, 37 in the palm); each site carries its skin area (mm^2), so areas and densities are
in real units. Territories (the common pattern; Gray's Anatomy): the median nerve supplies the
glabrous thumb, index, middle and radial half of the ring finger and the radial palm; the
ulnar nerve the ulnar half of the ring finger, the little finger, the ulnar palm and the
dorsal ring and little fingers and ulnar dorsum; the radial nerve the dorsal thumb, index and
middle fingers and radial dorsum. Each site's distance to the wrist (mm, along the digit and
palm) sets how far a regrowing axon has to go from a wrist-level injury.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

MEDIAN, ULNAR, RADIAL = 0, 1, 2
NERVES = ("median", "ulnar", "radial")
DIGIT_X = 22.0  # mm between digit centres on the chart
ROWS_MM = (1.0, 2.0, 3.0, 4.0, 5.0, 6.5, 8.0, 10.0, 12.0, 14.5, 17.0, 20.0, 23.5, 27.5, 32.0, 38.0, 47.0)
COLUMNS_MM = (-5.0, 0.0, 5.0)  # radial side, middle, ulnar side of a digit's pad
DIGIT_LENGTH_MM = 55.0
PALM_ROWS_MM = (60.0, 70.0, 80.0, 90.0)
DORSAL_Y = 110.0
WRIST_Y = 100.0  # the wrist crease on the glabrous chart


class Skin(NamedTuple):
    xy: np.ndarray  # [S, 2] chart position (mm)
    surface: np.ndarray  # [S] 0 glabrous, 1 dorsal
    digit: np.ndarray  # [S] 1-5, 0 for palm or dorsum of the hand
    nerve: np.ndarray  # [S] MEDIAN, ULNAR or RADIAL
    area: np.ndarray  # [S] skin area a site stands for (mm^2)
    to_wrist: np.ndarray  # [S] mm from the wrist to the site (a regrowing axon's path)
    usage: np.ndarray  # [S] relative use in daily touch (fingertips most)
    half: np.ndarray  # [S, 2] half the extent of the skin patch a site stands for (mm)


def _row_widths(rows: tuple[float, ...]) -> np.ndarray:
    edges = np.concatenate([[0.0], (np.asarray(rows[:-1]) + np.asarray(rows[1:])) / 2, [DIGIT_LENGTH_MM]])
    return np.diff(edges)


def layout() -> Skin:
    xy, surface, digit, nerve, area, to_wrist, usage, half = [], [], [], [], [], [], [], []
    widths = _row_widths(ROWS_MM)

    def add(x, y, surf, d, n, a, w, u, h):
        xy.append((x, y))
        surface.append(surf)
        digit.append(d)
        nerve.append(n)
        area.append(a)
        to_wrist.append(w)
        usage.append(u)
        half.append(h)

    for d in range(1, 6):
        cx = DIGIT_X * d
        for r, y in enumerate(ROWS_MM):
            for c, dx in enumerate(COLUMNS_MM):
                if d <= 3:
                    n = MEDIAN
                elif d == 4:
                    n = MEDIAN if c == 0 else ULNAR
                else:
                    n = ULNAR
                # fingertips carry most everyday contact (Gonzalez et al. 2014, recalled)
                u = 5.0 if y <= 12.0 else 1.0
                add(
                    cx + dx,
                    y,
                    0,
                    d,
                    n,
                    widths[r] * 16.0 / 3.0,
                    DIGIT_LENGTH_MM - y + 45.0,
                    u,
                    (2.5, widths[r] / 2),
                )
        for y in (10.0, 25.0, 40.0):  # dorsal digit: 3 sites
            n = RADIAL if d <= 3 else ULNAR
            add(cx, DORSAL_Y + y, 1, d, n, 15.0 * 16.0, DIGIT_LENGTH_MM - y + 45.0, 0.3, (8.0, 7.5))
    for y in PALM_ROWS_MM:
        for k in range(5):
            x = DIGIT_X * (1 + k)
            n = MEDIAN if k <= 2 else ULNAR
            add(x, y, 0, 0, n, 10.0 * DIGIT_X, WRIST_Y - y + 5.0, 0.5, (DIGIT_X / 2, 5.0))
    for k in range(5):  # dorsum of the hand, one row
        x = DIGIT_X * (1 + k)
        add(
            x,
            DORSAL_Y + 70.0,
            1,
            0,
            RADIAL if k <= 2 else ULNAR,
            40.0 * DIGIT_X,
            30.0,
            0.2,
            (DIGIT_X / 2, 20.0),
        )
    return Skin(*(np.asarray(v, float) for v in (xy, surface, digit, nerve, area, to_wrist, usage, half)))


SKIN = layout()
N_SITES = len(SKIN.area)
