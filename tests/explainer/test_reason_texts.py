"""Every real client of the sample and every client of a synthetic set, explained by a model trained on
them: the texts are clean, never contradict themselves, and the principal reasons follow the rules."""

import re
from pathlib import Path

import pytest

from loopback.trained import Trained, train_on
from services.contracts.explanations import Explanation
from services.data.synth import generate
from services.explainer.explanation import explain_rows
from services.explainer.models import loaded_version
from services.feature_definitions.catalog import NAMES
from services.feature_definitions.families import catalogue
from services.feature_store.files import labelled_features
from services.training.cross_validation import MONOTONE_DIRECTIONS

SYNTHETIC_CLIENTS = 3000
_BANNED = re.compile(r"\b(nan|none|null|inf|infinity)\b|than usual|[a-z0-9]+_[a-z0-9_]+", re.IGNORECASE)
_COMPARED = re.compile(
    r"(?P<label>[^:;]+) is (?P<value>[^,;]+), (?P<side>above|below) the (?P<reference>[^;]+?)"
    r" typical of repaid clients(?=;|\. This)"
)
_DAYS = {"days": 1.0, "months": 365.25 / 12, "years": 365.25}


@pytest.fixture(scope="module")
def real(real_data_dir: Path) -> Trained:
    """Trained with gender as an input (`--include-gender`), so that it could become a reason."""
    return train_on(labelled_features(real_data_dir / "application_train_sample.csv"), include_gender=True)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    out = tmp_path_factory.mktemp("synth")
    generate(SYNTHETIC_CLIENTS, seed=11, out=out)
    return train_on(labelled_features(out / "application_train.csv", out))


def explain_all(trained: Trained) -> list[Explanation]:
    loaded = loaded_version(trained.model, trained.reference)
    return explain_rows(loaded, "1", trained.x, trained.ids.tolist(), top_k=10)


def _quantity(text: str) -> float:
    """ "0.47" -> 0.47, "23%" -> 23, "4.5 years" -> days: the comparisons' numbers as a reader sees them."""
    number, _, unit = text.replace(",", "").removesuffix("%").partition(" ")
    return float(number) * _DAYS.get(unit, 1.0)


def check(explanation: Explanation) -> None:
    reasons = explanation.principal_reasons
    wanted = "lowers risk" if explanation.decision == "approved" else "raises risk"
    assert len(reasons) <= 4 and len({r.family for r in reasons}) == len(reasons)
    assert all(r.direction == wanted and r.family != "gender" for r in reasons)
    assert [r for r in reasons if "gender" in r.text.lower()] == []
    strengths = [f.shap_value for f in explanation.families if f.direction == wanted and f.family != "gender"]
    assert len(reasons) == min(4, len([s for s in strengths if s != 0]))
    margin = explanation.base_value + sum(f.shap_value for f in explanation.families)
    assert margin == pytest.approx(explanation.raw_margin, abs=1e-9)
    labels = {catalogue()[name].label: name for name in NAMES}
    for reason in reasons:
        assert not _BANNED.search(reason.text), reason.text
        assert not any(name in reason.text for name in NAMES), reason.text
        for compared in _COMPARED.finditer(reason.text):
            name = labels[compared["label"].strip()]  # age in days and in years: one label, one direction
            rises_with = MONOTONE_DIRECTIONS[name] * (-1 if "days" in name else 1)  # days are said positive
            value, reference = _quantity(compared["value"]), _quantity(compared["reference"])
            assert (value > reference) == (compared["side"] == "above"), reason.text
            assert ((value - reference) * rises_with > 0) == (wanted == "raises risk"), reason.text


def test_every_real_client_gets_clean_consistent_principal_reasons(real: Trained) -> None:
    gender = NAMES.index("app_code_gender_code")
    assert real.model.booster.feature_importance()[gender] > 0  # gender is an input: it could be a reason
    explanations = explain_all(real)
    assert len(explanations) == 5000
    for explanation in explanations:
        check(explanation)
    assert {e.decision for e in explanations} == {"approved", "review", "refused"}
    assert any("typical of repaid clients" in r.text for e in explanations for r in e.principal_reasons)
    assert any("on file" in r.text for e in explanations for r in e.principal_reasons)  # missing scores


def test_every_synthetic_client_gets_clean_consistent_principal_reasons(synthetic: Trained) -> None:
    gender = NAMES.index("app_code_gender_code")
    assert synthetic.model.booster.feature_importance()[gender] == 0  # by default the model cannot use it
    assert len(set(synthetic.x[:, gender])) > 1  # though the vectors it explains carry it
    explanations = explain_all(synthetic)
    for explanation in explanations:
        check(explanation)
    families = {r.family for e in explanations for r in e.principal_reasons}
    assert families & {"late_instalments", "bureau_debt", "pos_arrears", "card", "refused_previous"}
