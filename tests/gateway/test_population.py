"""GET /v1/features/{name}/distribution through the gateway, over the real features service."""

from collections.abc import Callable

from fastapi.testclient import TestClient

from loopback.platform import Platform
from services.common.db import raw_connection
from services.feature_definitions.catalog import FEATURE_SET_HASH
from services.gateway.app import create_app


def _labelled(database_url: str) -> tuple[int, int]:
    """(repaid, defaulted) among the platform's labelled clients that have a stored vector."""
    with raw_connection(database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FILTER (WHERE t.target = 0), count(*) FILTER (WHERE t.target = 1)"
            " FROM application_train t JOIN feature_values f ON f.sk_id_curr = t.sk_id_curr"
            " WHERE f.feature_set_hash = %s",
            (FEATURE_SET_HASH,),
        )
        return cur.fetchone()


def test_distribution_counts_add_up_to_the_labelled_clients(
    gateway: TestClient, make_key: Callable[..., str], stack: Platform
) -> None:
    response = gateway.get(
        "/v1/features/app_ext_source_3/distribution", headers={"X-API-Key": make_key(scopes=["explain"])}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["feature"] == "app_ext_source_3" and "external" in body["description"].lower()
    repaid, defaulted = _labelled(stack.database_url)
    assert body["clients"] == {"repaid": repaid, "defaulted": defaulted}
    assert sum(b["repaid"] for b in body["bins"]) + body["missing"]["repaid"] == repaid
    assert sum(b["defaulted"] for b in body["bins"]) + body["missing"]["defaulted"] == defaulted
    assert [b["lower"] for b in body["bins"]] == sorted(b["lower"] for b in body["bins"])


def test_unknown_feature_is_a_404_and_a_malformed_name_a_422(
    gateway: TestClient, make_key: Callable[..., str]
) -> None:
    headers = {"X-API-Key": make_key(scopes=["explain"])}
    unknown = gateway.get("/v1/features/no_such_feature/distribution", headers=headers)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "feature_not_found"
    assert unknown.json()["error"]["details"] == {"feature": "no_such_feature"}
    malformed = gateway.get("/v1/features/Bad-Name/distribution", headers=headers)
    assert malformed.status_code == 422
    assert malformed.json()["error"]["details"][0]["field"] == "path.name"


def test_distribution_has_its_own_time_budget(stack: Platform, make_key: Callable[..., str]) -> None:
    """A first scan of a large population outlasts the budget of ordinary calls: the route has its own."""
    headers = {"X-API-Key": make_key(scopes=["explain"])}
    path = "/v1/features/app_amt_annuity/distribution"
    answers = {}
    for budget in (0.0001, 10.0):  # far too short for any HTTP exchange; then ample
        settings = stack.settings(downstream_timeout_s=0.0001, distribution_timeout_s=budget)
        with TestClient(create_app(settings)) as gateway:
            answers[budget] = gateway.get(path, headers=headers)
    assert answers[0.0001].status_code == 503  # the route does use its budget...
    assert answers[10.0].status_code == 200  # ...and not the ordinary one


def test_distribution_needs_the_explain_scope(gateway: TestClient, make_key: Callable[..., str]) -> None:
    response = gateway.get(
        "/v1/features/app_ext_source_3/distribution", headers={"X-API-Key": make_key(scopes=["score"])}
    )
    assert response.status_code == 403


def test_distribution_is_documented_with_its_404_and_examples(gateway: TestClient) -> None:
    document = gateway.get("/openapi.json").json()
    operation = document["paths"]["/v1/features/{name}/distribution"]["get"]
    assert {"200", "401", "403", "404", "422", "429", "503"} <= set(operation["responses"])
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/FeatureDistribution"}
    assert document["components"]["schemas"]["FeatureDistribution"]["examples"]
