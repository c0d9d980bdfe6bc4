"""The record of every attempt, kept in the process and in the saved notebook.

Every `check()` with an answer, and every `give_up()`, appends one record
`{"kind", "key", "student", "course", "answer", "time"}` to `LOG` (this kernel's history, which
`reveal()` consults) and, in a notebook, publishes it as a display output whose bundle carries
the record under the mimetype `MIME` beside the visible text. Jupyter saves outputs with the
notebook, so the saved `.ipynb` is the submission: `records_in_notebook` reads them back.

A record carries no verdict: graders re-check every answer with the simulator.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

from .course import ipython

MIME = "application/vnd.coreylab.check+json"
LOG: list[dict[str, Any]] = []


class SubmissionError(ValueError):
    """A file that is not a submission: one line naming the file."""


def plain(value: Any) -> Any:
    """`value` as JSON data, as a student would type it: tuples and sets become lists (sets
    sorted), numpy numbers plain numbers; anything else its `str`."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, frozenset | set):
        return sorted(plain(v) for v in value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if hasattr(value, "item"):  # a numpy scalar
        return plain(value.item())
    return str(value)


def add(kind: str, key: str, student: str, course: str, answer: Any = None) -> dict[str, Any]:
    record = {
        "kind": kind,
        "key": key,
        "student": student,
        "course": course,
        "answer": plain(answer),
        "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    LOG.append(record)
    return record


def no_answer(response: Any) -> bool:
    """None or a blank string: no answer yet, not an attempt (neither recorded nor graded)."""
    return response is None or isinstance(response, str) and not response.strip()


def attempted(key: str, student: str, course: str) -> bool:
    """Whether this student has checked an answer to `key`, or given up, in this process."""
    return any((r["key"], r["student"], r["course"]) == (key, student, course) for r in LOG)


def publish(record: dict[str, Any], markdown: str, text: str) -> bool:
    """Show `markdown` with `record` in the same output; False outside IPython (no display)."""
    if ipython() is None:
        return False
    from IPython.display import display

    display({"text/markdown": markdown, "text/plain": text, MIME: record}, raw=True)
    return True


def records_in_notebook(path: Path) -> list[dict[str, Any]]:
    """The records saved in a notebook's outputs, in cell order."""
    try:
        nb = json.loads(path.read_text())
        cells = nb["cells"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise SubmissionError(f"{path}: not a readable notebook ({type(e).__name__})") from None
    records = []
    for cell in cells:
        for output in cell.get("outputs", []) if isinstance(cell, dict) else []:
            record = output.get("data", {}).get(MIME) if isinstance(output, dict) else None
            if isinstance(record, str):  # some writers store JSON mimetypes as text
                record = json.loads(record)
            if isinstance(record, dict):
                records.append(record)
    return records
