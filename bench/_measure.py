"""Helpers for benchmarks: time a child command, read its peak resident memory, a process's CPU time."""

import os
import resource
import subprocess
import time
from pathlib import Path


def run_measured(cmd: list[str]) -> tuple[float, float]:
    """Run `cmd` to completion; return (seconds, peak RSS in MB of the largest child so far)."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, peak_kb / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process so far (Linux /proc): on a shared machine, CPU per
    request is a steadier figure than requests per second."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
