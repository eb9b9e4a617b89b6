"""The feature registry: every feature in model order, its kind and description, and the feature-set hash.

The hash covers the ordered names, kinds and serialised expressions, so any change to a definition
yields a new feature set and a model trained on the old one is never fed the new vector silently.
(A Polars upgrade that serialises expressions differently changes the hash as well: rebuild then.)
"""

import hashlib
from collections.abc import Callable, Iterable

import polars as pl

from services.contracts.features import FeatureInfo, FeatureSchema
from services.feature_definitions import application, bureau, credit_card, installments, pos_cash, previous
from services.feature_definitions.raw import RawTables
from services.feature_definitions.spec import Feature, HistoryTable

FEATURES: tuple[Feature, ...] = (
    *application.FEATURES,
    *bureau.FEATURES,
    *previous.FEATURES,
    *pos_cash.FEATURES,
    *installments.FEATURES,
    *credit_card.FEATURES,
)
NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
DESCRIPTIONS: dict[str, str] = {f.name: f.description for f in FEATURES}
KINDS: dict[str, str] = {f.name: f.kind for f in FEATURES}
DTYPE = "float64"  # every feature is delivered as a float; categorical codes and flags are whole numbers


def feature_set_hash(features: tuple[Feature, ...]) -> str:
    digest = hashlib.sha256()
    for feature in features:
        digest.update(
            f"{feature.name}|{feature.kind}|{feature.expr.meta.serialize(format='json')}\n".encode()
        )
    return digest.hexdigest()[:16]


FEATURE_SET_HASH: str = feature_set_hash(FEATURES)
_KNOWN = frozenset(NAMES)


def not_produced(names: Iterable[str]) -> list[str]:
    """The names among `names` that no feature definition produces, in their order."""
    return [name for name in names if name not in _KNOWN]


# History tables in catalog order (their features follow the application's in FEATURES).
HISTORIES: tuple[HistoryTable, ...] = (
    bureau.HISTORY,
    previous.HISTORY,
    pos_cash.HISTORY,
    installments.HISTORY,
    credit_card.HISTORY,
)
# The raw tables each history source reads and the function aggregating them per client.
HISTORY_SOURCES: tuple[tuple[tuple[str, ...], Callable[..., pl.DataFrame]], ...] = tuple(
    (history.tables, history.compute) for history in HISTORIES
)


def for_few_rows() -> None:
    """Set this process's Polars engine for computing a few applications at a time (the features service,
    the explainer worker): the in-memory engine. Polars 2 defaults to its streaming engine, which builds
    23k applications faster (1.05 s against 1.35 s here) but takes ~40% longer for one, where planning
    the 640 expressions, not evaluating them, is most of the time (docs/latency.md)."""
    pl.Config.set_engine_affinity("in-memory")


def compute_features(raw: RawTables) -> pl.DataFrame:
    """sk_id_curr plus every feature (Float64, in catalog order), one row per application in `raw`."""
    return compute_features_from(lambda table: getattr(raw, table))


def compute_features_from(table: Callable[[str], pl.DataFrame]) -> pl.DataFrame:
    """The same, asking `table(name)` for each raw table when it is needed, so a batch build can read
    tables one source at a time and let each go once aggregated."""
    frame = application.compute(table("application"))
    for tables, aggregate in HISTORY_SOURCES:
        frame = frame.join(aggregate(*(table(name) for name in tables)), on="sk_id_curr", how="left")
    return frame.select("sk_id_curr", *NAMES)


def feature_schema() -> FeatureSchema:
    """The feature set as the features service serves it and `credit features schema` prints it."""
    return FeatureSchema(
        feature_set_hash=FEATURE_SET_HASH,
        features=[
            FeatureInfo(name=f.name, dtype=DTYPE, kind=f.kind, description=f.description) for f in FEATURES
        ],
    )
