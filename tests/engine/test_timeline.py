"""The straggler rule, the reduction settings and the bucket layout of the overlapped reduction."""

from __future__ import annotations

import numpy as np
import pytest

from engine.grad_reduce import DEFAULT_FUSION_BYTES, OverlappedReducer, reduction_settings
from engine.model import Network
from engine.parallel import SerialComm
from engine.spec import SpecError
from engine.timeline import gather_timeline, straggler_summary, straggler_warnings, stragglers


def test_a_rank_more_than_20_percent_above_the_median_is_a_straggler():
    assert straggler_warnings([0.9, 0.9, 0.9, 1.206]) == [
        "rank 3 is 34% slower than the median rank (compute 1.21 s vs 0.90 s): a straggler; every other rank "
        "waits for it"]
    # exactly 20% above the median is not a straggler; just above is
    assert straggler_warnings([1.0, 1.0, 1.2]) == []
    assert [w[:7] for w in straggler_warnings([1.0, 1.0, 1.21])] == ["rank 2 "]
    # the median, not the mean: one slow rank does not hide another
    found = straggler_warnings([1.0, 1.0, 1.0, 1.5, 2.0])
    assert [w.split(" is ")[0] for w in found] == ["rank 3", "rank 4"]
    assert "50% slower" in found[0] and "100% slower" in found[1]


def test_no_straggler_with_one_rank_equal_ranks_or_only_timer_jitter():
    assert straggler_warnings([5.0]) == []
    assert straggler_warnings([0.5, 0.5]) == []
    assert straggler_warnings([0.0, 0.0]) == []
    # 0.004 s vs 0.002 s is 33% above the median 0.003 s, but only 1 ms: jitter, not a straggler
    assert straggler_warnings([0.002, 0.004]) == []
    # short epochs are written in milliseconds
    assert "(compute 40.0 ms vs 25.0 ms)" in straggler_warnings([0.01, 0.04])[0]


def test_one_rank_timeline_gathers_its_own_figures():
    every = gather_timeline(SerialComm(), 1.5, 0.25, 0.125)
    np.testing.assert_array_equal(every, [[1.5, 0.25, 0.125]])


def test_reduction_settings_from_the_environment():
    assert reduction_settings({}) == (True, DEFAULT_FUSION_BYTES)
    assert reduction_settings({"SCALELAB_OVERLAP": "0", "SCALELAB_FUSION_BYTES": "0"}) == (False, 0)
    with pytest.raises(SpecError, match=r"^SCALELAB_OVERLAP='yes': use 1 .* or 0 "):
        reduction_settings({"SCALELAB_OVERLAP": "yes"})
    with pytest.raises(SpecError, match=r"^SCALELAB_FUSION_BYTES='64k': give the fusion threshold as a whole number"):
        reduction_settings({"SCALELAB_FUSION_BYTES": "64k"})


class _DoublingComm:
    """Two identical ranks in one process: every reduction doubles its buffer on completion."""

    rank, size = 0, 2

    def __init__(self):
        self.started = []
        self.pending = []

    def iallreduce_sum(self, buf):
        self.started.append(buf.size)
        self.pending.append(buf)
        return len(self.pending) - 1

    def test_all(self, requests):
        pass

    def wait_all(self, requests):
        for buf in self.pending:
            buf *= 2
        self.pending.clear()


@pytest.mark.parametrize("fusion_bytes, started", [
    # 200-256-128-8 in float32: W2 1,024, b2 8, W1 32,768, b1 128, W0 51,200, b0 256 values
    (65536, [32768, 51200, 1024 + 8 + 128 + 256 + 3]),  # the large tensors alone, the small ones fused
    (0, [1024, 8, 32768, 128, 51200, 256, 3]),  # every tensor alone; the last bucket: control slots only
    (10**9, [1024 + 8 + 32768 + 128 + 51200 + 256 + 3]),  # everything in one bucket
    (4100, [1024 + 8, 32768, 51200, 128 + 256 + 3]),  # 1,025 values: W2 + b2 reach it, a fused bucket
    (4000, [1024, 32768, 51200, 8 + 128 + 256 + 3]),  # 1,000 values: W2 is large enough alone
])
def test_buckets_cover_every_gradient_once_last_layer_first(fusion_bytes, started):
    net = Network(200, (256, 128), ("relu", "relu"), 8, seed=0)
    comm = _DoublingComm()
    reducer = OverlappedReducer(net, comm, fusion_bytes)
    rng = np.random.default_rng(1)
    net.grads[:] = rng.normal(size=net.grads.size)
    before = net.grads.copy()
    # what a step plan runs after each layer's gradients, last layer first, then the rest
    for i in (2, 1, 0):
        for op in reducer.layer_ops(i):
            op()
    stopping = reducer.finish(stop=True)
    assert comm.started == started
    # every gradient went through exactly one reduction and came back to its place
    np.testing.assert_array_equal(net.grads, 2 * before)
    assert stopping  # the stop flag travelled with the last bucket
    mpi_s, wait_s = reducer.take_times()
    assert mpi_s > 0 and 0 <= wait_s <= mpi_s
    assert reducer.take_times() == (0.0, 0.0)


def test_buckets_not_started_during_the_step_are_started_by_finish():
    # a rank with no rows in a batch runs no backward pass: finish starts every bucket
    net = Network(4, (3,), ("tanh",), 2, seed=0)
    comm = _DoublingComm()
    reducer = OverlappedReducer(net, comm, 0)
    net.grads[:] = np.arange(net.grads.size)
    assert reducer.finish(stop=False) is False
    np.testing.assert_array_equal(net.grads, 2 * np.arange(net.grads.size))
    assert len(comm.started) == 5  # W1, b1, W0, b0, control slots


def test_stragglers_are_the_ranks_20_percent_and_10_ms_above_the_median():
    assert stragglers([1.0, 1.0, 1.0, 1.3]) == [(3, pytest.approx(0.3), 1.3, 1.0)]
    assert stragglers([0.010, 0.010, 0.0130]) == []  # 30% but only 3 ms: timer jitter
    assert stragglers([1.0, 1.0, 1.2]) == []  # exactly 20% is not more than 20%


def test_straggler_summary_counts_epochs_and_gives_the_range_per_rank():
    epochs = [[1.0, 1.5, 1.0], [1.0, 1.25, 1.0], [1.0, 1.0, 1.0], [1.6, 1.0, 1.0], [1.0, 1.0]]
    # the last epoch has two ranks, not three: not counted
    assert straggler_summary(epochs) == [
        "rank 0 was a straggler in 1 of 4 epochs (60% slower than the median rank): every other rank waits for it",
        "rank 1 was a straggler in 2 of 4 epochs (25-50% slower than the median rank): every other rank waits for it"]
    assert straggler_summary([[1.0, 1.0]]) == [] and straggler_summary([]) == []
    assert straggler_summary([[1.0, 2.0, 1.0]]) == [
        "rank 1 was a straggler in 1 of 1 epoch (100% slower than the median rank): every other rank waits for it"]
