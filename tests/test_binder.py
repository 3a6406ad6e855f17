"""The mybinder (repo2docker) configuration in binder/ stays consistent with the project."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import tomllib
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

# Files that make repo2docker pick another build pack or ignore runtime.txt's Python.
_OVERRIDING = ("environment.yml", "environment.yaml", "Pipfile", "Pipfile.lock", "Dockerfile")


def _runtime_version() -> Version:
    text = (BINDER / "runtime.txt").read_text(encoding="utf-8")
    match = re.fullmatch(r"python-(3\.\d+)\n?", text)
    assert match, f"binder/runtime.txt must be one line like 'python-3.11', not {text!r}"
    return Version(match.group(1))


def _postbuild_commands() -> list[str]:
    lines = (BINDER / "postBuild").read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def test_runtime_python_satisfies_requires_python():
    version = _runtime_version()
    spec = SpecifierSet(PYPROJECT["project"]["requires-python"])
    assert spec.contains(version), f"python-{version} does not satisfy requires-python {spec}"


def test_runtime_python_not_older_than_ruff_target():
    target = PYPROJECT["tool"]["ruff"]["target-version"]  # e.g. "py310"
    minimum = Version(f"{target[2]}.{target[3:]}")
    assert _runtime_version() >= minimum


def test_no_file_overrides_runtime_txt():
    present = [name for name in _OVERRIDING if (BINDER / name).exists()]
    assert not present, f"binder/{present[0]} would make repo2docker ignore binder/runtime.txt"


def test_postbuild_is_an_executable_bash_script():
    post = BINDER / "postBuild"
    assert post.is_file()
    mode = post.stat().st_mode
    assert mode & stat.S_IXUSR, "binder/postBuild must be executable (chmod +x)"
    assert os.access(post, os.X_OK)
    first = post.read_text(encoding="utf-8").splitlines()[0]
    assert first in ("#!/usr/bin/env bash", "#!/bin/bash")
    assert "set -euo pipefail" in _postbuild_commands() or "set -e" in _postbuild_commands()


def test_postbuild_bash_syntax():
    result = subprocess.run(
        ["bash", "-n", str(BINDER / "postBuild")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_postbuild_installs_the_project():
    installs = [c for c in _postbuild_commands() if re.search(r"\bpip install\b", c)]
    assert installs, "binder/postBuild must pip install the project"
    assert any(re.search(r"(\s-e)?\s([\"']?)\.(\[[\w,]+\])?\2$", c) for c in installs), installs


def test_postbuild_runs_pip_from_the_repository_root(tmp_path):
    """Run postBuild with a stand-in ``python`` that records its arguments and directory."""
    log = tmp_path / "calls.log"
    shim = tmp_path / "bin" / "python"
    shim.parent.mkdir()
    shim.write_text(f'#!/usr/bin/env bash\necho "$PWD|$*" >> "{log}"\n', encoding="utf-8")
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{shim.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        ["bash", str(BINDER / "postBuild")],
        cwd=tmp_path,  # not the repository root: the script must find it itself
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    calls = log.read_text(encoding="utf-8").splitlines()
    assert len(calls) == 1
    cwd, args = calls[0].split("|", 1)
    assert Path(cwd).resolve() == ROOT
    assert args.split()[:3] == ["-m", "pip", "install"]
    assert re.fullmatch(r"\.(\[[\w,]+\])?", args.split()[-1]), args  # the project, extras allowed


def test_requirements_txt_has_no_local_paths():
    """repo2docker installs binder/requirements.txt before the repository is copied in."""
    req = BINDER / "requirements.txt"
    lines = req.read_text(encoding="utf-8").splitlines() if req.exists() else []
    for line in lines:
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        target = entry.removeprefix("-e").strip()
        assert not target.startswith((".", "/", "file:")), f"local path in requirements: {line!r}"


def test_wheel_force_include_sources_exist():
    """postBuild builds the wheel; hatchling fails if a force-include folder is missing."""
    force = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"].get("force-include", {})
    for source in force:
        assert (ROOT / source).exists(), f"pyproject force-include source {source!r} is missing"


def test_project_supports_python_running_the_tests():
    """Sanity: the interpreter running this suite is also allowed by requires-python."""
    spec = SpecifierSet(PYPROJECT["project"]["requires-python"])
    assert spec.contains(Version(f"{sys.version_info.major}.{sys.version_info.minor}"))
