"""``python -m engine export SPEC.json --keras FILE.py --notebook FILE.ipynb [--weights [MODEL.npz]]``.

Writes a stand-alone Keras script (:mod:`engine.export_keras`) and/or a Jupyter notebook
(:mod:`engine.export_notebook`), each with its data beside it. ``--weights`` hands over
ScaleLab's trained weights: those of ``MODEL.npz`` (written by ``engine train``), else the
spec's own ``weights``, else the spec is trained here first; the Keras script then starts
from them by default.
"""

from __future__ import annotations

import os
import sys

from .export_keras import ExportError, ExportedRun, companion_paths, export_keras, prepare_export
from .spec import RunSpec, SpecError, load_spec


def add_export_parser(sub) -> None:
    """Register the ``export`` subcommand on an argparse subparsers object."""
    p = sub.add_parser("export", help="write a run as a Keras script and/or a Jupyter notebook")
    p.add_argument("spec", help="run spec JSON file")
    p.add_argument("--keras", metavar="FILE.py", help="write a stand-alone Keras 3 script (data beside it)")
    p.add_argument("--notebook", metavar="FILE.ipynb", help="write a Jupyter notebook (data beside it)")
    p.add_argument("--weights", nargs="?", const="", default=None, metavar="MODEL.npz",
                   help="start the Keras script from ScaleLab's trained weights: those of MODEL.npz, "
                        "else the spec's own, else the spec is trained first")
    p.add_argument("--force", action="store_true", help="overwrite existing files")


def _weights_for(spec: RunSpec, source: str | None, say) -> list | None:
    if source is None:
        return None
    if source:
        from .model_io import load_model

        _, _, network = load_model(source)
        return network.get_weights()
    if spec.weights is not None:
        return list(spec.weights)
    from .trainer import Trainer

    trainer = Trainer(spec)
    for _ in trainer.run():
        pass
    if trainer.status != "completed":
        raise ExportError(f"training the spec for its weights did not complete: {trainer.message}")
    say(f"trained the spec for {trainer.epoch} epochs to hand over its weights")
    return trainer.model.get_weights()


def planned_files(keras_path: str | None, notebook_path: str | None) -> list[str]:
    """Every file an export with these targets writes (the weights file where weights exist)."""
    out = []
    for path in (keras_path, notebook_path):
        if path:
            out.append(path)
            out.extend(companion_paths(path))
    return out


def export_run(run: ExportedRun, keras_path: str | None = None, notebook_path: str | None = None,
               start_from_weights: bool = False, engine_root: str | None = None) -> list[str]:
    """Write the Keras script and/or the notebook for ``run``; returns the paths written."""
    written = []
    if keras_path:
        written += export_keras(run, keras_path, start_from_weights=start_from_weights)
    if notebook_path:
        from .export_notebook import export_notebook

        written += export_notebook(run, notebook_path, engine_root=engine_root)
    return written


def run_export(args, out=None) -> int:
    """The ``export`` subcommand; bad input raises SpecError/ExportError (one line, exit 2)."""
    out = out or sys.stdout
    if not args.keras and not args.notebook:
        raise ExportError("nothing to write: give --keras FILE.py and/or --notebook FILE.ipynb")
    if args.keras and not args.keras.endswith(".py"):
        raise ExportError(f"--keras {args.keras}: the script's name must end in .py")
    if args.notebook and not args.notebook.endswith(".ipynb"):
        raise ExportError(f"--notebook {args.notebook}: the notebook's name must end in .ipynb")
    if args.keras and args.notebook and \
            os.path.splitext(os.path.abspath(args.keras))[0] == os.path.splitext(os.path.abspath(args.notebook))[0]:
        raise ExportError("--keras and --notebook need different names: their data files would collide")
    if not args.force:
        for path in planned_files(args.keras, args.notebook):
            if os.path.exists(path):
                raise ExportError(f"{path} already exists; choose another name or pass --force to overwrite it")
    spec = load_spec(args.spec)

    def say(line):
        out.write(line + "\n")

    weights = _weights_for(spec, args.weights, say)
    try:
        run = prepare_export(spec, weights=weights)
    except SpecError as exc:
        if args.weights and exc.field.startswith("weights"):
            raise SpecError(exc.field, f"{args.weights} does not fit {args.spec}: {exc.message}") from None
        raise
    written = export_run(run, args.keras, args.notebook, start_from_weights=args.weights is not None)
    for path in written:
        say(f"wrote {path}")
    return 0
