"""ScaleLab's windows (PySide6 + pyqtgraph): the only package that imports Qt."""
