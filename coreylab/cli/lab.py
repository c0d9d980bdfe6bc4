"""`coreylab lab`: JupyterLab on the lessons, or (`--voila`) the lecturer's dashboards.

Which lessons: in a checkout, `notebooks/` itself; from an installed package, a working copy
(`--dir`, default ./coreylab-lessons) that `coreylab lessons` keeps up to date without
overwriting what the student edited.

The lecturer's server (Voila) binds 127.0.0.1 unless `--ip` says otherwise and asks for a
fresh random token, handed over in the environment (JUPYTER_TOKEN, so it does not show in `ps`)
and printed inside the URL to open. A lesson argument names a notebook inside the lessons'
folder: no path may lead out of it.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

from .common import CliError
from .lessons import checkout_notebooks, copy_lessons

DEFAULT_DIR = "coreylab-lessons"
# Voila's page asks cdn.jsdelivr.net for Font Awesome's CSS, which voila.js already carries:
# offline, a firewall that drops packets holds the page's first paint until the request times
# out. Stylesheets only from the server itself: the browser never tries the CDN.
CSP = "style-src 'self' 'unsafe-inline' data: blob:; frame-ancestors 'self'"
VOILA_PORT = 8866
# Voila starts a kernel for each request of a page, runs the whole lesson in it even when the
# client has gone, and keeps it until the page says goodbye (on unload) or the server stops. A
# page that never says it (a laptop closed, a network dropped, a script or a link preview
# fetching the URL) left its kernel, and the lesson's memory, for the rest of the lecture. A
# kernel idle this long with no page connected is shut down; an open page keeps its own.
KERNEL_IDLE_SECONDS = 600
CULL_EVERY_SECONDS = 60


def add(sub) -> None:
    lab = sub.add_parser("lab", help="open JupyterLab on the lessons")
    lab.add_argument(
        "--voila",
        nargs="?",
        const="",
        metavar="NOTEBOOK",
        help="lecturer mode: serve the lessons (or one) as Voila dashboards, code hidden",
    )
    lab.add_argument(
        "--dir",
        help=f"work on copies of the lessons in DIR (default outside a checkout: ./{DEFAULT_DIR})",
    )
    lab.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    lab.add_argument("--port", type=int, help=f"port (default: JupyterLab's, Voila {VOILA_PORT})")
    lab.add_argument(
        "--present",
        nargs="?",
        const="",
        metavar="NOTEBOOK",
        help="presentation: as --voila, but no exercise answer is ever shown",
    )
    lab.set_defaults(func=command)


# What --present's Voila kernels run with: predictions and runs show; reveal() shows nothing.
PRESENT_ENV = {"COREYLAB_PRESENT": "1", "COREYLAB_GRADED": "1"}


def command(args: argparse.Namespace) -> int:
    if args.present is not None:  # Voila's kernels inherit this environment
        os.environ.update(PRESENT_ENV)
        args.voila = args.present
    if args.port is not None and not 1 <= args.port <= 65535:
        raise CliError(f"--port must be between 1 and 65535, not {args.port}")
    folder = lessons_folder(args.dir)
    if args.voila is not None:
        os.environ["COREYLAB_DASHBOARD"] = "1"  # its kernels: no prompt to edit hidden code
        argv = voila_argv(folder, args.voila, args.ip, args.port or VOILA_PORT)
    else:
        argv = [_program("jupyter"), "lab", str(folder), f"--ip={args.ip}"]
        argv += [f"--port={args.port}"] if args.port else []
        if os.geteuid() == 0:  # in a container as root JupyterLab refuses to start without it
            argv.append("--allow-root")
    os.environ.setdefault("BOKEH_RESOURCES", "inline")
    sys.stdout.flush()
    os.execv(argv[0], argv)
    return 0  # not reached


def lessons_folder(folder: str | None) -> Path:
    """notebooks/ in a checkout; otherwise (or with --dir) an up-to-date working copy."""
    if folder is None and (notebooks := checkout_notebooks()) is not None:
        return notebooks
    dest = Path(folder or DEFAULT_DIR)
    for name, outcome in copy_lessons(dest):
        if outcome != "up to date":
            print(f"{name}: {outcome}")
    print(f"lessons in {dest.resolve()}")
    return dest


def voila_argv(folder: Path, lesson: str, ip: str, port: int) -> list[str]:
    """Voila on one lesson (or the folder) with a new token; prints the URL to open."""
    target = lesson_path(folder, lesson) if lesson else folder
    token = secrets.token_urlsafe(24)
    os.environ["JUPYTER_TOKEN"] = token
    host = f"[{ip}]" if ":" in ip else ip
    print(f"coreylab: the lessons are at http://{host}:{port}/?token={token}")
    _voila_config()
    return [
        _program("voila"),
        str(target),
        f"--Voila.ip={ip}",
        f"--port={port}",
        "--Voila.port_retries=0",  # another port would not be the URL printed above
        "--Voila.auto_token=True",  # the token is JUPYTER_TOKEN's
        f"--MappingKernelManager.cull_idle_timeout={KERNEL_IDLE_SECONDS}",
        f"--MappingKernelManager.cull_interval={CULL_EVERY_SECONDS}",
        "--MappingKernelManager.cull_connected=False",  # a page still open keeps its kernel
        "--no-browser",
    ]


def _voila_config() -> Path:
    """The CSP header as Voila configuration (voila.json in a folder put first on
    JUPYTER_CONFIG_PATH): a nested setting has no key=value form on traitlets' command line,
    and its JSON form there is deprecated (a warning in the lecturer's terminal). The folder
    is new and private (mkdtemp): on a shared /tmp a fixed name could be another user's."""
    folder = Path(tempfile.mkdtemp(prefix="coreylab-voila-"))
    settings = {"Voila": {"tornado_settings": {"headers": {"Content-Security-Policy": CSP}}}}
    (folder / "voila.json").write_text(json.dumps(settings, indent=1), encoding="utf-8")
    paths = [str(folder), os.environ.get("JUPYTER_CONFIG_PATH", "")]
    os.environ["JUPYTER_CONFIG_PATH"] = os.pathsep.join(p for p in paths if p)
    return folder


def lesson_path(notebooks: Path, name: str) -> Path:
    """A lesson by file name, with or without .ipynb ("00_tour" or "00_tour.ipynb"), that lies
    inside `notebooks` (no "../" or absolute path leads out of it)."""
    root = notebooks.resolve()
    for candidate in (notebooks / name, notebooks / f"{name}.ipynb"):
        path = candidate.resolve()
        if path.parent == root and path.is_file() and path.suffix == ".ipynb":
            return path
    names = ", ".join(p.stem for p in sorted(notebooks.glob("*.ipynb")))
    raise CliError(f"no lesson {name!r}; lessons: {names}")


def _program(tool: str) -> str:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    program = shutil.which(tool, path=path)
    if program is None:
        extra = "voila" if tool == "voila" else "lab"
        raise CliError(f"{tool} is not installed: pip install 'coreylab[{extra}]'")
    return program
