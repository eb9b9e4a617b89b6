"""Bounded hyperparameter search: Optuna TPE on CV AUC, seeded with the already-evaluated defaults."""

from collections.abc import Callable
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, FloatDistribution, IntDistribution

from services.scoring.training import BASE_PARAMS, CvResult, TrainingConfig, cross_validate

# Ranges reach strong regularisation (few leaves, large leaves, big L2) for small data sets.
SEARCH_SPACE: dict[str, BaseDistribution] = {
    "learning_rate": FloatDistribution(0.02, 0.1, log=True),
    "num_leaves": IntDistribution(4, 63, log=True),
    "min_child_samples": IntDistribution(20, 400, log=True),
    "feature_fraction": FloatDistribution(0.2, 1.0),
    "lambda_l2": FloatDistribution(0.1, 100.0, log=True),
}


def suggest_params(trial: optuna.Trial) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, space in SEARCH_SPACE.items():
        if isinstance(space, IntDistribution):
            params[name] = trial.suggest_int(name, space.low, space.high, log=space.log)
        elif isinstance(space, FloatDistribution):
            params[name] = trial.suggest_float(name, space.low, space.high, log=space.log)
    return params


def search(
    x: np.ndarray,
    y: np.ndarray,
    start: tuple[dict[str, Any], CvResult],
    config: TrainingConfig,
    on_trial: Callable[[dict[str, Any], CvResult], None],
) -> tuple[dict[str, Any], CvResult]:
    """Best params and their CV result after `config.trials` new trials; `start` (defaults, already
    cross-validated) is told to the sampler first and wins if no trial beats it."""
    fixed, start_result = start
    results: dict[int, tuple[dict[str, Any], CvResult]] = {0: start}

    def objective(trial: optuna.Trial) -> float:
        params = {**fixed, **suggest_params(trial)}
        cv = cross_validate(x, y, params, config)
        results[trial.number] = (params, cv)
        on_trial(*results[trial.number])
        return results[trial.number][1].auc

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=config.seed))
    defaults = {name: BASE_PARAMS[name] for name in SEARCH_SPACE}
    study.add_trial(
        optuna.trial.create_trial(params=defaults, distributions=SEARCH_SPACE, value=start_result.auc)
    )
    if config.trials > 0:
        study.optimize(objective, n_trials=config.trials)
    return results[study.best_trial.number]
