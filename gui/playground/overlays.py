"""Shapes a model draws over the data plot, computed where the model trains (no Qt).

An :class:`Overlay` is plain, read-only data (a name, what it is, where): the data plot
turns each into a reusable plot item by its ``name`` (:mod:`gui.playground.overlay_items`).
Kinds:

- ``"segments"``: ``xy`` ``(2 m, 2)``, pairs of endpoints (a contour line: a decision
  boundary, a margin);
- ``"rings"``: ``xy`` ``(n, 2)``, points circled (support vectors);
- ``"markers"``: ``xy`` ``(n, 2)``, large draggable markers (centroids); ``colors`` per point;
- ``"dots"``: ``xy`` ``(n, 2)``, points drawn again in their own ``colors`` (cluster roles).

``style`` picks the pen (``boundary``, ``margin``, ``support``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OVERLAY_KINDS = ("segments", "rings", "markers", "dots")


@dataclass(frozen=True)
class Overlay:
    """One shape over the data plot; see the module docstring."""

    name: str
    kind: str
    xy: np.ndarray
    style: str = ""
    colors: np.ndarray | None = None

    def __post_init__(self):
        if self.kind not in OVERLAY_KINDS:
            raise ValueError(f"overlay kind must be one of {OVERLAY_KINDS}, got {self.kind!r}")
        xy = np.array(self.xy, dtype=np.float64).reshape(-1, 2)
        xy.setflags(write=False)
        object.__setattr__(self, "xy", xy)
        if self.colors is not None:
            colors = np.array(self.colors, dtype=np.uint8)
            colors = colors.reshape(len(xy), -1) if len(xy) else colors.reshape(0, 3)
            colors.setflags(write=False)
            object.__setattr__(self, "colors", colors)


def contour_segments(values: np.ndarray, box, level: float, mask: np.ndarray | None = None) -> np.ndarray:
    """The line where ``values`` crosses ``level``, as segments (marching squares).

    Parameters
    ----------
    values : ndarray, shape (H, W)
        A field sampled on :func:`engine.grid.grid_points`' grid over ``box`` (row 0 at
        ``y_min``).
    box : (x_min, x_max, y_min, y_max)
    level : float
    mask : ndarray of bool, shape (H, W), optional
        Only cells whose four corners are all True are traced.

    Returns
    -------
    ndarray, shape (2 m, 2)
        Endpoints, two per segment; the points lie on cell edges, linearly interpolated.
        A saddle cell (all four edges crossed) gives two segments.
    """
    v = np.asarray(values, dtype=np.float64)
    h, w = v.shape
    if h < 2 or w < 2:
        return np.zeros((0, 2))
    x0, x1, y0, y1 = (float(b) for b in box)
    xs, ys = np.linspace(x0, x1, w), np.linspace(y0, y1, h)
    above = v > level
    # the four edges of every cell: bottom (i,j)-(i,j+1), right (i,j+1)-(i+1,j+1),
    # top (i+1,j)-(i+1,j+1), left (i,j)-(i+1,j)
    hits = np.stack([above[:-1, :-1] != above[:-1, 1:], above[:-1, 1:] != above[1:, 1:],
                     above[1:, :-1] != above[1:, 1:], above[:-1, :-1] != above[1:, :-1]], axis=-1)
    if mask is not None:
        m = np.asarray(mask, bool)
        hits &= (m[:-1, :-1] & m[:-1, 1:] & m[1:, :-1] & m[1:, 1:])[..., None]
    ci, cj = np.nonzero(hits.any(axis=-1))  # only the crossed cells are traced
    if len(ci) == 0:
        return np.zeros((0, 2))
    hits = hits[ci, cj]
    a, b, c, d = v[ci, cj], v[ci, cj + 1], v[ci + 1, cj], v[ci + 1, cj + 1]

    def t(p, q):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.clip(np.nan_to_num((level - p) / (q - p)), 0.0, 1.0)

    xl, xr, yb, yt = xs[cj], xs[cj + 1], ys[ci], ys[ci + 1]
    pts = np.empty((len(ci), 4, 2))
    pts[:, 0, 0], pts[:, 0, 1] = xl + t(a, b) * (xr - xl), yb
    pts[:, 1, 0], pts[:, 1, 1] = xr, yb + t(b, d) * (yt - yb)
    pts[:, 2, 0], pts[:, 2, 1] = xl + t(c, d) * (xr - xl), yt
    pts[:, 3, 0], pts[:, 3, 1] = xl, yb + t(a, c) * (yt - yb)
    count = hits.sum(axis=-1)
    out = []
    two = count == 2
    if two.any():
        order = np.argsort(~hits[two], axis=1, kind="stable")[:, :2]
        out.append(np.take_along_axis(pts[two], order[..., None], axis=1).reshape(-1, 2))
    four = count == 4
    if four.any():
        out.append(pts[four].reshape(-1, 2))
    return np.concatenate(out) if out else np.zeros((0, 2))
