"""``streamlab lab``: JupyterLab on the bundled tutorial notebooks."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

from ..errors import ConfigError

__all__ = ["notebooks_dir", "run_lab"]


def notebooks_dir() -> Path:
    """The tutorials: the checkout's ``notebooks/``, or the copy inside the installed wheel."""
    here = Path(__file__).resolve().parents[1]
    for candidate in (here.parent / "notebooks", here / "_notebooks"):
        if candidate.is_dir() and any(candidate.glob("*.ipynb")):
            return candidate
    raise ConfigError("the tutorial notebooks are not installed; reinstall streamlab")


def run_lab(workdir: Path | None, extra: list[str]) -> int:
    """Copy the tutorials to ``workdir`` (so edits never touch the installed package) unless
    they are a checkout's own, then start JupyterLab there."""
    if importlib.util.find_spec("jupyterlab") is None:
        raise ConfigError(
            "streamlab lab needs JupyterLab, which is not installed; "
            "install it with: pip install 'streamlab[lab]'"
        )
    src = notebooks_dir()
    if "site-packages" in src.parts or workdir is not None:
        workdir = Path(workdir or "streamlab-notebooks")
        workdir.mkdir(parents=True, exist_ok=True)
        for nb in src.glob("*.ipynb"):
            if not (workdir / nb.name).exists():
                shutil.copy2(nb, workdir / nb.name)
        src = workdir
    cmd = [sys.executable, "-m", "jupyterlab", f"--notebook-dir={src}", *extra]
    print("streamlab lab:", " ".join(cmd))
    return subprocess.call(cmd)
