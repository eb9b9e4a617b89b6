"""`credit train`: the training table, cross-validation, search, baselines, figures and MLflow logging."""
