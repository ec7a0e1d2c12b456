"""``python -m tests.cluster start|stop|status``: leave the test cluster running by hand."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.cluster.cluster import main  # noqa: E402

sys.exit(main())
