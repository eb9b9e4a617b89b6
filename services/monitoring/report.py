"""The HTML drift report: Evidently's DataDriftPreset drawn for the most drifted features and the score.

Drawing every feature would take minutes and tens of megabytes; the full per-feature results are in
Postgres (drift_features) and behind GET /drift/latest. The window is drawn from a sample of at most
REPORT_ROWS rows, the size of the reference sample: the plots look the same and render three times faster.
"""

import warnings

import polars as pl
from evidently import DataDefinition, Dataset, Report
from evidently.legacy.core import ColumnType
from evidently.presets import DataDriftPreset
from threadpoolctl import threadpool_limits

from services.monitoring.drift import DriftResult, column_type
from services.monitoring.window import PD_COLUMN

SCORE_COLUMN = "PD"
REPORT_ROWS = 5_000


def render(
    reference: pl.DataFrame, current: pl.DataFrame, result: DriftResult, top: int, share_threshold: float
) -> str:
    """`reference` has the reference sample's columns (PD as "PD"); `current` the window's (PD_COLUMN)."""
    features = [f.feature for f in result.features[:top]]
    numerical = [f for f in features if column_type(f) == ColumnType.Numerical]
    categorical = [f for f in features if f not in numerical]
    definition = DataDefinition(numerical_columns=[*numerical, SCORE_COLUMN], categorical_columns=categorical)
    columns = [*features, SCORE_COLUMN]
    ref = reference.select(*features, SCORE_COLUMN).fill_nan(None).to_pandas()
    drawn = current.sample(n=min(current.height, REPORT_ROWS), seed=0)
    cur = drawn.select(*features, pl.col(PD_COLUMN).alias(SCORE_COLUMN)).fill_nan(None).to_pandas()
    report = Report([DataDriftPreset(columns=columns, drift_share=share_threshold)])
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):  # see drift.compare
        warnings.simplefilter("ignore", RuntimeWarning)
        snapshot = report.run(
            Dataset.from_pandas(cur, data_definition=definition),
            Dataset.from_pandas(ref, data_definition=definition),
        )
    return snapshot.get_html_str(as_iframe=False)
