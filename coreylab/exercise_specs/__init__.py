"""Old import path of the lessons' runs, kept until the notebooks import from
`coreylab.exercises` (memory_run, mapreduce_run, ring_calls, batched). Nothing else lives here:
the specs and the engine are the `coreylab.exercises` package."""
