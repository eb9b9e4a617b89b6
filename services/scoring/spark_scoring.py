"""Portfolio scoring on Spark: the registered model applied to every client's vector, inside the executors.

The driver resolves the alias once and loads that version with the project's own loader, so every
executor scores with the same version even if the alias moves mid-job; the model travels with the task
(PySpark broadcasts a large closure). Vectors come from the Spark feature build (the same feature
function), and each batch goes through `score_features`, the function `credit score --input` uses.
"""

from collections.abc import Callable, Iterator

import polars as pl
import pyarrow as pa
from pyspark.sql import SparkSession

from services.feature_definitions.catalog import FEATURE_SET_HASH
from services.feature_store.spark_build import feature_vectors
from services.feature_store.store import matrix_from_frame
from services.model.model import ScoringModel
from services.model.model_store import load_alias
from services.scoring.batch_scoring import OUTPUT_COLUMNS, check_feature_set, score_features

SCORES_ARROW_SCHEMA = pa.schema(
    [
        ("SK_ID_CURR", pa.int64()),
        ("PD", pa.float64()),
        ("DECISION", pa.string()),
        ("MODEL_VERSION", pa.string()),
    ]
)
SCORES_SCHEMA = "SK_ID_CURR bigint, PD double, DECISION string, MODEL_VERSION string"


def score_on_spark(spark: SparkSession, input_dir: str, output_dir: str, partitions: int, alias: str) -> int:
    """Write SK_ID_CURR, PD, DECISION, MODEL_VERSION of every application in `input_dir` as Parquet."""
    model, version = load_alias(alias)
    check_feature_set(model, version, FEATURE_SET_HASH)
    vectors = feature_vectors(spark, input_dir, partitions)
    scores = vectors.mapInArrow(_scorer(model, version), SCORES_SCHEMA).select(*OUTPUT_COLUMNS)
    scores.write.mode("overwrite").parquet(output_dir)
    return spark.read.parquet(output_dir).count()


def _scorer(
    model: ScoringModel, version: str
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    def score(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            scored = score_features(model, version, matrix_from_frame(pl.from_arrow(batch)))
            yield from scored.select(OUTPUT_COLUMNS).to_arrow().cast(SCORES_ARROW_SCHEMA).to_batches()

    return score
