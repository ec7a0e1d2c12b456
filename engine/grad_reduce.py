"""Summing the ranks' gradients in data-parallel training, and timing it.

Three ways, same sums (up to the order MPI adds in):

- :class:`SharedMemoryReducer` (the default when every rank runs on one node): no
  message at all. The ranks share ONE parameter vector in node shared memory (an MPI-3
  window), and each writes its gradients into its own segment of it. After the backward
  pass a barrier; then each rank sums the ranks' gradients over its own *shard* (1/N of
  the parameters, in rank order), runs the optimizer on that shard only (ZeRO's sharded
  optimizer step: Adam's dozen passes over the vector shrink to 1/N per rank) and writes
  its part of the new parameters; a second barrier, and every rank reads them all. The
  gradients cross no socket and are never copied; the optimizer's work is divided.
- :class:`BlockingReducer`: after the whole backward pass, ONE ``Allreduce`` over the flat
  gradient vector (and the control slots after it).
- :class:`OverlappedReducer` (the default): the gradients are cut into *buckets* in the
  order the backward pass produces them, last layer first. A tensor of at least the fusion
  threshold is a bucket of its own, reduced in place; smaller tensors are copied into a
  fusion buffer until it reaches the threshold (Horovod's fusion buffer, PyTorch DDP's
  buckets). Each bucket's ``Iallreduce`` starts as soon as its last tensor is written, so
  it travels while the earlier layers' products are computed; after every later layer a
  ``Testall`` lets MPI move it on (Open MPI progresses non-blocking collectives only
  inside MPI calls). The last bucket (the rest, with the control slots) starts after the
  backward pass, and ``Waitall`` ends the reduction before the optimizer step.

Ranks on several nodes use the overlapped reduction (or the blocking one).

Environment (read once per run, e.g. ``mpirun -x SCALELAB_OVERLAP=0``):
``SCALELAB_SHARED_MEMORY=0`` uses messages even on one node; ``SCALELAB_OVERLAP=0``
chooses the blocking reduction over the overlapped one; ``SCALELAB_FUSION_BYTES`` sets the
fusion threshold (default 65536; 0 gives every tensor its own reduction).

Control slots, summed with the gradients: slot 0 is the stop flag (a rank that saw a
signal sets it; every rank stops after the same step), slot ``1 + r`` rank ``r``'s
*arrival*: the seconds from leaving the previous reduction to starting this step's last
one. Every rank leaves a reduction at nearly the same moment (it completes when the last
rank's contribution is in), so ``max(arrival) - arrival[r]`` is how long rank ``r`` was
blocked waiting for the latest rank: its *wait*. The rest of its time inside the
reduction (posting, progress calls, the final ``Waitall``, fusion copies) is
*communication*. This costs no extra message and no clock synchronisation between hosts
(only durations are compared), where a barrier before each reduction would add a round
trip per step.
"""

from __future__ import annotations

import logging
import os
import time
from functools import partial

import numpy as np

from .parallel import split_range
from .spec import SpecError

logger = logging.getLogger(__name__)

DEFAULT_FUSION_BYTES = 65536


def reduction_settings(environ=None) -> tuple[bool, int]:
    """``(overlap, fusion_bytes)`` from ``SCALELAB_OVERLAP`` and ``SCALELAB_FUSION_BYTES``.

    Raises
    ------
    SpecError
        A value that is not ``0``/``1`` or not a whole number of bytes (one line naming it).
    """
    env = os.environ if environ is None else environ
    shared_text = env.get("SCALELAB_SHARED_MEMORY", "1").strip()
    if shared_text not in ("0", "1"):
        raise SpecError("", f"SCALELAB_SHARED_MEMORY={shared_text!r}: use 1 (ranks on one node share their "
                            "gradients in memory) or 0 (MPI messages even on one node)")
    overlap_text = env.get("SCALELAB_OVERLAP", "1").strip()
    if overlap_text not in ("0", "1"):
        raise SpecError("", f"SCALELAB_OVERLAP={overlap_text!r}: use 1 (overlap the gradient reduction with the "
                            "backward pass) or 0 (one blocking Allreduce after it)")
    fusion_text = env.get("SCALELAB_FUSION_BYTES", str(DEFAULT_FUSION_BYTES)).strip()
    if not fusion_text.isdigit():
        raise SpecError("", f"SCALELAB_FUSION_BYTES={fusion_text!r}: give the fusion threshold as a whole number "
                            f"of bytes (default {DEFAULT_FUSION_BYTES})")
    return overlap_text == "1", int(fusion_text)


class BlockingReducer:
    """One ``Allreduce`` over ``net.reduce_buffer`` after the backward pass.

    Parameters
    ----------
    net : Network
        Its ``reduce_buffer`` gets ``1 + comm.size`` control slots.
    comm : MpiComm

    Attributes
    ----------
    mpi_s, wait_s : float
        Seconds inside the reduction and, of those, waiting for a later rank, since
        :meth:`take_times` last returned them.
    """

    overlapped = False
    sharded = False

    def __init__(self, net, comm):
        self._init_times(comm)
        self.control = net.reserve_reduce_slots(1 + comm.size)
        self._buffer = net.reduce_buffer

    def _init_times(self, comm) -> None:
        """The communicator and the time accounts every reduction keeps."""
        self.comm = comm
        self.rank = comm.rank
        self.size = comm.size
        self.mpi_s = 0.0
        self.wait_s = 0.0
        self._since = time.perf_counter()

    def describe(self) -> str:
        return f"one blocking Allreduce of {self._buffer.size:,} values per step"

    def layer_ops(self, i: int) -> list:
        """Callables a step plan runs after layer ``i``'s gradients are written (none here)."""
        return []

    def layer_done(self, i: int) -> None:
        """The same for an unplanned step."""

    def start(self) -> None:
        """Steps begin now (right after a collective every rank took part in)."""
        self._since = time.perf_counter()

    def _set_control(self, control: np.ndarray, stop: bool, t1: float) -> None:
        control.fill(0)
        control[0] = 1.0 if stop else 0.0
        control[1 + self.rank] = t1 - self._since

    def _account(self, control: np.ndarray, t1: float, t2: float, extra_s: float) -> bool:
        arrivals = control[1:1 + self.size]
        blocked = t2 - t1
        wait = min(max(float(arrivals.max() - arrivals[self.rank]), 0.0), blocked)
        self.wait_s += wait
        self.mpi_s += blocked + extra_s
        self._since = t2
        return bool(control[0] > 0)

    def finish(self, stop: bool) -> bool:
        """Complete this step's reduction; True when any rank asked to stop."""
        t1 = time.perf_counter()
        self._set_control(self.control, stop, t1)
        self.comm.allreduce_sum(self._buffer)
        return self._account(self.control, t1, time.perf_counter(), 0.0)

    def publish(self) -> None:
        """After the optimizer step (only a sharded reduction has work here)."""

    def take_times(self) -> tuple[float, float]:
        """``(mpi_s, wait_s)`` accumulated so far; resets both."""
        out = (self.mpi_s, self.wait_s)
        self.mpi_s = self.wait_s = 0.0
        return out


class _Bucket:
    """Gradient tensors reduced together: in place (one tensor) or through a fusion buffer."""

    def __init__(self, segments: list, dtype, n_control: int = 0):
        self.segments = segments
        self.n = sum(s.size for s in segments)
        if len(segments) == 1 and n_control == 0:
            self.buffer = segments[0]
            self.fused = False
        else:
            self.buffer = np.zeros(self.n + n_control, dtype)
            self.fused = True
        self.offsets = np.cumsum([0] + [s.size for s in segments]).tolist()
        self.posted = False

    def copy_in(self) -> None:
        if self.fused:
            for seg, a, b in zip(self.segments, self.offsets, self.offsets[1:]):
                self.buffer[a:b] = seg

    def copy_out(self) -> None:
        if self.fused:
            for seg, a, b in zip(self.segments, self.offsets, self.offsets[1:]):
                seg[...] = self.buffer[a:b]


class OverlappedReducer(BlockingReducer):
    """Bucketed ``Iallreduce`` calls started during the backward pass (module docstring).

    Parameters
    ----------
    net : Network
    comm : MpiComm
    fusion_bytes : int
        Tensors of at least this size are reduced on their own, smaller ones fused up to it.
    """

    overlapped = True

    def __init__(self, net, comm, fusion_bytes: int = DEFAULT_FUSION_BYTES):
        self._init_times(comm)
        threshold = max(fusion_bytes // net.dtype.itemsize, 0)
        # Gradient tensors in the order the backward pass writes them, with their layer.
        ready = []
        for i in range(len(net.layers) - 1, -1, -1):
            layer = net.layers[i]
            ready += [(i, layer.gW.reshape(-1)), (i, layer.gb)]
        self._early: dict[int, list[_Bucket]] = {}  # layer -> buckets that start after it
        pending: list = []
        pending_n = 0
        for index, (i, seg) in enumerate(ready):
            if seg.size >= threshold:
                self._early.setdefault(i, []).append(_Bucket([seg], net.dtype))
                continue
            pending.append(seg)
            pending_n += seg.size
            if pending_n >= threshold and index < len(ready) - 1:
                self._early.setdefault(i, []).append(_Bucket(pending, net.dtype))
                pending, pending_n = [], 0
        # The last bucket: what is left, and the control slots; started by ``finish``.
        self._last = _Bucket(pending, net.dtype, n_control=1 + comm.size)
        self.control = self._last.buffer[self._last.n:]
        self._buckets = [b for i in sorted(self._early, reverse=True) for b in self._early[i]]
        self._requests: list = []

    def describe(self) -> str:
        sizes = [b.n for b in self._buckets] + [self._last.n]
        return (f"{len(sizes)} bucketed Iallreduce calls per step overlapped with the backward pass "
                f"(values per bucket, last layer first: {', '.join(f'{n:,}' for n in sizes)}; "
                f"{len(self._last.segments)} small tensors fused with the control slots in the last)")

    def layer_ops(self, i: int) -> list:
        ops = [partial(self._post, b) for b in self._early.get(i, ())]
        if any(j >= i for j in self._early):
            ops.append(self._progress)  # a bucket is in flight: let MPI move it on
        return ops

    def layer_done(self, i: int) -> None:
        for op in self.layer_ops(i):
            op()

    def _post(self, bucket: _Bucket) -> None:
        t0 = time.perf_counter()
        bucket.copy_in()
        self._requests.append(self.comm.iallreduce_sum(bucket.buffer))
        bucket.posted = True
        self.mpi_s += time.perf_counter() - t0

    def _progress(self) -> None:
        if self._requests:
            t0 = time.perf_counter()
            self.comm.test_all(self._requests)
            self.mpi_s += time.perf_counter() - t0

    def finish(self, stop: bool) -> bool:
        t0 = time.perf_counter()
        for bucket in self._buckets:
            if not bucket.posted:  # an empty share, or a step without hooks
                self._post(bucket)
        last = self._last
        last.copy_in()
        t1 = time.perf_counter()
        extra = t1 - t0
        self._set_control(self.control, stop, t1)
        self._requests.append(self.comm.iallreduce_sum(last.buffer))
        self.comm.wait_all(self._requests)
        t2 = time.perf_counter()
        self._requests.clear()
        for bucket in self._buckets:
            bucket.copy_out()
            bucket.posted = False
        last.copy_out()
        t3 = time.perf_counter()
        return self._account(self.control, t1, t2, extra + (t3 - t2))


class SharedMemoryReducer(BlockingReducer):
    """Gradients summed in node shared memory, with a sharded optimizer step (module docstring).

    Parameters
    ----------
    net : Network
        Its parameters move into the shared window (one copy for the node) and its
        gradients into this rank's segment, followed by ``1 + comm.size`` control slots.
    comm : MpiComm
        Every rank on one node (``comm.node_shared`` returned ``shared``).
    shared : NodeShared
        Segments laid out by :func:`shared_counts`.

    Attributes
    ----------
    lo, hi : int
        This rank's shard ``params[lo:hi]``: it sums those gradients and updates those
        parameters.
    shard_params, shard_grads : ndarray
        The optimizer's vectors for this rank: a view of the shared parameters and the
        summed gradients of the shard.
    """

    sharded = True

    def __init__(self, net, comm, shared):
        self._init_times(comm)
        self._shared = shared
        p = net.params.size
        segments = shared.segments
        params = segments[0][:p]
        buffers = [segments[0][p:]] + list(segments[1:])
        if self.rank == 0:
            params[...] = net.params  # every rank holds rank 0's values already (broadcast)
        own = buffers[self.rank]
        own[p:] = 0
        net.use_buffers(params, own)
        shared.sync()
        self._grads = [b[:p] for b in buffers]
        self._controls = [b[p:] for b in buffers]
        self.control = self._controls[self.rank]
        self.lo, self.hi = split_range(p, self.size, self.rank)
        self.shard_params = params[self.lo:self.hi]
        self.shard_grads = np.zeros(self.hi - self.lo, net.dtype)
        self._shard_sources = [g[self.lo:self.hi] for g in self._grads]
        self._n = p

    def describe(self) -> str:
        return (f"node shared memory, no messages: each of the {self.size} ranks sums the gradients of its "
                f"{self.hi - self.lo:,} of the {self._n:,} parameters and runs the optimizer on them alone "
                "(sharded optimizer step), two barriers per step")

    def finish(self, stop: bool) -> bool:
        """Sum this rank's shard of every rank's gradients; True when any rank asked to stop."""
        t1 = time.perf_counter()
        control = self.control
        control[0] = 1.0 if stop else 0.0
        control[1 + self.rank] = t1 - self._since
        self._shared.sync()  # every rank's gradients and control slots are written
        t2 = time.perf_counter()
        sources, out = self._shard_sources, self.shard_grads
        if len(sources) == 1:
            out[...] = sources[0]
        else:
            np.add(sources[0], sources[1], out=out)
            for src in sources[2:]:
                np.add(out, src, out=out)
        stopping = any(c[0] > 0 for c in self._controls)
        self._account_wait(1, t2 - t1)
        t3 = time.perf_counter()
        self.mpi_s += t3 - t1
        self._since = t3
        return stopping

    def _account_wait(self, slot: int, blocked: float) -> None:
        """Count as waiting how much later than this rank the latest one reached a barrier."""
        r = self.rank
        arrivals = [float(c[slot + k]) for k, c in enumerate(self._controls)]
        wait = min(max(max(arrivals) - arrivals[r], 0.0), blocked)
        self.wait_s += wait

    def publish(self) -> None:
        """After this rank's optimizer step: every rank sees every shard's new parameters.

        A rank late here (a slow optimizer step) makes the others wait as a late gradient
        does at :meth:`finish`; both waits are counted.
        """
        t0 = time.perf_counter()
        self.control[1 + self.size + self.rank] = t0 - self._since
        self._shared.sync()
        t1 = time.perf_counter()
        self.mpi_s += t1 - t0
        self._account_wait(1 + self.size, t1 - t0)
        self._since = t1


def shared_counts(n_params: int, size: int) -> list[int]:
    """Values in each rank's segment: rank 0 holds the parameters, every rank its gradients
    and ``1 + 2 size`` control slots (its stop flag, and its arrival at each of a step's two
    barriers in the slots of its rank)."""
    own = n_params + 1 + 2 * size
    return [n_params + own] + [own] * (size - 1)


def make_reducer(net, comm, environ=None) -> BlockingReducer:
    """The reducer the environment asks for: in shared memory when every rank is on one node
    (unless ``SCALELAB_SHARED_MEMORY=0``), else overlapped (unless ``SCALELAB_OVERLAP=0``)."""
    env = os.environ if environ is None else environ
    overlap, fusion_bytes = reduction_settings(env)
    reducer = None
    if env.get("SCALELAB_SHARED_MEMORY", "1").strip() == "1" and hasattr(comm, "node_shared"):
        shared = comm.node_shared(shared_counts(net.params.size, comm.size), net.dtype)
        if shared is not None:
            reducer = SharedMemoryReducer(net, comm, shared)
    if reducer is None:
        reducer = OverlappedReducer(net, comm, fusion_bytes) if overlap else BlockingReducer(net, comm)
    logger.debug("rank %d: gradient reduction: %s", comm.rank, reducer.describe())
    return reducer
