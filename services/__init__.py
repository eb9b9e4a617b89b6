"""Prêt à dépenser's credit-scoring platform: one package per service, plus the shared packages they use.

OMP_WAIT_POLICY=PASSIVE: LightGBM's OpenMP threads otherwise spin while waiting, and on a busy 2-core
machine two spinning threads ran 5-8x slower than one. libgomp reads the variable once, when LightGBM's
library loads, so it is set here, before any module of the platform imports lightgbm.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
