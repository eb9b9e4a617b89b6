"""Prometheus metrics of the features service (module-level: one registry per process)."""

from prometheus_client import Counter

from services.common.metrics import RequestMetrics

HTTP = RequestMetrics("features", buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5))
VECTORS = Counter("features_vectors_total", "Feature vectors served, by origin", ["origin"])
UNSEEN_CATEGORIES = Counter(
    "features_unseen_categories_total", "Categorical values outside the fixed vocabulary, by field", ["field"]
)
