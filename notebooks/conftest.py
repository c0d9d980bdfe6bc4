"""nbval settings for the lessons: compare text, never Bokeh's or widgets' generated output.

Bokeh outputs carry random ids and the Bokeh version, and widget views are live objects: only
the plain-text summaries the lessons print (seeded, so exact) are compared, in cells marked
`# NBVAL_CHECK_OUTPUT` (run with --nbval-lax).
"""

SKIP = [
    "text/html",
    "application/javascript",
    "application/vnd.bokehjs_load.v0+json",
    "application/vnd.bokehjs_exec.v0+json",
    "application/vnd.jupyter.widget-view+json",
    "image/png",
]


def pytest_collectstart(collector):
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare = (*collector.skip_compare, *SKIP)
