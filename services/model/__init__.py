"""The credit model as one unit (booster, calibration, threshold, policy) and its MLflow registry: what
scoring, the explainer and monitoring share."""
