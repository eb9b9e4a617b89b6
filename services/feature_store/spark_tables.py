"""The seven raw tables on Spark: found in a directory of Kaggle-named files, typed like Postgres holds them.

A table is a CSV or Parquet file, or a Parquet directory (Spark's own output), named by the same rule as
`credit data load` (`bureau.csv`, `application_train_sample.parquet`), directly in the directory, on any
path Spark reads (local, HDFS, S3, ...). Values are read as written and cast to the loader's kinds (ids
bigint, numbers double, text string), so the Postgres path and this one feed the feature function the
same values; a value that does not fit its kind fails the job with Spark's message naming it.
"""

import csv
from dataclasses import dataclass
from pathlib import PurePosixPath

from py4j.java_gateway import JavaObject
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DataType, DoubleType, LongType, StringType, StructField, StructType

from services.data.sources import SUFFIXES, table_for_file
from services.data.tables import TABLES_BY_NAME, TableSpec
from services.data.validate import header_problem
from services.feature_definitions.raw import HISTORY_TABLES, polars_schema, spec_for
from services.feature_store.client_partitions import BUCKET

SPARK_TYPES: dict[str, DataType] = {"id": LongType(), "number": DoubleType(), "text": StringType()}
APPLICATION_FILES = ("application_train", "application_test")


class SparkInputError(ValueError):
    """The input directory does not hold the seven tables with their Kaggle headers; the message says why."""


@dataclass(frozen=True)
class TableFile:
    spec: TableSpec
    uri: str


def find_tables(spark: SparkSession, directory: str) -> dict[str, TableFile]:
    """Kaggle table name -> its file; both application tables are optional but not both missing."""
    fs, path = _hadoop_path(spark, directory)
    if not fs.exists(path) or not fs.getFileStatus(path).isDirectory():
        raise SparkInputError(f"{directory} is not a directory")
    found: dict[str, list[str]] = {}
    for status in fs.listStatus(path):
        name = PurePosixPath(status.getPath().getName())
        spec = table_for_file(name) if name.suffix.lower() in SUFFIXES else None
        if spec is not None:
            found.setdefault(spec.name, []).append(status.getPath().toString())
    return _one_file_per_table(directory, found)


def _hadoop_path(spark: SparkSession, uri: str) -> tuple[JavaObject, JavaObject]:
    """Hadoop's file system and path for `uri`: the driver lists and peeks where Spark reads."""
    path = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(uri)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path


def _one_file_per_table(directory: str, found: dict[str, list[str]]) -> dict[str, TableFile]:
    clashes = {name: uris for name, uris in found.items() if len(uris) > 1}
    if clashes:
        detail = "; ".join(f"{name}: {', '.join(uris)}" for name, uris in clashes.items())
        raise SparkInputError(f"more than one file for a table ({detail}); keep one file per table")
    wanted = [spec_for(table).name for table in HISTORY_TABLES]
    missing = [name for name in wanted if name not in found]
    if not any(name in found for name in APPLICATION_FILES):
        missing.insert(0, " or ".join(APPLICATION_FILES))
    if missing:
        raise SparkInputError(f"no file in {directory} for table(s): {', '.join(missing)}")
    return {name: TableFile(TABLES_BY_NAME[name], uris[0]) for name, uris in found.items()}


def read_tables(spark: SparkSession, directory: str) -> dict[str, DataFrame]:
    """RawTables field name -> typed frame with lower-case columns (both application files in one)."""
    files = find_tables(spark, directory)
    frames = {name: _read(spark, file) for name, file in files.items()}
    problems = [
        f"{file.uri}: {problem}"
        for name, file in files.items()
        if (problem := header_problem(file.spec, frames[name].columns))
    ]
    if problems:
        raise SparkInputError("; ".join(problems))
    applications = [_typed(frames[name], "application") for name in APPLICATION_FILES if name in frames]
    tables = {"application": _union(applications)}
    for table in HISTORY_TABLES:
        tables[table] = _typed(frames[spec_for(table).name], table)
    return tables


def _read(spark: SparkSession, file: TableFile) -> DataFrame:
    if file.uri.lower().rstrip("/").endswith(".parquet"):
        return spark.read.parquet(file.uri)
    # Every CSV value as a string (no type guessing); "" inside quotes is a quote, as Kaggle writes them.
    # The header is read here rather than by a Spark job per file: eight jobs cost more than the build.
    strings = StructType([StructField(name, StringType()) for name in _csv_header(spark, file.uri)])
    return spark.read.csv(file.uri, schema=strings, header=True, escape='"', mode="FAILFAST")


def _csv_header(spark: SparkSession, uri: str) -> list[str]:
    fs, path = _hadoop_path(spark, uri)
    jvm = spark.sparkContext._jvm
    stream = fs.open(path)
    try:
        line = jvm.java.io.BufferedReader(jvm.java.io.InputStreamReader(stream, "UTF-8")).readLine()
    finally:
        stream.close()
    if not line:
        raise SparkInputError(f"{uri}: empty file, expected a header line")
    return next(csv.reader([line.removeprefix("\ufeff")]))


def _typed(frame: DataFrame, table: str) -> DataFrame:
    spec = spec_for(table)
    by_lower = {column.lower(): column for column in frame.columns}
    return frame.select(
        [
            F.col(f"`{by_lower[column]}`").cast(SPARK_TYPES[spec.kind(by_lower[column])]).alias(column)
            for column in polars_schema(table)
        ]
    )


def _union(frames: list[DataFrame]) -> DataFrame:
    union = frames[0]
    for frame in frames[1:]:
        union = union.unionByName(frame)
    return union


def bucket_of(client: Column, partitions: int) -> Column:
    """The client partition of an SK_ID_CURR: the same for a client's rows in every table."""
    return F.pmod(F.xxhash64(client), F.lit(partitions)).cast("int")


def with_buckets(tables: dict[str, DataFrame], partitions: int) -> dict[str, DataFrame]:
    """Each table with its rows' client partition; a bureau_balance row takes its bureau credit's.

    A bureau credit's monthly rows go once to each partition holding a client of that credit, so a
    partition sees them exactly as often as the single-machine join does.
    """
    keyed = {
        table: frame.withColumn(BUCKET, bucket_of(F.col("sk_id_curr"), partitions))
        for table, frame in tables.items()
        if table != "bureau_balance"
    }
    credit_buckets = keyed["bureau"].select("sk_id_bureau", BUCKET).distinct()
    keyed["bureau_balance"] = tables["bureau_balance"].join(credit_buckets, on="sk_id_bureau")
    return keyed
