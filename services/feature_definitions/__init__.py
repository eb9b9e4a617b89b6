"""The 640 feature definitions, one source of truth: Polars expressions over the raw tables, their
families and words, and the feature-set hash. Batch, Spark and online builds all call `catalog`."""
