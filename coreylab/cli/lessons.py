"""`coreylab lessons DIR`: copy the lessons shipped with the package into a working folder.

The lessons are the notebooks in `notebooks/` of a checkout; a wheel carries the same files as
`coreylab/lessons/` (setup.py maps one onto the other). Students work on copies, and a copy is
never overwritten once its owner has edited it:

- a lesson missing from DIR is copied;
- a lesson still exactly as coreylab wrote it is updated to the packaged version;
- an edited lesson is kept, and the packaged version is written beside it as NAME.new.ipynb
  (unless the student edited that one too: then nothing is written, and the line says so).

"As coreylab wrote it" is recorded in DIR/.coreylab-lessons.json (file name -> SHA-256 of what
was written). A lesson in DIR with no record that differs from the packaged one counts as
edited: when unsure, keep the student's file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from .common import CliError, write_atomic

MANIFEST = ".coreylab-lessons.json"
PACKAGE = Path(__file__).resolve().parent.parent


def add(sub) -> None:
    les = sub.add_parser("lessons", help="copy the lessons into a folder to work in")
    les.add_argument("folder", metavar="DIR", help="folder to copy the lessons into")
    les.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    for name, outcome in copy_lessons(Path(args.folder)):
        print(f"{name}: {outcome}")
    print(f"lessons in {args.folder}: open them with `coreylab lab --dir {args.folder}`")
    return 0


def checkout_notebooks() -> Path | None:
    """notebooks/ of the checkout this package runs from (an editable install), if any."""
    root = PACKAGE.parent
    notebooks = root / "notebooks"
    return notebooks if (root / "pyproject.toml").is_file() and notebooks.is_dir() else None


def packaged_lessons() -> Path:
    """The folder holding the lessons this install ships: coreylab/lessons or notebooks/."""
    for folder in (PACKAGE / "lessons", checkout_notebooks()):
        if folder is not None and any(folder.glob("*.ipynb")):
            return folder
    raise CliError("this install of coreylab has no lessons (reinstall it from a wheel)")


def copy_lessons(dest: Path) -> list[tuple[str, str]]:
    """Bring DIR up to date with the packaged lessons; (file name, what happened) per lesson."""
    if dest.exists() and not dest.is_dir():
        raise CliError(f"{dest} exists and is not a folder")
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CliError(f"cannot create {dest}: {e.strerror}") from None
    record = _read_manifest(dest)
    outcomes = []
    for lesson in sorted(packaged_lessons().glob("*.ipynb")):
        new = lesson.read_text(encoding="utf-8")
        outcomes.append((lesson.name, _bring(new, dest, lesson.name, record)))
    write_atomic(dest / MANIFEST, json.dumps(record, indent=1, sort_keys=True) + "\n")
    return outcomes


def _bring(new: str, dest: Path, name: str, record: dict[str, str]) -> str:
    """Write one lesson unless that would lose a student's edit; say what was done."""
    target = dest / name
    if not target.exists():
        _put(target, new, record)
        return "copied"
    current = _read(target)
    if current == new:
        record[name] = _digest(new)
        return "up to date"
    if record.get(name) == _digest(current):
        _put(target, new, record)
        return "updated"
    beside = target.with_suffix(".new.ipynb")
    if beside.exists() and record.get(beside.name) != _digest(_read(beside)):
        return f"kept (you edited it); {beside.name} is edited too, so not copied"
    _put(beside, new, record)
    return f"kept (you edited it); the new version is {beside.name}"


def _put(path: Path, text: str, record: dict[str, str]) -> None:
    write_atomic(path, text)  # a failed write leaves the old file, never half a lesson
    record[path.name] = _digest(text)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CliError(f"cannot read {path}: {e}") from None


def _read_manifest(dest: Path) -> dict[str, str]:
    try:
        record = json.loads((dest / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # no record: every differing lesson counts as the student's
    return {k: v for k, v in record.items() if isinstance(k, str) and isinstance(v, str)}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
