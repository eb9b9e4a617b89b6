"""`python -m bench [name]`: run one benchmark or all, print figures, write bench/results/<name>.json.

Each benchmark is a module `bench/<name>.py` with `run() -> (params, figures)`.
"""

import importlib
import json
import pkgutil
import sys
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def available() -> list[str]:
    return sorted(
        m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if not m.name.startswith("_")
    )


def run_one(name: str) -> dict:
    module = importlib.import_module(f"bench.{name}")
    params, figures = module.run()
    result = {"name": name, "params": params, "figures": figures}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result), flush=True)
    return result


def main(argv: list[str]) -> None:
    names = argv or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}")
    for name in names:
        run_one(name)


if __name__ == "__main__":
    main(sys.argv[1:])
