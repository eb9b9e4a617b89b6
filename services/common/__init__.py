"""Thin shared package: settings base, JSON logging, database helpers. Nothing domain-specific."""
