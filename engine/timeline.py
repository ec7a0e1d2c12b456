"""Each rank's epoch timeline (compute, communication, wait) and the straggler rule.

Data-parallel ranks meet at every step's gradient reduction, so the slowest rank sets
the pace: every other rank waits for it. Per epoch each rank splits its training time
into *compute* (everything outside the reduction), *communication* (inside it, moving
data) and *wait* (inside it, blocked until the latest rank arrived; see
:mod:`engine.grad_reduce` for how the two are told apart). One ``Allgather`` of three
numbers per rank brings every rank's figures to every rank once per epoch.
"""

from __future__ import annotations

import numpy as np

#: a rank whose compute time exceeds the median rank's by more than this share is a straggler
STRAGGLER_EXCESS = 0.20
#: ... and by at least this many seconds (timer jitter in very short epochs is not a straggler)
STRAGGLER_MIN_EXCESS_S = 0.01


def gather_timeline(comm, compute_s: float, comm_s: float, wait_s: float) -> np.ndarray:
    """Every rank's ``(compute_s, comm_s, wait_s)``: an array of shape (ranks, 3).

    Collective: every rank calls it with its own figures.
    """
    mine = np.array([compute_s, comm_s, wait_s], np.float64)
    every = np.empty((comm.size, 3), np.float64)
    comm.allgather(mine, every)
    return every


def straggler_warnings(compute_s) -> list[str]:
    """One sentence per straggling rank, given every rank's compute seconds.

    A rank is a straggler when its compute time is more than 20% above the median of
    all ranks (and at least 10 ms above it).

    Parameters
    ----------
    compute_s : sequence of float, shape (ranks,)

    Returns
    -------
    list of str
        E.g. ``"rank 3 is 34% slower than the median rank (compute 1.20 s vs 0.90 s): a
        straggler; every other rank waits for it"``; empty when there is none.
    """
    return [f"rank {rank} is {excess:.0%} slower than the median rank (compute {_seconds(t)} vs "
            f"{_seconds(median)}): a straggler; every other rank waits for it"
            for rank, excess, t, median in stragglers(compute_s)]


def stragglers(compute_s) -> list[tuple[int, float, float, float]]:
    """``(rank, excess, compute_s, median_s)`` of each straggling rank (the rule above);
    ``excess`` is the share by which its compute time exceeds the median rank's."""
    times = np.asarray(compute_s, np.float64)
    if times.size < 2:
        return []
    median = float(np.median(times))
    if not np.isfinite(median) or median <= 0:
        return []
    return [(rank, float(t / median - 1.0), float(t), median) for rank, t in enumerate(times)
            if t / median - 1.0 > STRAGGLER_EXCESS and t - median >= STRAGGLER_MIN_EXCESS_S]


def straggler_summary(epochs_compute_s) -> list[str]:
    """One sentence per rank that straggled in any of several epochs, given each epoch's
    per-rank compute seconds: in how many epochs, and by how much.

    E.g. ``"rank 1 was a straggler in 3 of 5 epochs (24-32% slower than the median rank):
    every other rank waits for it"``. An epoch's list with another number of ranks than
    the first is not counted.
    """
    epochs = [list(e) for e in epochs_compute_s]
    if not epochs:
        return []
    n_ranks = len(epochs[0])
    counted = [e for e in epochs if len(e) == n_ranks]
    found: dict[int, list[float]] = {}
    for e in counted:
        for rank, excess, _, _ in stragglers(e):
            found.setdefault(rank, []).append(excess)
    out = []
    for rank in sorted(found):
        shares = found[rank]
        low, high = round(100 * min(shares)), round(100 * max(shares))
        by = f"{low}%" if low == high else f"{low}-{high}%"
        out.append(f"rank {rank} was a straggler in {len(shares)} of {len(counted)} epoch"
                   f"{'s' if len(counted) != 1 else ''} ({by} slower than the median rank): every other rank "
                   "waits for it")
    return out


def _seconds(value: float) -> str:
    return f"{value:.2f} s" if value >= 0.1 else f"{value * 1e3:.1f} ms"
