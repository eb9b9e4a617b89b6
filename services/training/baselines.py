"""Reference models logged beside LightGBM, so its gain is visible: a constant predictor and a
regularised logistic regression, scored out-of-fold on the same folds."""

import numpy as np
from sklearn.dummy import DummyClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler


def baseline_models() -> dict[str, Pipeline]:
    """Median imputation with missingness flags, because missing often carries signal here."""
    logistic = make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(C=0.05, max_iter=500),
    )
    return {"dummy": make_pipeline(DummyClassifier(strategy="prior")), "logistic_regression": logistic}


def baseline_oof(model: Pipeline, x: np.ndarray, y: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Out-of-fold default probabilities on the same stratified folds as LightGBM."""
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return cross_val_predict(model, x, y, cv=splitter, method="predict_proba")[:, 1]
