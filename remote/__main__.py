"""``python -m remote ...``: see :mod:`remote.cli`."""

import sys

from remote.cli import main

sys.exit(main())
