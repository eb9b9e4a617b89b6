"""Recourse as a front-office app uses it: a model trained the way `credit train` trains one (on the real
application sample) scores new applications through the real gateway, features, scoring and explainer
processes; a refusal's explanation carries offers, and every offer, applied to the application body and
sent again to `POST /v1/scores`, is approved by the same version; a refusal without an offer says so.

The platform's own champion approves every client, so this module registers its trained model under an
alias of its own and starts a second scoring service following that alias beside the shared platform."""

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from mlflow import MlflowClient

from loopback.applicants import Applicants, declined, kaggle_rows, one_client, trained_on_real
from loopback.platform import Platform
from loopback.processes import Service
from loopback.registry import register_version
from services.explainer.recourse import ACTIONABLE, offers_for
from services.feature_definitions.catalog import FEATURE_SET_HASH
from services.feature_definitions.raw import HISTORY_TABLES, RawTables
from services.gateway.app import create_app
from services.model.registry import MODEL_NAME
from tests.gateway.test_scores import poll

ALIAS = "recourse-tests"
ID_OFFSET = 90_000_000  # new applicants: ids apart from the platform's stored clients
WITH_OFFER, WITHOUT_OFFER = 4, 2  # refusals sent of each kind, the nearest to the threshold


@pytest.fixture(scope="module")
def applicants(real_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Applicants:
    found = trained_on_real(real_data_dir, tmp_path_factory.mktemp("recourse-platform"))
    model = replace(found.trained.model, feature_set_hash=FEATURE_SET_HASH)  # the features service's set
    return replace(found, trained=replace(found.trained, model=model))


@pytest.fixture(scope="module")
def refusals(applicants: Applicants) -> tuple[list[int], list[int]]:
    """Refused applicants nearest the threshold for which the worker's search finds offers, and not:
    offers are rare (few refusals are a smaller loan or a longer term away from approval)."""
    with_offer: list[int] = []
    without: list[int] = []
    for client_id in reversed(declined(applicants.trained, applicants.raw, ("refused",))):
        found = bool(offers_for(applicants.trained.model, one_client(applicants.raw, client_id)).offers)
        chosen = with_offer if found else without
        if len(chosen) < (WITH_OFFER if found else WITHOUT_OFFER):
            chosen.append(client_id)
        if len(with_offer) == WITH_OFFER and len(without) == WITHOUT_OFFER:
            break
    assert with_offer, "no refusal has an offer: nothing to resubmit"
    return with_offer, without


@pytest.fixture(scope="module")
def trained_gateway(
    applicants: Applicants, stack: Platform, mlflow_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """An in-process gateway over the shared platform whose scoring service follows the trained model."""
    version = register_version(applicants.trained.model, applicants.trained.reference, mlflow_server)
    MlflowClient(mlflow_server).set_registered_model_alias(MODEL_NAME, ALIAS, version)
    env = {
        "DATABASE_URL": stack.database_url,
        "REDIS_URL": stack.redis.url,
        "MLFLOW_TRACKING_URI": mlflow_server,
        "FEATURES_URL": stack.features.url,
        "MODEL_ALIAS": ALIAS,
        "CHALLENGER_ALIAS": f"{ALIAS}-challenger",  # none: no shadow scoring
    }
    scoring = Service("scoring", "services.scoring.app:app", env, tmp_path_factory.mktemp("recourse-scoring"))
    scoring.start()
    try:
        settings = stack.settings(scoring_url=scoring.url, api_key_cache_s=0, explainer_timeout_s=5.0)
        with TestClient(create_app(settings)) as client:
            yield client
    finally:
        scoring.stop()


def body_of(client: RawTables, changes: dict[str, float] | None = None) -> dict[str, object]:
    """A new application's body (Kaggle names, its history rows), with `changes` applied as they are."""
    application = {**kaggle_rows(client.application.drop("target", strict=False))[0], **(changes or {})}
    history = {table: kaggle_rows(getattr(client, table)) for table in HISTORY_TABLES}
    for row in [application, *(row for rows in history.values() for row in rows)]:
        if "SK_ID_CURR" in row:
            row["SK_ID_CURR"] = int(row["SK_ID_CURR"]) + ID_OFFSET
    return {"application": application, "history": history}


def scored(gateway: TestClient, key: str, body: dict[str, object]) -> dict[str, object]:
    response = gateway.post("/v1/scores", json=body, headers={"X-API-Key": key})
    assert response.status_code == 200, response.text
    return response.json()


def explained_refusal(gateway: TestClient, key: str, client: RawTables) -> tuple[dict, dict]:
    """A new application sent as a front-office app sends it, refused, and its recourse once explained."""
    first = scored(gateway, key, body_of(client))
    assert first["decision"] == "refused", first
    explained = poll(gateway, first["explanation"]["url"], key, seconds=120).json()
    assert explained["status"] == "done", explained
    return first, explained["result"]["recourse"]


def test_every_offer_resubmitted_through_the_api_is_approved(
    trained_gateway: TestClient, applicants: Applicants, refusals: tuple[list[int], list[int]],
    make_key: Callable[..., str],
) -> None:  # fmt: skip
    key = make_key()
    for client_id in refusals[0]:
        client = one_client(applicants.raw, client_id)
        _, recourse = explained_refusal(trained_gateway, key, client)
        assert recourse["offers"], (client_id, recourse)
        for offer in recourse["offers"]:
            assert set(offer["changes"]) <= set(ACTIONABLE), offer
            again = scored(trained_gateway, key, body_of(client, offer["changes"]))
            assert again["decision"] == "approved", (client_id, offer, again)
            assert again["pd"] == pytest.approx(offer["pd"], rel=1e-9), (client_id, offer, again)


def test_a_refusal_without_an_offer_says_so(
    trained_gateway: TestClient, applicants: Applicants, refusals: tuple[list[int], list[int]],
    make_key: Callable[..., str],
) -> None:  # fmt: skip
    key = make_key()
    for client_id in refusals[1]:
        _, recourse = explained_refusal(trained_gateway, key, one_client(applicants.raw, client_id))
        assert recourse["offers"] == [], recourse
        assert recourse["statement"].startswith("No offer: no loan of at least 50% of the amount"), recourse


def recorded_recourse(gateway: TestClient, key: str, request_id: str, seconds: float = 60) -> object:
    """The decision record's recourse once the monitoring consumer has stored the decision and its offers."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        record = gateway.get(f"/v1/decisions/{request_id}", headers={"X-API-Key": key})
        if record.status_code == 200 and record.json()["recourse"] is not None:
            return record.json()["recourse"]
        assert record.status_code in (200, 404), record.text
        time.sleep(0.2)
    pytest.fail(f"decision {request_id} without its recourse after {seconds}s")


def test_the_decision_record_keeps_the_offers(
    trained_gateway: TestClient, applicants: Applicants, refusals: tuple[list[int], list[int]],
    make_key: Callable[..., str],
) -> None:  # fmt: skip
    key = make_key()
    first, recourse = explained_refusal(trained_gateway, key, one_client(applicants.raw, refusals[0][0]))
    assert recorded_recourse(trained_gateway, key, first["request_id"]) == recourse
