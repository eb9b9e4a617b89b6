"""The features service (vectors by client id or from raw rows), its Postgres store, and the batch builds
that fill it (Polars on one machine, Spark on a cluster). The definitions live in feature_definitions."""
