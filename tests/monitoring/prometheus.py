"""The platform's Prometheus launcher (infra/prometheus/server.py, loaded from its file: infra/ is not a
package) and PromQL reads for tests."""

import importlib.util
from pathlib import Path

import httpx

_PATH = Path(__file__).resolve().parents[2] / "infra" / "prometheus" / "server.py"
_spec = importlib.util.spec_from_file_location("prometheus_server", _PATH)
prometheus_server = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(prometheus_server)


def query(url: str, expr: str) -> list[dict]:
    """The samples of an instant query now (raises on a PromQL error)."""
    body = httpx.get(f"{url}/api/v1/query", params={"query": expr}, timeout=10).json()
    if body["status"] != "success":
        raise ValueError(f"{expr}: {body.get('error')}")
    return body["data"]["result"]
