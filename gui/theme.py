"""Colours, fonts and the presentation-mode scale shared by every view.

The class palette is Okabe and Ito's (2008) colour-blind-safe set, ordered so that the
two-class case is the familiar orange versus blue; data with more than its eight classes
(imported files) get a larger palette of colours far apart in CIELAB. The diverging palette (orange for
negative, white for zero, blue for positive) colours weights, signed neuron outputs
and regression values, so one legend explains every picture on the screen.
"""

from __future__ import annotations

import numpy as np

# Okabe-Ito, reordered: orange and blue first (two classes), then the rest.
CLASS_COLORS: tuple[str, ...] = (
    "#E69F00",  # orange
    "#0072B2",  # blue
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#4D4D4D",  # dark grey (Okabe-Ito black, lightened so points keep an outline)
)

NEGATIVE_COLOR = "#E69F00"
POSITIVE_COLOR = "#0072B2"
NEUTRAL_COLOR = "#FFFFFF"

BACKGROUND = "#FFFFFF"
FOREGROUND = "#202124"
MUTED = "#5F6368"
ERROR_COLOR = "#B3261E"
GRID_ALPHA = 0.15

BASE_POINT_SIZE = 10
PRESENTATION_SCALE = 1.6
#: the least height of any text in presentation mode, in pixels (read from the back of a room)
PRESENTATION_MIN_TEXT_PX = 14


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    """``"#RRGGBB"`` to an ``(r, g, b)`` tuple of 0-255 ints."""
    color = color.lstrip("#")
    return int(color[0:2], 16), int(color[2:4], 16), int(color[4:6], 16)


#: size of the large palette for imported data with more classes than the painter's 8
LARGE_PALETTE_SIZE = 100


def _srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB ``(n, 3)`` in 0-1 to CIELAB (D65) ``(n, 3)``."""
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124564, 0.3575761, 0.1804375],
                  [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    eps, kappa = 216 / 24389, 24389 / 27
    f = np.where(xyz > eps, np.cbrt(xyz), (kappa * xyz + 16) / 116)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


def _large_palette(n: int) -> tuple[str, ...]:
    """``n`` colours chosen to be far apart in CIELAB, starting from the Okabe-Ito eight.

    Farthest-point selection over an sRGB grid: each next colour is the candidate whose
    nearest already chosen colour is farthest away (CIE76 colour difference). Candidates
    lighter than L* 85 are left out so that every class shows on the white plot and in
    the pale decision regions.
    """
    steps = np.linspace(0.0, 1.0, 18)
    grid = np.stack(np.meshgrid(steps, steps, steps, indexing="ij"), axis=-1).reshape(-1, 3)
    lab = _srgb_to_lab(grid)
    keep = lab[:, 0] <= 85
    grid, lab = grid[keep], lab[keep]
    chosen = [np.array(hex_to_rgb(c), dtype=np.float64) / 255.0 for c in CLASS_COLORS]
    nearest = np.min(np.linalg.norm(lab[:, None, :] - _srgb_to_lab(np.array(chosen))[None], axis=2), axis=1)
    while len(chosen) < n:
        k = int(np.argmax(nearest))
        chosen.append(grid[k])
        nearest = np.minimum(nearest, np.linalg.norm(lab - lab[k], axis=1))
    return tuple("#{:02X}{:02X}{:02X}".format(*(int(round(v * 255)) for v in rgb)) for rgb in chosen[:n])


_LARGE: tuple[str, ...] = ()


def class_colors(n_classes: int) -> tuple[str, ...]:
    """One colour per class: the eight painting colours for up to 8 classes, else the
    large palette (up to ``LARGE_PALETTE_SIZE`` distinct colours; more classes reuse them
    in order)."""
    global _LARGE
    n = max(int(n_classes), 0)
    if n <= len(CLASS_COLORS):
        return CLASS_COLORS[:n]
    if not _LARGE:
        _LARGE = _large_palette(LARGE_PALETTE_SIZE)
    return tuple(_LARGE[i % len(_LARGE)] for i in range(n))


def class_rgb(n_classes: int) -> np.ndarray:
    """The colours of ``n_classes`` classes as a ``(n_classes, 3)`` float array in 0-1."""
    return np.array([hex_to_rgb(c) for c in class_colors(n_classes)], dtype=np.float32).reshape(-1, 3) / 255.0


def diverging_lut(n: int = 256) -> np.ndarray:
    """Orange -> white -> blue lookup table, ``(n, 4)`` uint8 RGBA."""
    neg = np.array(hex_to_rgb(NEGATIVE_COLOR), dtype=np.float32)
    mid = np.array(hex_to_rgb(NEUTRAL_COLOR), dtype=np.float32)
    pos = np.array(hex_to_rgb(POSITIVE_COLOR), dtype=np.float32)
    t = np.linspace(-1.0, 1.0, n, dtype=np.float32)[:, None]
    rgb = np.where(t < 0, mid + (neg - mid) * (-t), mid + (pos - mid) * t)
    out = np.empty((n, 4), dtype=np.uint8)
    out[:, :3] = np.clip(np.round(rgb), 0, 255).astype(np.uint8)
    out[:, 3] = 255
    return out


def diverging_color(value: float, scale: float) -> tuple[int, int, int]:
    """The diverging colour of ``value`` where ``|value| >= scale`` is full colour."""
    t = 0.0 if scale <= 0 else max(-1.0, min(1.0, value / scale))
    lut = _LUT
    idx = int(round((t + 1.0) / 2.0 * (len(lut) - 1)))
    r, g, b, _ = lut[idx]
    return int(r), int(g), int(b)


_LUT = diverging_lut()


def presentation_stylesheet(on: bool) -> str:
    """The application style sheet with presentation mode on or off (each view's setter)."""
    return stylesheet(PRESENTATION_SCALE if on else 1.0)


def stylesheet(scale: float = 1.0) -> str:
    """Application style sheet; ``scale`` > 1 enlarges text for a projector."""
    base = round(10 * scale)
    big = round(15 * scale)
    # the play button grows less than the text: on a projector its height is the top bar's
    play = round(52 * min(scale, 1.25))
    return f"""
    QWidget {{ font-size: {base}pt; }}
    QLabel[role="heading"] {{ font-size: {round(11 * scale)}pt; font-weight: 600; color: {FOREGROUND};
        letter-spacing: 1px; }}
    QLabel[role="hint"] {{ color: {MUTED}; }}
    QLabel[role="counter"] {{ font-size: {big + 6}pt; font-family: "DejaVu Sans Mono"; color: {FOREGROUND}; }}
    QLabel[role="metric"] {{ font-size: {round(12 * scale)}pt; color: {FOREGROUND}; }}
    QLabel[role="error"] {{ color: white; background: {ERROR_COLOR}; padding: 4px 8px; border-radius: 4px;
        font-weight: 600; }}
    QToolButton[role="play"] {{ border-radius: {play // 2}px; background: #183A4A; color: white;
        font-size: {big + 4}pt; min-width: {play}px; min-height: {play}px; }}
    QToolButton[role="play"]:hover {{ background: #24576E; }}
    QToolButton[role="round"] {{ border: 1px solid #BDBDBD; border-radius: {round(13 * scale)}px;
        min-width: {round(26 * scale)}px; min-height: {round(26 * scale)}px; font-weight: 600; }}
    QToolButton[role="round"]:hover {{ background: #E8EAED; }}
    QToolButton[role="tool"] {{ padding: 3px 6px; }}
    QToolButton[role="tool"]:checked {{ background: #D2E3FC; border: 1px solid #1A73E8; border-radius: 3px; }}
    QToolButton[role="preset"] {{ border: 2px solid transparent; border-radius: 4px; padding: 1px; }}
    QToolButton[role="preset"]:checked {{ border: 2px solid #202124; }}
    """
