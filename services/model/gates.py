"""Promotion gates: one function per gate, each judging a candidate version (against the champion where
the gate compares) on the same rows, with its threshold from `GateSettings`.

A gate that compares with the champion is "not applicable" when there is no champion yet, and fails
when the champion cannot be scored on the candidate's rows (the reason says why): such a promotion
needs `--force` with a written justification. Absolute gates (calibration, four-fifths rule) always apply.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sklearn.metrics import roc_auc_score

from services.model.calibration import expected_calibration_error
from services.model.cost import FALSE_NEGATIVE_COST, cost_per_application
from services.model.fairness import MIN_GROUP_DECISIONS, with_ratios
from services.model.stability import score_psi

MISSING_GROUP = "missing"  # rows without the attribute: shown nowhere, judged against no one


class GateSettings(BaseSettings):
    """Each gate's threshold: env GATES_<FIELD> (GATES_MAX_PSI=0.2), or `--gate max_psi=0.2`."""

    model_config = SettingsConfigDict(env_prefix="GATES_", env_file=None, extra="forbid")

    auc_tolerance: float = Field(
        0.01,
        ge=0,
        le=1,
        description="the CI's lower bound of AUC(candidate) - AUC(champion) must be >= -this",
    )
    confidence: float = Field(0.95, gt=0, lt=1, description="level of the paired bootstrap interval")
    bootstrap_rounds: int = Field(300, ge=50, le=10_000, description="paired bootstrap resamples")
    bootstrap_seed: int = Field(0, description="seed of the resampling (reports are reproducible)")
    max_ece: float = Field(0.05, ge=0, le=1, description="expected calibration error, 10 equal-count bins")
    max_calibration_gap: float = Field(
        0.02, ge=0, le=1, description="calibration-in-the-large: |mean PD - observed default rate|"
    )
    cost_tolerance: float = Field(
        0.02, ge=0, description="candidate cost/app may exceed the champion's by this share (0.02 = 2 %)"
    )
    min_approval_ratio: float = Field(
        0.8, ge=0, le=1, description="four-fifths rule: each group's approval rate / the best group's"
    )
    max_psi: float = Field(0.25, ge=0, description="PSI of candidate vs champion scores on recent traffic")
    max_changed_share: float = Field(
        0.2, ge=0, le=1, description="share of recent decisions whose outcome the candidate would change"
    )
    traffic_rows: int = Field(5000, ge=1, description="latest logged decisions read for PSI and changes")
    min_traffic_rows: int = Field(
        200, ge=1, description="fewer logged decisions than this: the validation rows stand in for traffic"
    )


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "not applicable"


@dataclass(frozen=True)
class GateResult:
    name: str
    status: Status
    rule: str
    figures: dict[str, float | str | None] = field(default_factory=dict)
    reason: str = ""


@dataclass(frozen=True)
class Scores:
    """One model's view of a set of rows: calibrated PDs, threshold decisions and full outcomes."""

    pd: np.ndarray
    threshold: float
    outcome: np.ndarray  # approved / review / refused, the unusual-input rule included

    @property
    def approved(self) -> np.ndarray:
        """The model's side of the threshold (what cost and the four-fifths rule are computed on)."""
        return self.pd < self.threshold


@dataclass(frozen=True)
class Champion:
    """The champion's scores on the candidate's rows and on recent traffic (both set whenever `version`
    is and `unusable` is empty), or why it cannot be compared; `version` None: no champion yet."""

    version: str | None
    rows: Scores | None = None
    traffic: Scores | None = None
    unusable: str = ""


def _comparing(name: str, rule: str, champion: Champion, figures: dict | None = None) -> GateResult | None:
    """The result of a comparing gate when there is nothing (usable) to compare with; None when the
    champion's `rows` and `traffic` are there to compare."""
    if champion.version is None:
        return GateResult(name, Status.NOT_APPLICABLE, rule, figures or {}, "no champion yet")
    if champion.unusable:
        return GateResult(name, Status.FAIL, rule, figures or {}, champion.unusable)
    return None


def _judged(passed: bool) -> Status:
    return Status.PASS if passed else Status.FAIL


def discrimination(y: np.ndarray, candidate: Scores, champion: Champion, s: GateSettings) -> GateResult:
    """AUC and Gini (= 2 AUC - 1) of both models with a paired bootstrap interval of the difference:
    the same resampled rows score both models, so their shared noise cancels."""
    rule = f"{s.confidence:.0%} CI lower bound of AUC difference >= -{s.auc_tolerance}"
    candidate_auc = float(roc_auc_score(y, candidate.pd))
    figures: dict[str, float | str | None] = {
        "candidate_auc": candidate_auc,
        "candidate_gini": 2 * candidate_auc - 1,
    }
    skipped = _comparing("discrimination", rule, champion, figures)
    if skipped is not None:
        return skipped
    low, high = paired_bootstrap(y, candidate.pd, champion.rows.pd, roc_auc_score, s)
    champion_auc = float(roc_auc_score(y, champion.rows.pd))
    figures |= {
        "champion_auc": champion_auc,
        "champion_gini": 2 * champion_auc - 1,
        "auc_difference": candidate_auc - champion_auc,
        "auc_difference_ci_low": low,
        "auc_difference_ci_high": high,
        "gini_difference_ci_low": 2 * low,
        "gini_difference_ci_high": 2 * high,
    }
    return GateResult("discrimination", _judged(low >= -s.auc_tolerance), rule, figures)


def paired_bootstrap(
    y: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    metric: Callable[[np.ndarray, np.ndarray], float],
    s: GateSettings,
) -> tuple[float, float]:
    """Percentile interval of metric(first) - metric(second) over resamples of the same row indices."""
    rng = np.random.default_rng(s.bootstrap_seed)
    differences = []
    for _ in range(s.bootstrap_rounds):
        rows = rng.integers(0, len(y), len(y))
        if y[rows].min() == y[rows].max():
            continue  # one class only: AUC undefined for this resample
        differences.append(metric(y[rows], first[rows]) - metric(y[rows], second[rows]))
    tail = (1 - s.confidence) / 2
    low, high = np.quantile(differences, [tail, 1 - tail])
    return float(low), float(high)


def calibration_error(y: np.ndarray, candidate: Scores, s: GateSettings) -> GateResult:
    """ECE: PDs are read as probabilities, so each band of PDs must default at about its mean PD. A
    perfectly calibrated model still shows some ECE on few rows (binomial noise); that expected noise is
    added to the allowance, so a small validation set does not fail a sound model by chance."""
    ece = expected_calibration_error(y, candidate.pd)
    noise = _ece_noise(candidate.pd)
    figures: dict[str, float | str | None] = {"ece": ece, "noise_allowance": noise}
    return GateResult(
        "calibration_ece", _judged(ece <= s.max_ece + noise), f"ECE <= {s.max_ece} + noise", figures
    )


def _ece_noise(pd_values: np.ndarray, bins: int = 10) -> float:
    """Expected ECE of calibrated PDs: per equal-count bin, E|observed - expected| of a sum of Bernoullis
    (normal approximation: sqrt(2/pi) x its standard deviation), weighted like ECE."""
    chunks = [c for c in np.array_split(np.sort(pd_values), bins) if len(c)]
    spread = [np.sqrt(2 / np.pi) * np.sqrt(np.sum(c * (1 - c))) for c in chunks]
    return float(sum(spread) / len(pd_values))


def calibration_in_the_large(y: np.ndarray, candidate: Scores, s: GateSettings) -> GateResult:
    """The mean PD against the observed default rate: the portfolio's expected loss must be right. The
    gap fails when it is both beyond `max_calibration_gap` and beyond chance (|z| > 1.96 for the default
    count expected from the PDs)."""
    mean_pd, default_rate = float(candidate.pd.mean()), float(y.mean())
    gap = mean_pd - default_rate
    z = gap * len(y) / max(float(np.sqrt(np.sum(candidate.pd * (1 - candidate.pd)))), 1e-12)
    figures: dict[str, float | str | None] = {
        "mean_pd": mean_pd,
        "default_rate": default_rate,
        "gap": gap,
        "z": z,
    }
    rule = f"abs(mean PD - default rate) <= {s.max_calibration_gap}, or abs(z) <= 1.96"
    passed = abs(gap) <= s.max_calibration_gap or abs(z) <= 1.96
    return GateResult("calibration_in_the_large", _judged(passed), rule, figures)


def business_cost(y: np.ndarray, candidate: Scores, champion: Champion, s: GateSettings) -> GateResult:
    """Cost per application, each model at its own threshold. Without a champion the yardstick is
    approving everyone (cost 10 x default rate): a model must at least beat having no model."""
    cost = cost_per_application(y, candidate.pd, candidate.threshold)
    figures: dict[str, float | str | None] = {"candidate_cost_per_app": cost}
    if champion.version is None:
        approve_all = FALSE_NEGATIVE_COST * float(y.mean())
        figures["approve_all_cost_per_app"] = approve_all
        return GateResult("business_cost", _judged(cost < approve_all), "cost/app < approve-all's", figures)
    rule = f"cost/app <= champion's x (1 + {s.cost_tolerance})"
    skipped = _comparing("business_cost", rule, champion, figures)
    if skipped is not None:
        return skipped
    reference = cost_per_application(y, champion.rows.pd, champion.rows.threshold)
    figures["champion_cost_per_app"] = reference
    return GateResult("business_cost", _judged(cost <= reference * (1 + s.cost_tolerance)), rule, figures)


def approval_ratio(
    attribute: str, groups: np.ndarray | None, candidate: Scores, s: GateSettings, order: Sequence[str] = ()
) -> GateResult:
    """Four-fifths rule on the candidate's threshold decisions: every group large enough to judge (at
    least MIN_GROUP_DECISIONS rows; rows missing the attribute left out) is approved at least
    `min_approval_ratio` as often as the best one. Like calibration-in-the-large, a shortfall fails only
    when it is beyond chance: z of (group rate - ratio x best rate) below -1.96, so 33 applicants under 25
    approved 0.697 against 0.876 (ratio 0.796) pass, 500 approved 0.5 against 0.86 fail. Groups are listed
    in `order`, others after by name."""
    rule = f"min group approval ratio >= {s.min_approval_ratio}, or z >= -1.96"
    name = f"approval_ratio_{attribute}"
    if groups is None:
        return GateResult(name, Status.NOT_APPLICABLE, rule, reason=f"the rows carry no {attribute}")
    counts = [
        (str(g), int((groups == g).sum()), float(candidate.approved[groups == g].mean()))
        for g in sorted(set(groups) - {MISSING_GROUP}, key=lambda g: (g not in order, _rank(order, g)))
    ]
    rates = with_ratios(attribute, counts)
    figures: dict[str, float | str | None] = {
        f"{r.group} (n={r.decisions})": round(r.approval_rate, 4) for r in rates
    }
    judged = [r for r in rates if r.ratio is not None]
    if not judged:
        return GateResult(
            name, Status.NOT_APPLICABLE, rule, figures, f"no group has {MIN_GROUP_DECISIONS} rows"
        )
    best = max(judged, key=lambda r: r.approval_rate)
    lowest = min(judged, key=lambda r: r.ratio or 0.0)
    z = _shortfall_z(lowest.approval_rate, lowest.decisions, best.approval_rate, best.decisions, s)
    figures |= {"min_ratio": lowest.ratio, "z": z}
    return GateResult(
        name, _judged((lowest.ratio or 0.0) >= s.min_approval_ratio or z >= -1.96), rule, figures
    )


def _shortfall_z(rate: float, n: int, best_rate: float, best_n: int, s: GateSettings) -> float:
    """z of rate - min_approval_ratio x best_rate under each rate's binomial variance (floored, so rates of
    exactly 0 or 1 give a large finite z of the gap's sign)."""
    ratio = s.min_approval_ratio
    variance = rate * (1 - rate) / n + ratio**2 * best_rate * (1 - best_rate) / best_n
    return float((rate - ratio * best_rate) / np.sqrt(max(variance, 1e-12)))


def _rank(order: Sequence[str], group: str) -> int | str:
    return order.index(group) if group in order else group


def score_stability(candidate: Scores, champion: Champion, source: str, s: GateSettings) -> GateResult:
    """PSI of the candidate's PDs against the champion's on the same recent applications."""
    rule = f"PSI <= {s.max_psi}"
    skipped = _comparing("score_stability", rule, champion)
    if skipped is not None:
        return skipped
    psi = score_psi(champion.traffic.pd, candidate.pd)
    return GateResult("score_stability", _judged(psi <= s.max_psi), rule, {"psi": psi, "rows": source})


def changed_decisions(candidate: Scores, champion: Champion, source: str, s: GateSettings) -> GateResult:
    """The share of recent applications whose outcome (approved / review / refused) would change."""
    rule = f"changed share <= {s.max_changed_share}"
    skipped = _comparing("changed_decisions", rule, champion)
    if skipped is not None:
        return skipped
    share = float(np.mean(candidate.outcome != champion.traffic.outcome))
    figures: dict[str, float | str | None] = {"changed_share": share, "rows": source}
    return GateResult("changed_decisions", _judged(share <= s.max_changed_share), rule, figures)
