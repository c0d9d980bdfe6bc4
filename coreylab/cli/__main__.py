"""`python -m coreylab.cli ...` is the `coreylab` command."""

import sys

from . import main

sys.exit(main())
