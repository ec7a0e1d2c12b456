"""ScaleLab's windows (PySide6 + pyqtgraph): the only package that imports Qt."""

import os as _os

# Qt's raster engine hands large fills and image scaling to a pool of GUI threads and
# waits for them. While the Playground trains, its training process keeps a core busy, so
# on a machine with few cores those threads wait for a core and the window's paints take
# longer than done on its own thread (on 2 cores: 30 against 39 frames a second). The
# variable is read once, when the application starts; SCALELAB_QT_THREADPOOL=1 keeps the pool.
if _os.environ.get("SCALELAB_QT_THREADPOOL", "") != "1":
    _os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")

