"""``python -m engine bench --ranks N``: bad rank counts are one line and exit 2."""

from __future__ import annotations

from engine.runner import main


def test_bench_ranks_below_two_is_refused_in_one_line(capsys):
    assert main(["bench", "--ranks", "1"]) == 2
    err = capsys.readouterr().err
    assert err == "error: bench --ranks: 1 is not a number of ranks to compare with one; give 2 or more\n"


def test_bench_ranks_that_is_not_a_number_is_refused(capsys):
    assert main(["bench", "--ranks", "two"]) == 2
    assert "argument --ranks: invalid int value: 'two'" in capsys.readouterr().err
