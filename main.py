"""Start ScaleLab: ``python main.py [--screenshot PATH [--view NAME]]``."""

import sys

from gui.app import main

if __name__ == "__main__":
    sys.exit(main())
