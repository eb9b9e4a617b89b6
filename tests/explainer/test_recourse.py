"""Counterfactual offers for refused and review applications of a model trained on synthetic clients: each
offer, applied to the raw application and recomputed through the feature code, is approved by the same
model; no offer touches anything but the actionable fields; "no offer" is said only when a fine scan
inside the bounds finds no approved change either. The search's candidates, scored with the compiled
evaluator (the history's features once), have the features and PDs the reference `compute_features` gives
each of them with the whole history."""

import math
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import polars as pl
import psycopg2.extensions
import pytest

from loopback.applicants import (
    Applicants,
    declined,
    kaggle_rows,
    one_client,
    raw_tables,
    trained_on_synthetic,
    unusual,
)
from loopback.platform import write_joined_real_rows
from loopback.trained import Trained
from services.explainer import recourse
from services.explainer.jobs import recourse_of
from services.explainer.recourse import ACTIONABLE, RecourseBounds, offers_for
from services.explainer.schemas import Job
from services.feature_definitions.catalog import NAMES, compute_features
from services.feature_definitions.raw import HISTORY_TABLES, RawTables
from services.model.model import ScoringModel
from tests.features.test_fast_parity import RTOL, assert_same

APPLICATIONS = 25  # refused or review applications searched per test
SCANNED = 5  # "no offer" answers checked by a fine scan (each scan scores ~60 changed applications)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Trained, RawTables]:
    found: Applicants = trained_on_synthetic(tmp_path_factory.mktemp("recourse"))
    return found.trained, found.raw


def outcome_of(trained: Trained, client: RawTables, changes: dict[str, float]) -> tuple[float, str]:
    """The changed application scored as a resubmission: the feature code, then the model's policy."""
    changed = client.application.with_columns(
        **{field.lower(): pl.lit(value, pl.Float64) for field, value in changes.items()}
    )
    features = compute_features(replace(client, application=changed))
    pd = trained.model.predict_pd(features.select(trained.model.feature_names).to_numpy())
    return float(pd[0]), str(trained.model.outcome(pd, unusual(trained, features))[0])


def test_every_offer_is_approved_when_applied_and_changes_only_what_the_applicant_controls(synthetic):
    trained, raw = synthetic
    clients = declined(trained, raw)[-APPLICATIONS:]  # the nearest to approval: most have offers
    with_offer = 0
    for client_id in clients:
        client = one_client(raw, client_id)
        recourse = offers_for(trained.model, client)
        with_offer += bool(recourse.offers)
        for offer in recourse.offers:
            assert set(offer.changes) <= set(ACTIONABLE), offer
            pd, outcome = outcome_of(trained, client, offer.changes)
            assert outcome == "approved", (client_id, offer)
            assert math.isclose(pd, offer.pd, rel_tol=1e-12), (client_id, offer, pd)
            assert offer.text.endswith("would be approved.")
        assert (recourse.statement.startswith("No offer")) == (not recourse.offers)
    assert with_offer > 0, "no refusal near the threshold got an offer"


def test_offers_stay_inside_the_bounds(synthetic):
    trained, raw = synthetic
    bounds = RecourseBounds(min_amount_share=0.7, max_term_months=48)
    for client_id in declined(trained, raw)[-APPLICATIONS:]:
        client = one_client(raw, client_id)
        asked = client.application.row(0, named=True)
        for offer in offers_for(trained.model, client, bounds).offers:
            credit = offer.changes.get("AMT_CREDIT", asked["amt_credit"])
            annuity = offer.changes.get("AMT_ANNUITY", asked["amt_annuity"])
            assert credit >= bounds.min_amount_share * asked["amt_credit"] - 1e-6, offer
            assert credit <= asked["amt_credit"], offer
            if offer.kind == "longer_term":
                assert credit / annuity <= bounds.max_term_months + 1e-9, offer


def test_no_offer_is_said_only_when_no_change_inside_the_bounds_is_approved(synthetic):
    trained, raw = synthetic
    bounds = RecourseBounds(min_amount_share=0.9, max_term_months=60)
    worst = declined(trained, raw)[:APPLICATIONS]  # the most refused: most get no offer
    honest_refusals = 0
    for client_id in worst:
        client = one_client(raw, client_id)
        recourse = offers_for(trained.model, client, bounds)
        if recourse.offers:
            continue
        honest_refusals += 1
        if honest_refusals > SCANNED:
            break
        asked = client.application.row(0, named=True)
        for share in np.linspace(bounds.min_amount_share, 1.0, 21):
            credit = asked["amt_credit"] * share
            changes = {"AMT_CREDIT": credit, "AMT_ANNUITY": asked["amt_annuity"] * share}
            assert outcome_of(trained, client, changes)[1] != "approved", (client_id, share)
        for months in range(
            math.ceil(asked["amt_credit"] / asked["amt_annuity"]), bounds.max_term_months + 1
        ):
            changes = {"AMT_ANNUITY": asked["amt_credit"] / months}
            assert outcome_of(trained, client, changes)[1] != "approved", (client_id, months)
    assert honest_refusals > 0, "every refusal got an offer: the no-offer path was not exercised"


def raw_job(client: RawTables, **application: object) -> Job:
    """The job a gateway queues for a new applicant: the raw application (Kaggle names) and its history."""
    history = {table: kaggle_rows(getattr(client, table)) for table in HISTORY_TABLES}
    return Job("e", "1", {}, None, application={**kaggle_rows(client.application)[0], **application},
               history=history)  # fmt: skip


def no_postgres() -> psycopg2.extensions.connection:
    raise AssertionError("a job with its application and history must not read Postgres")


def test_the_worker_recomputes_a_new_applicants_raw_fields_to_the_same_offers(synthetic):
    trained, raw = synthetic
    client_id = declined(trained, raw)[-1]
    client = one_client(raw, client_id)
    worker = recourse_of(trained.model, raw_job(client), no_postgres)
    direct = offers_for(trained.model, client)
    assert worker.statement == direct.statement
    assert [offer.model_dump() for offer in worker.offers] == [asdict(offer) for offer in direct.offers]


def test_an_error_in_the_search_is_stated_and_does_not_raise(synthetic):
    trained, raw = synthetic
    client = one_client(raw, declined(trained, raw)[-1])
    broken = recourse_of(trained.model, raw_job(client, AMT_CREDIT="a lot"), no_postgres)
    assert broken.offers == []
    assert broken.statement.startswith("No offer could be computed: internal error (")


PARITY_CLIENTS = 4  # clients whose every scored candidate is recomputed by the reference, one at a time


@pytest.fixture(scope="module")
def real_with_history(real_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> RawTables:
    """Real applications with real history rows re-keyed onto them (as the features tests load them)."""
    out = tmp_path_factory.mktemp("real")
    write_joined_real_rows(real_data_dir, out)
    return raw_tables(out / "application_train.csv", out)


def scored_candidates(
    monkeypatch: pytest.MonkeyPatch, trained: Trained, client: RawTables
) -> list[tuple[recourse._Loan, np.ndarray, float, bool]]:
    """Every candidate the search scores: (loan, its feature vector, PD, approved)."""
    vectors: list[np.ndarray] = []
    found: list[tuple[recourse._Loan, np.ndarray, float, bool]] = []
    vary, score = recourse.vary_application, recourse._score

    def vary_spy(vector: np.ndarray, variants: recourse.Table) -> np.ndarray:
        vectors.append(vary(vector, variants))
        return vectors[-1]

    def score_spy(
        model: ScoringModel, vector: np.ndarray, application: recourse.Table, loans: list[recourse._Loan]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pds, approved, flags = score(model, vector, application, loans)
        found.extend(zip(loans, vectors[-1], pds, approved, strict=True))
        return pds, approved, flags

    with monkeypatch.context() as patched:
        patched.setattr(recourse, "vary_application", vary_spy)
        patched.setattr(recourse, "_score", score_spy)
        offers_for(trained.model, client)
    return found


def reference(trained: Trained, client: RawTables, loan: recourse._Loan) -> tuple[np.ndarray, float, bool]:
    """The candidate through `compute_features` with the client's whole history: features, PD, approved."""
    changed = client.application.with_columns(
        amt_credit=pl.lit(loan.credit, pl.Float64),
        amt_annuity=pl.lit(loan.annuity, pl.Float64),
        amt_goods_price=pl.lit(loan.goods, pl.Float64),
    )
    features = compute_features(replace(client, application=changed))
    pd = trained.model.predict_pd(features.select(trained.model.feature_names).to_numpy())
    approved = trained.model.outcome(pd, unusual(trained, features))[0] == "approved"
    return features.select(NAMES).to_numpy().astype(np.float64)[0], float(pd[0]), bool(approved)


def assert_candidates_match_the_reference(
    monkeypatch: pytest.MonkeyPatch, trained: Trained, client: RawTables
) -> None:
    found = scored_candidates(monkeypatch, trained, client)
    assert len(found) > 20, "the search scored too few candidates to compare"
    expected = [reference(trained, client, loan) for loan, _, _, _ in found]
    assert_same(np.stack([vector for _, vector, _, _ in found]), np.stack([v for v, _, _ in expected]))
    np.testing.assert_allclose([pd for *_, pd, _ in found], [pd for _, pd, _ in expected], rtol=RTOL, atol=0)
    assert [ok for *_, ok in found] == [ok for *_, ok in expected]


def test_candidates_of_declined_synthetic_clients_score_as_the_reference(synthetic, monkeypatch):
    trained, raw = synthetic
    clients = declined(trained, raw)
    with_history = [c for c in clients if not one_client(raw, c).bureau.is_empty()]
    chosen = with_history[:: max(len(with_history) // PARITY_CLIENTS, 1)][:PARITY_CLIENTS]
    assert len(chosen) == PARITY_CLIENTS
    for client_id in chosen:
        assert_candidates_match_the_reference(monkeypatch, trained, one_client(raw, client_id))


def test_candidates_of_real_clients_with_history_score_as_the_reference(
    synthetic, real_with_history, monkeypatch
):
    trained, _ = synthetic
    ids = real_with_history.bureau["sk_id_curr"].unique(maintain_order=True).to_list()
    chosen = [i for i in ids if one_client(real_with_history, i).installments_payments.height][:2]
    assert len(chosen) == 2
    for client_id in chosen:
        assert_candidates_match_the_reference(monkeypatch, trained, one_client(real_with_history, client_id))
