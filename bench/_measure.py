"""Helpers for benchmarks: time a child command and read its peak resident memory."""

import resource
import subprocess
import time


def run_measured(cmd: list[str]) -> tuple[float, float]:
    """Run `cmd` to completion; return (seconds, peak RSS in MB of the largest child so far)."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, peak_kb / 1024
