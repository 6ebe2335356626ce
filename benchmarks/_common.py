"""Helpers shared by the benchmark scripts (machine description, peak memory, paths)."""

from __future__ import annotations

import os
import platform
import resource
import sys
from datetime import date
from pathlib import Path

# The scripts run from any working directory: the project root comes from this file's place,
# and sa_lib is importable from a fresh clone even before `pip install -e .`.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def machine() -> str:
    """CPU model (from /proc/cpuinfo), cores, RAM, Python/pandas/pyarrow/numpy versions, date."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem = f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB RAM"
    except (ValueError, OSError):
        mem = "RAM unknown"
    return (f"{cpu}, {os.cpu_count()} cores, {mem}, {platform.system()}; Python "
            f"{platform.python_version()}, pandas {pd.__version__}, pyarrow {pa.__version__}, "
            f"numpy {np.__version__}; {date.today():%Y-%m-%d}")


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB.

    ``VmHWM`` from /proc/self/status: unlike ``ru_maxrss`` it is reset by exec, so a child
    process started by a large parent reports only its own peak.  Falls back to ``ru_maxrss``.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
