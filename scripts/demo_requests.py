"""The demo's front-office calls: score known clients and a brand-new applicant through the gateway,
wait for the reasons, show the model, report an outcome. Exits non-zero when any step fails."""

import argparse
import sys
import time

import httpx
from sqlalchemy import text

from services.common.db import make_engine

EXPLANATION_WAIT_S = 60.0


def known_clients(database_url: str, count: int) -> list[int]:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        ids = conn.execute(
            text("SELECT sk_id_curr FROM application_train ORDER BY sk_id_curr LIMIT :n"), {"n": count}
        )
        result = [int(i) for i in ids.scalars()]
    engine.dispose()
    return result


def new_application(database_url: str) -> dict[str, object]:
    """A raw application from the test table, sent as an applicant the platform has never scored."""
    engine = make_engine(database_url)
    with engine.connect() as conn:
        row = (
            conn.execute(text("SELECT * FROM application_test ORDER BY sk_id_curr LIMIT 1")).mappings().one()
        )
    engine.dispose()
    return {name.upper(): value for name, value in row.items() if value is not None}


def wait_for_explanation(client: httpx.Client, url: str) -> dict:
    deadline = time.monotonic() + EXPLANATION_WAIT_S
    while time.monotonic() < deadline:
        response = client.get(url)
        if response.status_code == 200:
            return response.json()
        response.raise_for_status()
        time.sleep(0.2)
    raise TimeoutError(f"explanation {url} not ready after {EXPLANATION_WAIT_S:.0f} s")


def show_score(client: httpx.Client, body: dict) -> None:
    response = client.post("/v1/scores", json=body)
    response.raise_for_status()
    score = response.json()
    who = f"client {score['client_id']}" if score["source"] == "client_id" else "new applicant"
    print(
        f"\n{who}: {score['decision'].upper()}  PD {score['pd']:.3f} (threshold {score['threshold']:.3f}, "
        f"model v{score['model_version']}, request {score['request_id']})"
    )
    explanation = score["explanation"]
    if explanation["url"] is None:
        print(f"  reasons unavailable ({explanation['status']})")
        return
    status = wait_for_explanation(client, explanation["url"])
    if status["status"] != "done":
        raise RuntimeError(f"explanation failed: {status.get('reason')}")
    for reason in status["result"]["principal_reasons"]:
        print(f"  - {reason['text']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    with httpx.Client(base_url=args.gateway, headers={"X-API-Key": args.api_key}, timeout=30.0) as client:
        model = client.get("/v1/model").raise_for_status().json()
        print(f"champion: {model['name']} v{model['version']}, threshold {model['threshold']:.3f}")
        ids = known_clients(args.database_url, 3)
        for client_id in ids:
            show_score(client, {"client_id": client_id})
        show_score(client, {"application": new_application(args.database_url)})
        accepted = client.post("/v1/outcomes", json={"outcomes": [{"client_id": ids[0], "defaulted": False}]})
        count = accepted.raise_for_status().json()["accepted"]
        print(f"\noutcome recorded for client {ids[0]}: {count} accepted")


if __name__ == "__main__":
    try:
        main()
    except (httpx.HTTPError, RuntimeError, TimeoutError) as error:
        sys.exit(f"demo request failed: {error}")
