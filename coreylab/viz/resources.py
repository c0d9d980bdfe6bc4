"""BokehJS from the installed bokeh package, never from a CDN, unless the user says otherwise.

Lessons opened with plain `jupyter lab`, a hub, Binder or VS Code and no internet showed
"Javascript Error: timeout" on every plot: `output_notebook()` loads BokehJS from
cdn.bokeh.org by default. Importing `coreylab.viz` makes Bokeh's default resources "inline"
(BokehJS travels with the notebook's first output), so every lesson, which imports
coreylab.viz before `output_notebook()`, works offline. An explicit BOKEH_RESOURCES in the
environment still wins.

What it costs: an executed notebook carries BokehJS once (about 8 MB, in the output of
`output_notebook()`); the stored lessons keep no such output (tools/nbstore.py clears every
output but the checked text summaries).
"""

from __future__ import annotations

import os

from bokeh.settings import settings

if "BOKEH_RESOURCES" not in os.environ:
    settings.resources.set_value("inline")
