"""``python -m engine train|validate|predict|bench`` (see :mod:`engine.runner`)."""

import sys

from .runner import main

if __name__ == "__main__":
    sys.exit(main())
