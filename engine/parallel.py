"""Data-parallel training under ``mpirun -n N`` or ``srun``.

Every rank holds the same parameters (rank 0 broadcasts its initial ones) and the same
shuffled order of the training set (same seed). Each global batch of ``B`` rows is cut
into ``N`` contiguous shares whose sizes differ by at most one; every rank computes the
gradient of its share *summed* and divided by ``B`` (not by its share size), so one
``Allreduce(SUM)`` over the flat gradient vector gives exactly the mean gradient of the
global batch: 1 rank and N ranks take the same steps up to rounding.

mpi4py is imported lazily, and only when a launcher says there is more than one rank,
so a plain ``python -m engine train`` never initialises MPI.
"""

from __future__ import annotations

import importlib.util
import os
import shutil

import numpy as np

#: environment variables through which launchers announce the number of ranks
_SIZE_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS", "MV2_COMM_WORLD_SIZE")


class ParallelError(RuntimeError):
    """Started by an MPI launcher with several ranks, but MPI cannot be used."""


class SerialComm:
    """The one-rank communicator: every collective is a no-op."""

    rank = 0
    size = 1

    def allreduce_sum(self, buf: np.ndarray) -> None:
        """Sum ``buf`` over ranks, in place."""

    def bcast(self, buf: np.ndarray) -> None:
        """Copy rank 0's ``buf`` to every rank, in place."""

    def allreduce_max(self, buf: np.ndarray) -> None:
        """Element-wise maximum of ``buf`` over ranks, in place."""

    def allgather(self, send: np.ndarray, recv: np.ndarray) -> None:
        """Every rank's ``send`` (shape (w,)) into row ``rank`` of ``recv`` (shape (size, w))."""
        recv[0] = send

    def barrier(self) -> None:
        """Wait for every rank."""

    def abort(self, code: int) -> None:
        """End every rank with exit status ``code``."""
        raise SystemExit(code)


class MpiComm(SerialComm):
    """Collectives on an mpi4py communicator (buffer-based, no pickling)."""

    def __init__(self, comm=None):
        from mpi4py import MPI  # lazily: only data-parallel runs need MPI

        self._MPI = MPI
        self._comm = comm if comm is not None else MPI.COMM_WORLD
        self.rank = self._comm.Get_rank()
        self.size = self._comm.Get_size()

    def allreduce_sum(self, buf):
        self._comm.Allreduce(self._MPI.IN_PLACE, buf, op=self._MPI.SUM)

    def bcast(self, buf):
        self._comm.Bcast(buf, root=0)

    def allreduce_max(self, buf):
        self._comm.Allreduce(self._MPI.IN_PLACE, buf, op=self._MPI.MAX)

    def allgather(self, send, recv):
        self._comm.Allgather(send, recv)

    def iallreduce_sum(self, buf):
        """Start summing ``buf`` over ranks in place; returns the request (``wait_all``)."""
        return self._comm.Iallreduce(self._MPI.IN_PLACE, buf, op=self._MPI.SUM)

    def test_all(self, requests: list) -> None:
        """Let MPI progress the started reductions (Open MPI moves them only inside MPI calls)."""
        self._MPI.Request.Testall(requests)

    def wait_all(self, requests: list) -> None:
        """Block until every request in ``requests`` has completed."""
        self._MPI.Request.Waitall(requests)

    def barrier(self):
        self._comm.Barrier()

    def abort(self, code):
        self._comm.Abort(code)

    def node_shared(self, counts: list[int], dtype) -> "NodeShared | None":
        """One segment of ``counts[r]`` values per rank in memory every rank can read and write.

        ``None`` when the ranks are not all on one node (or the MPI has no shared-memory
        windows): then only messages reach every rank. Collective.
        """
        node = self._whole_node()
        return None if node is None else NodeShared(self._MPI, node, counts, np.dtype(dtype))

    def work_counter(self) -> "WorkCounter | None":
        """A :class:`WorkCounter` over every rank; ``None`` unless they all share one node
        (collective)."""
        node = self._whole_node()
        return None if node is None else WorkCounter(self._MPI, node)

    def _whole_node(self):
        """A communicator of this node's ranks when that is every rank, else None (collective)."""
        MPI = self._MPI
        try:
            node = self._comm.Split_type(MPI.COMM_TYPE_SHARED, key=self.rank)
        except (AttributeError, NotImplementedError, MPI.Exception):
            return None
        if node.Get_size() != self.size:
            node.Free()
            return None
        return node


class WorkCounter:
    """A counter every rank of a node can take the next number from, atomically.

    Ranks that deal out pieces of work of unknown cost take the next piece when they are
    free (``next()``), instead of a fixed share: a rank never idles while another still
    has a queue. One-sided (MPI-3 ``Fetch_and_op`` on a shared-memory window), so the
    rank holding the counter need not take part.
    """

    def __init__(self, MPI, node):
        self._MPI = MPI
        self._node = node
        self._win = MPI.Win.Allocate_shared(8 if node.Get_rank() == 0 else 0, 8, comm=node)
        buf, _ = self._win.Shared_query(0)
        self._value = np.frombuffer(buf, np.int64, count=1)
        self._one = np.ones(1, np.int64)
        self._got = np.zeros(1, np.int64)
        if node.Get_rank() == 0:
            self._value[0] = 0
        self._win.Fence()

    def next(self) -> int:
        """0, 1, 2, ... over all ranks together, each number to exactly one caller."""
        MPI = self._MPI
        win = self._win
        win.Lock(0, MPI.LOCK_SHARED)
        win.Fetch_and_op(self._one, self._got, 0, 0, MPI.SUM)
        win.Unlock(0)
        return int(self._got[0])

    def free(self) -> None:
        """Release the window (collective); call when every rank is done with it."""
        self._node.Barrier()
        self._win.Free()
        self._node.Free()


class NodeShared:
    """An MPI-3 shared-memory window: rank ``r``'s segment is ``segments[r]`` on every rank.

    Writes become visible to the other ranks at the next :meth:`sync` (a barrier between
    two memory synchronisations, MPI's unified memory model); the window lives as long as
    the process.
    """

    def __init__(self, MPI, node, counts: list[int], dtype: np.dtype):
        self._node = node
        itemsize = dtype.itemsize
        mine = int(counts[node.Get_rank()])
        self._win = MPI.Win.Allocate_shared(mine * itemsize, itemsize, comm=node)
        self.segments = []
        for r, count in enumerate(counts):
            buf, _ = self._win.Shared_query(r)
            self.segments.append(np.frombuffer(buf, dtype, count=int(count)))
        self._win.Lock_all(MPI.MODE_NOCHECK)

    def sync(self) -> None:
        """Every rank's writes so far are visible to every rank once all of them get here."""
        win = self._win
        win.Sync()
        self._node.Barrier()
        win.Sync()

    def fence(self) -> None:
        """A memory barrier on this rank alone: its writes before it are seen by another
        rank before its writes after it (e.g. data, then a flag saying it is there)."""
        self._win.Sync()

    def free(self) -> None:
        """Release the window (collective); the segments must not be used after it."""
        self._node.Barrier()
        self._win.Unlock_all()
        self._win.Free()
        self._node.Free()
        self.segments = []


def mpirun_unavailable() -> str | None:
    """Why ``mpirun`` cannot start MPI ranks of this Python here (None: it can)."""
    if shutil.which("mpirun") is None:
        return "no mpirun on this machine"
    if importlib.util.find_spec("mpi4py") is None:
        return "mpi4py is not installed"
    return None


def local_mpirun(ranks: int) -> list[str]:
    """``mpirun -n RANKS`` for ranks on this machine, as the benchmarks start them: allowed as
    root (Open MPI refuses otherwise) and with more ranks than cores."""
    cmd = [shutil.which("mpirun") or "mpirun", "-n", str(ranks)]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    return cmd + ["--oversubscribe"]


def launcher_size(environ=None) -> int:
    """The number of ranks a launcher (mpirun, srun) announces; 1 when none does."""
    env = os.environ if environ is None else environ
    for name in _SIZE_VARIABLES:
        value = env.get(name, "")
        if value.isdigit():
            return int(value)
    # srun without an MPI plugin still tells its step size.
    if env.get("SLURM_STEP_ID") is not None:
        value = env.get("SLURM_STEP_NUM_TASKS", env.get("SLURM_NTASKS", ""))
        if value.isdigit():
            return int(value)
    return 1


def world_comm(environ=None) -> SerialComm:
    """The communicator for this process.

    :class:`SerialComm` unless a launcher announces several ranks; then an
    :class:`MpiComm` over ``COMM_WORLD``.

    Raises
    ------
    ParallelError
        Several ranks were announced but mpi4py is missing or its world has one rank
        (every rank would train alone and overwrite the others' files).
    """
    announced = launcher_size(environ)
    if announced <= 1:
        return SerialComm()
    try:
        comm = MpiComm()
    except ImportError:
        raise ParallelError(
            f"started with {announced} ranks but mpi4py is not installed; install it (pip install mpi4py) "
            "or run without mpirun/srun"
        ) from None
    if comm.size != announced:
        raise ParallelError(
            f"the launcher announced {announced} ranks but MPI sees {comm.size}; mpi4py may be built "
            "against another MPI than the one that started this run"
        )
    return comm


def batch_shares(n: int, batch_size: int, size: int, rank: int) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """This rank's rows of every global batch of one epoch.

    Parameters
    ----------
    n : int
        Training rows per epoch.
    batch_size : int
        Global batch size ``B``.
    size, rank : int
        Number of ranks and this rank.

    Returns
    -------
    positions : (n_local,) intp array
        Positions (into the epoch's shuffled order) of this rank's rows, batch after batch.
    batches : list of (local_start, local_stop, global_size)
        For each global batch: this rank's rows ``positions[local_start:local_stop]``
        (possibly empty) and the global batch size that divides the gradient.
    """
    pieces = []
    batches = []
    local = 0
    for start in range(0, n, batch_size):
        g = min(batch_size, n - start)
        base, extra = divmod(g, size)
        lo = start + rank * base + min(rank, extra)
        count = base + (1 if rank < extra else 0)
        pieces.append(np.arange(lo, lo + count, dtype=np.intp))
        batches.append((local, local + count, g))
        local += count
    positions = np.concatenate(pieces) if pieces else np.empty(0, np.intp)
    return positions, batches


def split_range(n: int, size: int, rank: int) -> tuple[int, int]:
    """This rank's contiguous part ``[start, stop)`` of ``n`` rows (sizes differ by at most 1)."""
    base, extra = divmod(n, size)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)
