"""Run ``python -m engine`` as a deliberately slow rank (tests only).

Every optimizer step of this process sleeps ``STRAGGLER_SLEEP_S`` seconds first. Started
as one rank of an MPMD ``mpirun`` line by ``tests/engine/test_mpi.py``; the other ranks
run the plain engine.
"""

import os
import runpy
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import engine.optim  # noqa: E402

_delay_s = float(os.environ["STRAGGLER_SLEEP_S"])
for _cls in (engine.optim.SGD, engine.optim.Momentum, engine.optim.Adam):
    def _slow(self, _step=_cls.step):
        time.sleep(_delay_s)
        _step(self)
    _cls.step = _slow

sys.argv = ["engine", *sys.argv[1:]]
runpy.run_module("engine", run_name="__main__")
