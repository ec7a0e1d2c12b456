"""ScaleLab's learning engine: pure NumPy, also shipped as source into cluster jobs.

Modules: ``spec`` (the run spec), ``data``/``loaders``/``datasets``/``features`` (data
in), ``layers``/``losses``/``model``/``optim`` (the network), ``trainer`` (training
generator), ``parallel`` (MPI data parallelism), ``grid`` (pictures for the GUI),
``metrics``, ``model_io`` (``model.npz``), ``runner`` (``python -m engine``), ``logsetup``
(the CLIs' logging) and ``bench``. Importing the package imports none of them, so
``import engine.spec`` stays light.
"""

__version__ = "0.1.0"
