"""Generate the full Kaggle scale (307,511 training clients, about 58 M rows) with `credit data synth`."""

import shutil
import sys
import tempfile
from pathlib import Path

from bench._measure import run_measured

CLIENTS = 307_511
SEED = 1


def _rows(out: Path) -> int:
    """Data rows of the eight Kaggle tables (lines minus the header; oracle.csv not counted)."""
    total = 0
    for path in out.glob("*.csv"):
        if path.stem == "oracle":
            continue
        with path.open("rb") as handle:
            total += sum(chunk.count(b"\n") for chunk in iter(lambda h=handle: h.read(1 << 24), b"")) - 1
    return total


def run() -> tuple[dict, dict]:
    out = Path(tempfile.mkdtemp(prefix="synth_full_"))
    try:
        credit = Path(sys.executable).with_name("credit")
        seconds, peak_mb = run_measured(
            [str(credit), "data", "synth", "--clients", str(CLIENTS), "--seed", str(SEED), "--out", str(out)]
        )
        rows = _rows(out)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return (
        {"clients": CLIENTS, "seed": SEED, "format": "csv"},
        {"seconds": round(seconds, 1), "peak_rss_mb": round(peak_mb), "rows_total": rows},
    )
