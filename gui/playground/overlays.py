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
            colors = np.array(self.colors, dtype=np.uint8).reshape(len(xy), -1)
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
    a, b, c, d = v[:-1, :-1], v[:-1, 1:], v[1:, :-1], v[1:, 1:]  # (i,j) (i,j+1) (i+1,j) (i+1,j+1)
    X0, X1 = xs[None, :-1], xs[None, 1:]
    Y0, Y1 = ys[:-1, None], ys[1:, None]

    def cross(p, q):
        hit = (p > level) != (q > level)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(hit, (level - p) / (q - p), 0.0)
        return hit, np.clip(np.nan_to_num(t), 0.0, 1.0)

    shape = a.shape
    edges = []  # bottom, right, top, left: (hit, x, y)
    hit, t = cross(a, b)
    edges.append((hit, X0 + t * (X1 - X0), np.broadcast_to(Y0, shape)))
    hit, t = cross(b, d)
    edges.append((hit, np.broadcast_to(X1, shape), Y0 + t * (Y1 - Y0)))
    hit, t = cross(c, d)
    edges.append((hit, X0 + t * (X1 - X0), np.broadcast_to(Y1, shape)))
    hit, t = cross(a, c)
    edges.append((hit, np.broadcast_to(X0, shape), Y0 + t * (Y1 - Y0)))
    hits = np.stack([e[0] for e in edges], axis=-1)
    pts = np.stack([np.stack([np.broadcast_to(e[1], shape), np.broadcast_to(e[2], shape)], axis=-1)
                    for e in edges], axis=-2)  # (h-1, w-1, 4, 2)
    if mask is not None:
        m = np.asarray(mask, bool)
        keep = m[:-1, :-1] & m[:-1, 1:] & m[1:, :-1] & m[1:, 1:]
        hits &= keep[..., None]
    count = hits.sum(axis=-1)
    hits, pts, count = hits.reshape(-1, 4), pts.reshape(-1, 4, 2), count.reshape(-1)
    out = []
    two = count == 2
    if two.any():
        order = np.argsort(~hits[two], axis=1, kind="stable")[:, :2]
        p = np.take_along_axis(pts[two], order[..., None], axis=1)
        out.append(p.reshape(-1, 2))
    four = count == 4
    if four.any():
        out.append(pts[four].reshape(-1, 2))
    return np.concatenate(out) if out else np.zeros((0, 2))
