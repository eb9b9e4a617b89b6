"""The registry: enough features, readable and unique names, descriptions, docs in sync, a sensitive hash."""

import re
from dataclasses import replace

import pytest

from services.feature_definitions import catalog, docs, families
from services.feature_definitions.raw import RawTables, empty_history, frame_from_rows

_NAME = re.compile(r"^(app|bureau|previous|pos|instalments|card)_[a-z0-9_]+$")


def test_at_least_400_features_with_unique_readable_names() -> None:
    assert len(catalog.NAMES) >= 400
    assert len(set(catalog.NAMES)) == len(catalog.NAMES)
    assert [n for n in catalog.NAMES if not _NAME.match(n)] == []


def test_every_feature_has_a_description_and_a_known_kind() -> None:
    assert [f.name for f in catalog.FEATURES if len(f.description.strip()) < 10] == []
    assert {f.kind for f in catalog.FEATURES} == {"continuous", "categorical", "flag"}


def test_docs_page_is_generated_from_the_current_definitions() -> None:
    assert docs.DOCS_PATH.read_text() == docs.render(), "run `credit features docs`"


def test_hash_changes_with_any_definition() -> None:
    features = catalog.FEATURES
    changed_expr = (replace(features[0], expr=features[0].expr + 1), *features[1:])
    renamed = (replace(features[0], name="app_other"), *features[1:])
    reordered = (features[1], features[0], *features[2:])
    hashes = {catalog.feature_set_hash(f) for f in (features, changed_expr, renamed, reordered)}
    assert len(hashes) == 4
    assert catalog.feature_set_hash(features) == catalog.FEATURE_SET_HASH


def test_history_aggregates_of_a_client_without_history_are_missing() -> None:
    application = frame_from_rows("application", [{"SK_ID_CURR": 1, "AMT_CREDIT": 1.0}])
    row = catalog.compute_features(RawTables(application=application, **empty_history())).row(0, named=True)
    assert [n for n in catalog.NAMES if not n.startswith("app_") and row[n] is not None] == []


def test_every_feature_has_one_family_a_plain_label_and_a_unit() -> None:
    plain = families.catalogue()
    assert list(plain) == list(catalog.NAMES)
    assert {p.family for p in plain.values()} == {f.key for f in families.FAMILIES}  # no empty family
    labels = [p.label for p in plain.values()]
    assert [label for label in labels if "_" in label or label != label.strip() or not label] == []
    assert families.protected_features() == ("app_code_gender_code",)


def test_a_feature_no_family_rule_covers_fails_the_catalogue() -> None:
    stray = replace(catalog.FEATURES[0], name="bureau_all_unheard_of_mean")
    with pytest.raises(ValueError, match="bureau_all_unheard_of_mean"):
        families.plain_words((*catalog.FEATURES, stray))
