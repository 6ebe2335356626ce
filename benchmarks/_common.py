"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import os
import platform
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, Python "
            f"{platform.python_version()}, pandas {pd.__version__}, pyarrow {pa.__version__}, "
            f"{date.today():%Y-%m-%d}")
