"""ScaleLab's windows (PySide6 + pyqtgraph): the only package that imports Qt."""

import os as _os

# Qt's raster engine hands large fills and image scaling to a pool of GUI threads and
# waits for them. While the Playground trains, its training process keeps a core busy, so
# on a machine with few cores those threads wait for a core and the window's paints take
# longer than done on its own thread (on 2 cores: 30 against 39 frames a second). The
# variable is read once, when the application starts; SCALELAB_QT_THREADPOOL=1 keeps the pool.
if _os.environ.get("SCALELAB_QT_THREADPOOL", "") != "1":
    _os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")


def freeze_startup_objects() -> int:
    """Take what start-up built out of the garbage collector's sight; returns how many objects.

    The modules, classes, windows and widgets made at start-up live as long as the app,
    and Python's full collection walks every one of them each time it runs (about 100,000
    objects with the Playground open: a 20 ms pause in which the window answers nothing,
    every few seconds while it trains). After ``gc.freeze()`` a collection looks only at
    objects made later, which are collected as before.
    """
    import gc

    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
