"""`python -m forecast.cli ARGS`: the same as the `forecast` command."""

import sys

from .main import main

sys.exit(main())
