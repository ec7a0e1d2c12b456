"""``python -m engine bench --ranks N``: bad rank counts are one line and exit 2."""

from __future__ import annotations

from engine.bench_scaling import steadiness_text
from engine.runner import main


def test_bench_ranks_below_two_is_refused_in_one_line(capsys):
    assert main(["bench", "--ranks", "1"]) == 2
    err = capsys.readouterr().err
    assert err == "error: bench --ranks: 1 is not a number of ranks to compare with one; give 2 or more\n"


def test_bench_ranks_that_is_not_a_number_is_refused(capsys):
    assert main(["bench", "--ranks", "two"]) == 2
    assert "argument --ranks: invalid int value: 'two'" in capsys.readouterr().err


def test_steadiness_is_how_far_the_median_epoch_falls_below_the_best():
    text = steadiness_text({"1 rank": [100.0, 80.0, 90.0, 60.0, 95.0], "2 ranks, strong, shared memory": [50.0, 50.0],
                            "2 ranks, weak, shared memory": []})
    # medians 90 (of 100) and 50 (of 50); a configuration without epochs is left out
    assert text == ("steadiness (median epoch below the best; a few % on a quiet machine): 1 rank 10%, "
                    "2 ranks, strong, shared memory 0%")
    assert steadiness_text({"1 rank": []}) == "steadiness: no epochs measured"


def test_bench_ranks_prints_strong_and_weak_lines_whose_figures_add_up():
    import importlib.util
    import re
    import shutil
    import subprocess
    import sys

    from tests.conftest import ROOT, require

    require(shutil.which("mpirun") is not None and importlib.util.find_spec("mpi4py") is not None,
            "needs mpirun (Open MPI) and mpi4py")
    proc = subprocess.run([sys.executable, "-m", "engine", "bench", "--ranks", "2", "--quick", "--reduction", "shared"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    one = float(re.search(r"^1 rank \(batch 128\):\s+([\d,]+) samples/s$", out, re.M).group(1).replace(",", ""))
    lines = re.findall(r"^2 ranks, (strong|weak), shared memory \(batch (\d+) per rank\):\s+([\d,]+) samples/s, "
                       r"speedup ([\d.]+)x, efficiency (\d+)% \(target 90% (met|MISSED)\); "
                       r"compute/comm/wait ms: rank 0 \d+/\d+/\d+, rank 1 \d+/\d+/\d+$", out, re.M)
    assert [(mode, int(batch)) for mode, batch, *_ in lines] == [("strong", 64), ("weak", 128)], out
    for _, _, rate, speedup, efficiency, verdict in lines:
        rate = float(rate.replace(",", ""))
        assert float(speedup) == round(rate / one, 2)
        assert int(efficiency) == round(100 * rate / one / 2)
        assert verdict == ("met" if rate / one / 2 >= 0.9 else "MISSED")
    steady = re.search(r"^steadiness \(median epoch below the best; a few % on a quiet machine\): 1 rank (\d+)%, "
                       r"2 ranks, strong, shared memory (\d+)%, 2 ranks, weak, shared memory (\d+)%$", out, re.M)
    assert steady is not None, out
    assert all(0 <= int(v) < 100 for v in steady.groups())
    assert "shared memory: node shared memory, no messages: each of the 2 ranks sums the gradients of its 42,692 " \
           "of the 85,384 parameters" in out
