"""`python -m coreylab.cli ...` is the `coreylab` command."""

from . import entry

entry()
