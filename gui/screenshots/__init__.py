"""Staging for ``--screenshot``: bring a view into a state worth a picture, outside the view itself.

``STAGING`` maps a view name to ``"module:function"``; the function takes the view, stages
it (blocking until it is ready) and returns a function that cleans up after the picture.
"""

from __future__ import annotations

import importlib
from typing import Callable

STAGING: dict[str, str] = {
    "cluster": "gui.screenshots.cluster:stage",
    "vectorize": "gui.screenshots.vectorize:stage",
}


def staging_for(view_name: str) -> Callable | None:
    """The staging function of ``view_name``, or ``None`` when it has none here."""
    target = STAGING.get(view_name)
    if target is None:
        return None
    module_name, function_name = target.split(":")
    return getattr(importlib.import_module(module_name), function_name)


__all__ = ["STAGING", "staging_for"]
