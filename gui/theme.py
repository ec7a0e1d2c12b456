"""Colours, fonts and the presentation-mode scale shared by every view.

The class palette is Okabe and Ito's (2008) colour-blind-safe set, ordered so that the
two-class case is the familiar orange versus blue. The diverging palette (orange for
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


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    """``"#RRGGBB"`` to an ``(r, g, b)`` tuple of 0-255 ints."""
    color = color.lstrip("#")
    return int(color[0:2], 16), int(color[2:4], 16), int(color[4:6], 16)


def class_rgb(n_classes: int) -> np.ndarray:
    """The first ``n_classes`` class colours as a ``(n_classes, 3)`` float array in 0-1."""
    return np.array([hex_to_rgb(c) for c in CLASS_COLORS[:n_classes]], dtype=np.float32) / 255.0


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


def stylesheet(scale: float = 1.0) -> str:
    """Application style sheet; ``scale`` > 1 enlarges text for a projector."""
    base = round(10 * scale)
    big = round(15 * scale)
    return f"""
    QWidget {{ font-size: {base}pt; }}
    QLabel[role="heading"] {{ font-size: {round(11 * scale)}pt; font-weight: 600; color: {FOREGROUND};
        letter-spacing: 1px; }}
    QLabel[role="hint"] {{ color: {MUTED}; }}
    QLabel[role="counter"] {{ font-size: {big + 6}pt; font-family: "DejaVu Sans Mono"; color: {FOREGROUND}; }}
    QLabel[role="metric"] {{ font-size: {round(12 * scale)}pt; color: {FOREGROUND}; }}
    QLabel[role="error"] {{ color: white; background: {ERROR_COLOR}; padding: 4px 8px; border-radius: 4px;
        font-weight: 600; }}
    QToolButton[role="play"] {{ border-radius: {round(26 * scale)}px; background: #183A4A; color: white;
        font-size: {big + 4}pt; min-width: {round(52 * scale)}px; min-height: {round(52 * scale)}px; }}
    QToolButton[role="play"]:hover {{ background: #24576E; }}
    QToolButton[role="round"] {{ border: 1px solid #BDBDBD; border-radius: {round(13 * scale)}px;
        min-width: {round(26 * scale)}px; min-height: {round(26 * scale)}px; font-weight: 600; }}
    QToolButton[role="round"]:hover {{ background: #E8EAED; }}
    QToolButton[role="tool"] {{ padding: 3px 6px; }}
    QToolButton[role="tool"]:checked {{ background: #D2E3FC; border: 1px solid #1A73E8; border-radius: 3px; }}
    QToolButton[role="preset"] {{ border: 2px solid transparent; border-radius: 4px; padding: 1px; }}
    QToolButton[role="preset"]:checked {{ border: 2px solid #202124; }}
    """
