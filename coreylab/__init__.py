"""coreylab: a Jupyter teaching lab for the Corey paper (OSDI 2008) on a simulated multicore.

The names a lesson needs:

    import coreylab as lab
    lab.run("latency-ladder")              # an experiment -> Result (rows, counters, traces)
    lab.hardware("amd16", l3_latency=46)   # the machine's parameters, some changed
    lab.Machine(lab.hardware("tiny"))      # a machine to program by hand
    lab.exercise("00.remote-load", "me")   # a question of your own, checked by the simulator
    lab.predict("00.guess", "How many cycles?", unit="cycles")   # asked before the result
    lab.playground.pass_the_counter(4)     # small runs the lessons use

Pictures live in `coreylab.viz` (imported on demand: it loads Bokeh).
"""

from . import playground
from .exercises import exercise
from .experiments import EXPERIMENTS, Result, hardware, run
from .hardware import PRESETS, HardwareParams, Machine
from .predictions import predict

__version__ = "0.1.0"

__all__ = [
    "EXPERIMENTS",
    "PRESETS",
    "HardwareParams",
    "Machine",
    "Result",
    "exercise",
    "hardware",
    "playground",
    "predict",
    "run",
]
