"""coreylab: a Jupyter teaching lab for the Corey paper (OSDI 2008) on a simulated multicore."""

__version__ = "0.1.0"
