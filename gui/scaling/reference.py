"""The course's scaling table, shipped in ``resources/data/course_scaling.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from resources import resource_path

REFERENCE_FILE = ("data", "course_scaling.json")


@dataclass(frozen=True)
class ReferenceSeries:
    """A published scaling series: worker counts and their throughput."""

    title: str
    ranks: np.ndarray  # shape (k,)
    samples_per_s: np.ndarray  # shape (k,)

    @property
    def speedup(self) -> np.ndarray:
        """Throughput over the series' own first (1-worker) figure, shape (k,)."""
        return self.samples_per_s / self.samples_per_s[0]


def course_reference() -> ReferenceSeries:
    """The course's table: GPUs 1..128 against images per second."""
    with open(resource_path(*REFERENCE_FILE), encoding="utf-8") as fh:
        data = json.load(fh)
    return ReferenceSeries(title=str(data["title"]), ranks=np.asarray(data["ranks"], float),
                           samples_per_s=np.asarray(data["samples_per_s"], float))
