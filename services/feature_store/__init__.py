"""The feature store: the batch build (single machine and Spark) of every client's vector into Postgres, its
reads (a client's stored vector, the labelled training table), on-the-fly vectors from raw rows, and the
`credit features` commands. Training, batch scoring, Spark and the features service use it; the
definitions themselves are services/feature_definitions."""
