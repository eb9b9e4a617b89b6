"""`DEMO_ONCE=1 make demo` end to end, on a throwaway database and run folder."""

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_demo_runs_end_to_end(database_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DEMO_ONCE": "1",
        "DATABASE_URL": database_url,
        "DEMO_RUN_DIR": str(tmp_path),
        "DEMO_CLIENTS": "1000",
    }
    result = subprocess.run(
        ["bash", "scripts/demo.sh"], cwd=REPO, env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "application_train" in result.stdout
    assert "default rate" in result.stdout
    assert "demo finished" in result.stdout
