"""What the Playground's forkserver imports before it forks any trainer (no Qt).

The trainers run NumPy's BLAS on one thread: their products are small (a batch of ten, a
grid of 10,000 points by a few neurons), and a second BLAS thread gains nothing on them
but spins between calls, taking a core the window needs (half of one in ``python -m
gui.bench``). The thread count is read once, when NumPy loads, so it is set here, in the
forkserver, while it is a single thread and before NumPy is imported; every trainer forked
from it inherits both. The window's own environment, which the jobs it starts inherit, is
never touched.
"""

from engine.threads import use_one_thread

use_one_thread()

import gui.playground.training_process  # noqa: E402,F401  (NumPy loads here, on one BLAS thread)
