"""Models trained on real and synthetic clients for the reason and recourse tests and the recourse bench,
the way `credit train` trains one (default parameters, monotone constraints, gender masked unless
included), calibrated, thresholded, with the review band around the threshold."""

from dataclasses import dataclass

import numpy as np
import polars as pl

from services.feature_definitions.catalog import NAMES
from services.feature_store.files import LabelledFeatures
from services.model.calibration import fit_calibrator
from services.model.cost import best_threshold
from services.model.model import ScoringModel
from services.model.policy import REVIEW_SHARE, ReviewBand
from services.training.cross_validation import (
    TrainingConfig,
    cross_validate,
    default_params,
    monotone_constraints,
    refit,
    without_protected,
)

CONFIG = TrainingConfig(folds=3, threads=2)


@dataclass(frozen=True)
class Trained:
    model: ScoringModel
    x: np.ndarray  # every catalog feature (gender with its real values), in catalog order
    y: np.ndarray
    ids: np.ndarray
    reference: pl.DataFrame  # as the registry stores it: features, TARGET


def train_on(clients: LabelledFeatures, include_gender: bool = False) -> Trained:
    """`credit train`'s default parameters, constraints and gender rule, without the search."""
    fitted = without_protected(clients.x, NAMES, include_gender)
    params = default_params(len(clients.y))
    monotone = monotone_constraints(NAMES)
    cv = cross_validate(fitted, clients.y, params, CONFIG, monotone)
    calibrator = fit_calibrator(cv.oof, clients.y)
    validation_pd = calibrator.transform(cv.oof)
    threshold = best_threshold(clients.y, validation_pd).threshold
    booster = refit(fitted, clients.y, params, cv.best_iteration, CONFIG, monotone)
    review = ReviewBand.around(validation_pd, threshold, REVIEW_SHARE)
    model = ScoringModel(booster, calibrator, threshold, NAMES, "reason-tests", review)
    reference = pl.DataFrame(clients.x, schema=list(NAMES), orient="row").with_columns(
        pl.Series("TARGET", clients.y)
    )
    return Trained(model, clients.x, clients.y, clients.ids, reference)
