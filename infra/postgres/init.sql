-- First start of the Compose Postgres: the platform database and the MLflow backend store.
CREATE DATABASE credit;
CREATE DATABASE mlflow;
