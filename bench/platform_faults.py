"""`make bench B=platform_faults`: bench/platform.py's run with faults injected under the same load (the
explainer worker killed with SIGKILL and restarted, Redis restarted, monitoring stopped for 10 s)."""

from bench.platform import measure


def run() -> tuple[dict, dict]:
    return measure(faults=True)
