"""LightGBM's pred_contrib is exact TreeSHAP: it matches the shap library and adds up to the raw margin."""

import numpy as np
import pytest
import shap

from services.explainer.shap_values import VectorMismatch, contributions, vector_for
from tests.support.models import EXPLAINER_NAMES as NAMES
from tests.support.models import SmallModel


def test_contributions_agree_with_shap_tree_explainer(small: SmallModel) -> None:
    rows = small.x[:40]
    assert np.isnan(rows).any()  # missing values take the trees' default branches in both implementations
    values, base_values = contributions(small.model.booster, rows)
    explainer = shap.TreeExplainer(small.model.booster)
    reference = np.asarray(explainer.shap_values(rows))
    np.testing.assert_allclose(values, reference, rtol=0, atol=1e-6)
    np.testing.assert_allclose(base_values, float(np.ravel(explainer.expected_value)[-1]), rtol=0, atol=1e-6)


def test_contributions_plus_base_value_is_the_raw_margin(small: SmallModel) -> None:
    margins = small.model.booster.predict(small.x[:40], raw_score=True)
    values, base_values = contributions(small.model.booster, small.x[:40])
    np.testing.assert_allclose(base_values + values.sum(axis=1), margins, rtol=0, atol=1e-9)
    assert not np.allclose(np.diff(margins), 0)  # rows differ: the check is not trivially true


def test_a_batch_gives_each_row_exactly_the_values_it_gets_alone(small: SmallModel) -> None:
    batch, batch_base = contributions(small.model.booster, small.x[:40])
    alone = [contributions(small.model.booster, small.x[i : i + 1]) for i in range(40)]
    np.testing.assert_array_equal(batch, np.vstack([values for values, _ in alone]))
    np.testing.assert_array_equal(batch_base, np.concatenate([base for _, base in alone]))


def test_vector_for_orders_by_model_and_reads_none_as_missing() -> None:
    features = {name: float(i) for i, name in enumerate(reversed(NAMES))} | {"app_flag_email": None}
    row = vector_for(NAMES, features)
    assert row[0] == 4.0 and np.isnan(row[3])


def test_vector_for_names_missing_and_unknown_features() -> None:
    features = {name: 1.0 for name in NAMES[1:]} | {"not_a_feature": 2.0}
    with pytest.raises(VectorMismatch, match=r"1 missing \(e.g. \['app_ext_source_3'\]\), 1 unknown"):
        vector_for(NAMES, features)
