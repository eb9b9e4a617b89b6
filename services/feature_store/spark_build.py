"""Batch build on Spark: the same `compute_features` as the single machine, applied per client partition.

Clients are hashed on SK_ID_CURR into partitions. Each table's rows are packed, partition by partition,
into Arrow IPC blobs (one Python pass per input split, no per-row work); one shuffle brings every blob of a
client partition together, where the seven frames are rebuilt as RawTables and given to `compute_features`.
No feature is expressed in Spark: Spark only moves rows. Vectors land as Parquet under
`OUTPUT/feature_set_hash=<hash>/`, and `load_vectors` streams them into the Postgres feature store.
"""

import time
from dataclasses import dataclass

import polars as pl
import pyarrow.dataset as ds
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, LongType, StructField, StructType

from services.common.migrations import migrate
from services.feature_definitions.catalog import FEATURE_SET_HASH, NAMES
from services.feature_definitions.raw import polars_schema
from services.feature_store.client_partitions import BUCKET, TABLES, compute_partition, packer
from services.feature_store.spark_tables import read_tables, with_buckets
from services.feature_store.store import matrix_from_frame, write_materialised

PACKED_SCHEMA = f"{BUCKET} int, table string, rows binary"
VECTOR_SCHEMA = StructType(
    [StructField("sk_id_curr", LongType(), False), *(StructField(name, DoubleType()) for name in NAMES)]
)
SET_COLUMN = "feature_set_hash"
LOAD_BATCH_ROWS = 20_000


@dataclass(frozen=True)
class SparkBuildReport:
    feature_set_hash: str
    clients: int
    features: int
    partitions: int
    output: str
    build_seconds: float
    loaded: int | None  # clients written to the Postgres feature store, None without --load
    load_seconds: float | None


def feature_vectors(spark: SparkSession, input_dir: str, partitions: int) -> DataFrame:
    """sk_id_curr plus every feature in catalog order, one row per application of `input_dir`."""
    keyed = with_buckets(read_tables(spark, input_dir), partitions)
    packed = [
        keyed[table].select(BUCKET, *polars_schema(table)).mapInArrow(packer(table), PACKED_SCHEMA)
        for table in TABLES
    ]
    blobs = packed[0]
    for frame in packed[1:]:
        blobs = blobs.unionByName(frame)
    return blobs.groupBy(BUCKET).applyInArrow(compute_partition, VECTOR_SCHEMA)


def build_on_spark(spark: SparkSession, input_dir: str, output_dir: str, partitions: int) -> int:
    """Write the vectors of every application in `input_dir` as Parquet; returns the client count."""
    vectors = feature_vectors(spark, input_dir, partitions).withColumn(SET_COLUMN, F.lit(FEATURE_SET_HASH))
    vectors.write.mode("overwrite").partitionBy(SET_COLUMN).parquet(output_dir)
    return spark.read.parquet(vector_path(output_dir)).count()


def vector_path(output_dir: str) -> str:
    return f"{output_dir.rstrip('/')}/{SET_COLUMN}={FEATURE_SET_HASH}"


def load_vectors(database_url: str, output_dir: str) -> int:
    """Stream the current feature set's Parquet vectors into Postgres (one transaction, binary COPY)."""
    migrate(database_url)
    dataset = ds.dataset(vector_path(output_dir), format="parquet")
    missing = [name for name in ("sk_id_curr", *NAMES) if name not in dataset.schema.names]
    if missing:
        raise ValueError(f"{vector_path(output_dir)} lacks feature column(s): {', '.join(missing[:5])}")
    batches = dataset.to_batches(columns=["sk_id_curr", *NAMES], batch_size=LOAD_BATCH_ROWS)
    return write_materialised(database_url, (matrix_from_frame(pl.from_arrow(b)) for b in batches))


def build(
    spark: SparkSession, input_dir: str, output_dir: str, partitions: int, database_url: str | None
) -> SparkBuildReport:
    """Build on Spark, then (when `database_url` is given) load the vectors into that feature store."""
    started = time.perf_counter()
    clients = build_on_spark(spark, input_dir, output_dir, partitions)
    built = time.perf_counter()
    loaded = load_vectors(database_url, output_dir) if database_url else None
    return SparkBuildReport(
        feature_set_hash=FEATURE_SET_HASH,
        clients=clients,
        features=len(NAMES),
        partitions=partitions,
        output=vector_path(output_dir),
        build_seconds=round(built - started, 2),
        loaded=loaded,
        load_seconds=round(time.perf_counter() - built, 2) if database_url else None,
    )
