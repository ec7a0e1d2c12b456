"""What start-up built leaves the garbage collector's sight; what is made later is collected as before."""

from __future__ import annotations

import gc
import weakref

from gui import freeze_startup_objects


class _Node:
    pass


def test_startup_objects_are_frozen_and_later_garbage_is_still_collected(qtbot, playground):
    try:
        frozen = freeze_startup_objects()
        # the Playground's widgets, modules and classes: tens of thousands of objects
        assert frozen > 20_000 and gc.get_freeze_count() == frozen
        assert len(gc.get_objects()) < frozen // 10  # a collection now looks at these only
        # a cycle made afterwards is garbage like any other
        a, b = _Node(), _Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
        assert gone() is not None
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()
