"""Monitoring: decision log, outcomes, drift jobs, realised performance, fairness and Prometheus metrics."""
