"""Tests of the training worker: continuous training, never continuous promotion."""
