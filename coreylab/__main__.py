"""`python -m coreylab ...`: the `coreylab` command, for an environment whose scripts folder
is not on PATH (a hub's kernel, say)."""

from .cli import entry

entry()
