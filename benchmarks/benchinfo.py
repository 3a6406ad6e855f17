"""Where a benchmark ran, recorded beside its figures: one helper for every script here."""

from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version

__all__ = ["machine_info"]


def machine_info(*packages: str) -> dict:
    """Cores, memory, platform, Python, CPU model and load average, and the installed version
    of numpy, pandas, streamz, streamlab and each of ``packages`` (``None`` when absent)."""
    info: dict = {
        "cores_logical": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
    }
    try:
        import psutil

        info["cores_physical"] = psutil.cpu_count(logical=False)
        info["memory_gib"] = round(psutil.virtual_memory().total / (1 << 30), 1)
    except ImportError:
        pass
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next(
                ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    for dist in ("numpy", "pandas", "streamz", "streamlab", *packages):
        try:
            info[dist] = version(dist)
        except PackageNotFoundError:
            info[dist] = None
    return info
