"""What would change a refusal: counterfactual offers on what the applicant controls at application time.

An offer changes only the loan's amount (AMT_CREDIT), its annuity (AMT_ANNUITY, and so the term) and the
goods price (AMT_GOODS_PRICE): never age, gender, history or external scores. Each offer is the smallest
change of its kind, within the bounds, that the *same* model version approves when the changed application
goes through the *same* feature definitions with the client's history; it is checked against the same
input domains as a request, so a front office can resubmit it as it is.

Kinds of offer (the term in months is estimated as AMT_CREDIT / AMT_ANNUITY: the data carries no rate):
- `smaller_loan`: a smaller amount over the same term (annuity scaled with it; goods price too, if any);
- `down_payment`: the same goods, a smaller loan (the applicant pays the difference up front);
- `longer_term`: the same amount over more months (a smaller annuity).

The search uses the model's structure rather than a black-box optimiser: each kind is a one-parameter
family ordered by the size of the change, bracketed on a grid of candidates scored in one batch (every
kind's candidates together: one feature computation and one LightGBM call per round), then refined
inside the first approved bracket. PD is not assumed monotone in the change: the offer is the smallest
approved candidate found, and every offer returned was scored and approved.

Candidates are scored with the features service's compiled evaluator (compiled.py, equal to
`compute_features` within tests/features/test_fast_parity.py's tolerances): the history's features are
computed once per search, since a candidate changes only application fields, and each round computes
only the candidates' application features (`vary_application`) instead of a copy of the history each.
"""

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from services.data.domains import domain_for, rules_for
from services.feature_definitions.catalog import NAMES
from services.feature_definitions.compiled import Batch, Table, compute_vectors, vary_application
from services.feature_definitions.raw import RawTables
from services.model.model import ScoringModel

OfferKind = Literal["smaller_loan", "down_payment", "longer_term"]
ACTIONABLE = ("AMT_CREDIT", "AMT_ANNUITY", "AMT_GOODS_PRICE")
MONEY_STEP = 100.0  # offered amounts are whole hundreds: what a loan officer can quote


@dataclass(frozen=True)
class RecourseBounds:
    """What a sensible offer may change (configurable per product)."""

    min_amount_share: float = 0.5  # an offer lends at least half the amount asked
    max_term_months: int = 60  # the longest instalment plan offered
    grid: int = 12  # candidates per kind and round
    rounds: int = 2  # bracketing, then refinement inside the first approved bracket


@dataclass(frozen=True)
class Offer:
    kind: OfferKind
    changes: dict[str, float]  # Kaggle field -> new value; apply to the application and resubmit
    pd: float
    text: str


@dataclass(frozen=True)
class Recourse:
    offers: list[Offer]
    statement: str  # the offers in one sentence, or why there is none


@dataclass(frozen=True)
class _Loan:
    """The actionable part of an application."""

    credit: float
    annuity: float
    goods: float | None

    @property
    def term(self) -> float:
        return self.credit / self.annuity

    def fields(self) -> dict[str, float]:
        changed = {"AMT_CREDIT": self.credit, "AMT_ANNUITY": self.annuity}
        return changed if self.goods is None else {**changed, "AMT_GOODS_PRICE": self.goods}


def offers_for(model: ScoringModel, raw: RawTables, bounds: RecourseBounds = RecourseBounds()) -> Recourse:
    """Offers for the one application in `raw` (its history attached), up to one per kind."""
    if raw.application.height != 1:
        raise ValueError(f"recourse is for one application, got {raw.application.height}")
    asked = _loan(raw.application.row(0, named=True))
    if asked is None:
        return Recourse([], "No offer: the application has no amount and annuity to change.")
    families = {kind: family for kind, family in _families(asked, bounds).items() if family is not None}
    application = {key.upper(): value for key, value in raw.application.row(0, named=True).items()}
    asked_row, vector = _asked(raw)
    found: dict[OfferKind, tuple[float, _Loan, float]] = {}
    brackets = {kind: (0.0, 1.0) for kind in families}
    flagged = False
    for round_ in range(bounds.rounds):
        candidates = [
            (kind, s, families[kind](s))
            for kind, (low, high) in brackets.items()
            for s in np.linspace(low, high, bounds.grid + 1)[1:]
        ]
        candidates = [(kind, s, loan) for kind, s, loan in candidates if _in_domain(application, loan)]
        if round_ == 0:
            candidates.append(("asked", 0.0, asked))  # scored with the first batch: is it unusual?
        if not candidates:
            break
        pds, approved, unusual = _score(model, vector, asked_row, [loan for _, _, loan in candidates])
        flagged = flagged or (round_ == 0 and bool(unusual[-1]))
        refined: dict[OfferKind, tuple[float, float]] = {}
        for kind, (low, high) in brackets.items():
            hits = [(s, loan, pd) for (k, s, loan), pd, ok in zip(candidates, pds, approved, strict=True)
                    if k == kind and ok]  # fmt: skip
            if hits:
                found[kind] = min(hits, key=lambda hit: hit[0])
                smallest = found[kind][0]
                refined[kind] = (max(smallest - (high - low) / bounds.grid, low), smallest)
        brackets = refined
    offers = [_offer(kind, asked, loan, pd) for kind, (_, loan, pd) in sorted(found.items())]
    return Recourse(offers, _statement(offers, bounds, flagged))


def _families(asked: _Loan, bounds: RecourseBounds) -> dict[OfferKind, Callable[[float], _Loan] | None]:
    """Each kind as s in (0, 1] -> the changed loan; s = 1 is the bound. None: the kind does not apply."""
    term = asked.term
    lowest = bounds.min_amount_share

    def smaller(s: float) -> _Loan:
        credit = _round_down(asked.credit * (1 - s * (1 - lowest)))
        share = credit / asked.credit
        goods = None if asked.goods is None else _round_down(asked.goods * share)
        return _Loan(credit, round(asked.annuity * share, 1), goods)

    def down_payment(s: float) -> _Loan:
        loan = smaller(s)
        return replace(loan, goods=asked.goods)

    def longer(s: float) -> _Loan:
        months = math.ceil(term + s * (bounds.max_term_months - term))
        return replace(asked, annuity=round(asked.credit / months, 1))

    return {
        "smaller_loan": smaller,
        "down_payment": down_payment if asked.goods is not None else None,
        "longer_term": longer if term + 1 <= bounds.max_term_months else None,
    }


def _loan(application: Mapping[str, Any]) -> _Loan | None:
    credit, annuity = application.get("amt_credit"), application.get("amt_annuity")
    if credit is None or annuity is None or annuity <= 0 or credit <= annuity:
        return None
    return _Loan(float(credit), float(annuity), application.get("amt_goods_price"))


def _round_down(amount: float) -> float:
    return math.floor(amount / MONEY_STEP) * MONEY_STEP


def _in_domain(application: Mapping[str, Any], loan: _Loan) -> bool:
    """The changed application (Kaggle names) passes the request's own checks (services/data/domains.py)."""
    changed = loan.fields()
    domains = domain_for("application")
    if not all(domains[field].allows(value) for field, value in changed.items()):
        return False
    row = {**application, **changed}
    return not any(rule.broken_in_row(row) for rule in rules_for("application"))


def _asked(raw: RawTables) -> tuple[Table, np.ndarray]:
    """The asked application's row and its feature vector with the history: the history's features, the
    same for every candidate, are computed once per search."""
    row = Table.of_frame("application", raw.application, np.zeros(1, dtype=np.intp))
    return row, compute_vectors(Batch.of_raw(row, raw.history))[0]


def _score(
    model: ScoringModel, vector: np.ndarray, application: Table, loans: list[_Loan]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PDs, approvals and unusual-input flags of the changed applications: the application's features of
    each (its history's are those of `vector`, the asked application's), then the model and its policy
    (review band, unusual inputs)."""
    values = model.columns_of(vary_application(vector, _candidates(application, loans)), NAMES)
    pds, unusual = model.predict_pd(values), model.unusual(values)
    return pds, model.outcome(pds, unusual) == "approved", unusual


def _candidates(application: Table, loans: list[_Loan]) -> Table:
    """The application once per candidate, its actionable fields those of the candidate's loan."""
    columns = {name: np.repeat(column, len(loans)) for name, column in application.columns.items()}
    columns["amt_credit"] = np.array([loan.credit for loan in loans])
    columns["amt_annuity"] = np.array([loan.annuity for loan in loans])
    columns["amt_goods_price"] = np.array([np.nan if loan.goods is None else loan.goods for loan in loans])
    return Table(columns, np.arange(len(loans)))


def _offer(kind: OfferKind, asked: _Loan, loan: _Loan, pd: float) -> Offer:
    changes = {field: value for field, value in loan.fields().items() if value != asked.fields()[field]}
    return Offer(kind, changes, float(pd), _offer_text(kind, asked, loan))


def _offer_text(kind: OfferKind, asked: _Loan, loan: _Loan) -> str:
    if kind == "smaller_loan":
        return (
            f"A loan of {_money(loan.credit)} instead of {_money(asked.credit)}, over the same term "
            f"(monthly payment {_money(loan.annuity)}), would be approved."
        )
    if kind == "down_payment":
        return (
            f"A down payment of {_money(asked.credit - loan.credit)} on the same goods, so a loan of "
            f"{_money(loan.credit)} (monthly payment {_money(loan.annuity)}), would be approved."
        )
    return (
        f"The same {_money(asked.credit)} over {round(loan.term)} months instead of about "
        f"{round(asked.term)} (monthly payment {_money(loan.annuity)} instead of {_money(asked.annuity)}) "
        "would be approved."
    )


def _statement(offers: list[Offer], bounds: RecourseBounds, flagged: bool) -> str:
    if offers:
        return " Or: ".join(offer.text for offer in offers)
    if flagged:
        return (
            "No offer: the application has inputs unusual for this model, so a loan officer reviews it; "
            "a change of amount or term does not remove them."
        )
    return (
        f"No offer: no loan of at least {bounds.min_amount_share:.0%} of the amount asked, and no term up to "
        f"{bounds.max_term_months} months, would be approved by this model."
    )


def _money(amount: float) -> str:
    return f"{amount:,.0f}"
