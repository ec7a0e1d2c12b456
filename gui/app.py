"""Application entry point: argument parsing, logging, the QApplication and the main window."""

from __future__ import annotations

import argparse
import logging
import os
import sys

logger = logging.getLogger(__name__)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scalelab",
        description="ScaleLab: train small models live, then run them data-parallel on a SLURM cluster.",
    )
    parser.add_argument("spec", nargs="?", help="a playground / run spec file (.json) to open")
    parser.add_argument(
        "--screenshot",
        metavar="PATH",
        help="train a short demo, render the main window offscreen to PATH (PNG) and exit",
    )
    parser.add_argument(
        "--view",
        default="playground",
        help="which view to show first (and to render with --screenshot): playground, cluster or vectorize",
    )
    parser.add_argument("--size", default="1600x1000", help="window size for --screenshot, WIDTHxHEIGHT")
    parser.add_argument("--presentation", action="store_true", help="start in presentation mode (large fonts)")
    parser.add_argument("--verbose", action="store_true",
                        help="log debug records (SSH, submit and poll events) to the log file and to stderr")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # Imported here so that `--help` works without a display and Qt loads once.
    from gui import errors, logs
    from gui.main_window import run_app

    path = logs.setup_logging(verbose=args.verbose)
    logger.info("ScaleLab starting (log file %s)", path)
    with errors.excepthook_installed():
        code = run_app(args)
    logger.info("ScaleLab exiting with code %s", code)
    return code
