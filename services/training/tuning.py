"""Bounded hyperparameter search: Optuna TPE on CV AUC, seeded with the already-evaluated defaults, and
a confirmation on fresh folds so that a winner by fold noise does not replace the defaults."""

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, FloatDistribution, IntDistribution

from services.training.cross_validation import CvResult, TrainingConfig, cross_validate, min_leaf_size

Candidate = tuple[dict[str, Any], CvResult]


def search_space(rows: int) -> dict[str, BaseDistribution]:
    """Ranges around the defaults for `rows` training rows: the leaf size scales with the rows.

    The learning rate is not searched: with early stopping a slower rate is rarely worse, only slower,
    and searching it spends trials on the time budget rather than on the fit.
    """
    leaf = min_leaf_size(rows)
    return {
        "num_leaves": IntDistribution(3, 31, log=True),
        "min_child_samples": IntDistribution(max(5, leaf // 4), leaf * 4, log=True),
        "feature_fraction": FloatDistribution(0.1, 0.8),
        "lambda_l2": FloatDistribution(0.1, 100.0, log=True),
    }


def suggest_params(trial: optuna.Trial, space: dict[str, BaseDistribution]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, distribution in space.items():
        if isinstance(distribution, IntDistribution):
            params[name] = trial.suggest_int(name, distribution.low, distribution.high, log=distribution.log)
        elif isinstance(distribution, FloatDistribution):
            params[name] = trial.suggest_float(
                name, distribution.low, distribution.high, log=distribution.log
            )
    return params


def search(
    x: np.ndarray,
    y: np.ndarray,
    start: Candidate,
    config: TrainingConfig,
    on_trial: Callable[[dict[str, Any], CvResult], None],
    monotone: Sequence[int] = (),
) -> Candidate:
    """Best params and their CV result after `config.trials` new trials; `start` (defaults, already
    cross-validated) is told to the sampler first and wins if no trial beats it."""
    fixed, start_result = start
    space = search_space(len(y))
    results: dict[int, Candidate] = {0: start}

    def objective(trial: optuna.Trial) -> float:
        params = {**fixed, **suggest_params(trial, space)}
        cv = cross_validate(x, y, params, config, monotone)
        results[trial.number] = (params, cv)
        on_trial(*results[trial.number])
        return results[trial.number][1].auc

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=config.seed))
    defaults = {name: fixed[name] for name in space}
    study.add_trial(optuna.trial.create_trial(params=defaults, distributions=space, value=start_result.auc))
    if config.trials > 0:
        study.optimize(objective, n_trials=config.trials)
    return results[study.best_trial.number]


def confirm(
    x: np.ndarray,
    y: np.ndarray,
    start: Candidate,
    winner: Candidate,
    config: TrainingConfig,
    on_result: Callable[[str, dict[str, Any], float], None],
    monotone: Sequence[int] = (),
) -> Candidate:
    """The search winner if it also beats the defaults on `confirm_repeats` fresh fold splits, else the
    defaults. The best of several candidates on one split is biased upwards (on 5,000 rows one split's
    AUC moves by about 0.005 with the folds alone); fresh splits do not share that luck."""
    if winner is start or config.confirm_repeats == 0:
        return winner
    seeds = [config.seed + repeat for repeat in range(1, config.confirm_repeats + 1)]
    scores = {}
    for name, (params, _) in (("defaults", start), ("search", winner)):
        scores[name] = float(np.mean([cross_validate(x, y, params, config, monotone, s).auc for s in seeds]))
        on_result(name, params, scores[name])
    return winner if scores["search"] > scores["defaults"] else start
