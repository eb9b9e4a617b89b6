"""Principal reasons in plain words: SHAP contributions summed per reason family, the strongest families
said in sentences naming their leading features' values.

A refusal (or a case sent to review) is told the families that raise the risk most, an approval its
strengths; at most four, one per family (the mean, the minimum and one external score are one signal).
Gender is never a reason. Values read in their units (years, months, %, counts, amounts); a value is
compared with typical repaid clients (the median over the reference sample's repaid clients) only when
the model is constrained to a direction of risk for that feature and the comparison agrees with the
stated effect, so a sentence can never say "lower than usual ... lowers the risk" for a feature whose
risk falls as it rises. Otherwise the value is stated without a comparison.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from services.contracts.explanations import Direction, FamilyContribution, PrincipalReason
from services.feature_definitions.families import FAMILY_BY_KEY, Plain, catalogue
from services.feature_definitions.vocabularies import VOCABULARIES
from services.training.cross_validation import MONOTONE_DIRECTIONS

MAX_REASONS = 4
FEATURES_PER_REASON = 2
DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12
RISK_RAISING_DECISIONS = ("refused", "review")
_CATEGORY_WORDS = {"Y": "yes", "N": "no", "XNA": "not given"}  # Kaggle's codes for flags and "not given"


@dataclass(frozen=True)
class Families:
    """A model's features grouped by family: column indexes into its feature order."""

    columns: dict[str, np.ndarray]

    @classmethod
    def of(cls, feature_names: Sequence[str]) -> "Families":
        plain = catalogue()
        keys = [plain[name].family for name in feature_names]
        return cls({key: np.flatnonzero(np.array(keys) == key) for key in dict.fromkeys(keys)})

    def totals(self, shap: np.ndarray) -> list[FamilyContribution]:
        """Each family's summed contribution (log-odds), largest |sum| first, zero sums left out; with
        the base value they add up to the model's raw margin."""
        sums = [(key, float(shap[columns].sum())) for key, columns in self.columns.items()]
        sums = [(key, s) for key, s in sums if s != 0.0]  # families the trees never use say nothing
        return [
            FamilyContribution(
                family=key, title=FAMILY_BY_KEY[key].title, shap_value=s, direction=direction(s)
            )
            for key, s in sorted(sums, key=lambda item: -abs(item[1]))
        ]


def direction(shap_value: float) -> Direction:
    return "raises risk" if shap_value > 0 else "lowers risk"


def principal_reasons(
    decision: str,
    families: Sequence[FamilyContribution],
    names: Sequence[str],
    row: np.ndarray,
    shap: np.ndarray,
    repaid_medians: Mapping[str, float],
) -> list[PrincipalReason]:
    """Up to four families pushing the way of the decision (risk up for refused/review, down for an
    approval), strongest first, protected families never; each worded from its leading features."""
    wanted = "raises risk" if decision in RISK_RAISING_DECISIONS else "lowers risk"
    chosen = [
        f
        for f in families
        if f.direction == wanted and f.shap_value != 0 and not FAMILY_BY_KEY[f.family].protected
    ][:MAX_REASONS]
    reasons = []
    for family in chosen:
        leading = _leading(family.family, wanted, names, shap)
        parts = [describe(names[i], row[i], wanted, repaid_medians.get(names[i])) for i in leading]
        effect = "This raises the risk." if wanted == "raises risk" else "This lowers the risk."
        reasons.append(
            PrincipalReason(
                family=family.family,
                title=family.title,
                direction=wanted,
                features=[names[i] for i in leading],
                text=f"{family.title}: {'; '.join(parts)}. {effect}",
            )
        )
    return reasons


def _leading(family: str, wanted: Direction, names: Sequence[str], shap: np.ndarray) -> list[int]:
    """The family's strongest features pushing the wanted way, one per label (age in days and in years
    are one fact)."""
    plain, labels, leading = catalogue(), set(), []
    for i in np.argsort(-np.abs(shap), kind="stable"):
        label = plain[names[i]].label
        if (
            plain[names[i]].family != family
            or shap[i] == 0
            or direction(shap[i]) != wanted
            or label in labels
        ):
            continue
        labels.add(label)
        leading.append(int(i))
        if len(leading) == FEATURES_PER_REASON:
            break
    return leading


def describe(name: str, value: float, effect: Direction, repaid_median: float | None) -> str:
    """One feature and its value in words, compared with repaid clients only where that is consistent."""
    plain = catalogue()[name]
    if np.isnan(value):
        return f"no {plain.label} on file" if plain.unit == "score" else f"{plain.label} not known"
    if plain.unit == "flag":
        return f"{plain.label}: {'yes' if value else 'no'}"
    if plain.unit == "category":
        return f"{plain.label}: {_category(name, value)}"
    text = f"{plain.label} is {amount(plain, value)}"
    comparison = _comparison(name, plain, value, effect, repaid_median)
    return f"{text}, {comparison}" if comparison else text


def _comparison(name: str, plain: Plain, value: float, effect: Direction, median: float | None) -> str | None:
    """ "below the 0.55 typical of repaid clients", when the model's risk moves one way with the feature
    and the client's side of the repaid median agrees with the stated effect; else None."""
    risk_rises_with = MONOTONE_DIRECTIONS.get(name, 0)
    if not risk_rises_with or median is None or np.isnan(median):
        return None
    shown, reference = _shown(plain, value), _shown(plain, median)
    if plain.unit == "days_ago":
        risk_rises_with = -risk_rises_with  # said as a positive duration: the sign flips
    if amount(plain, value) == amount(plain, median):
        return None
    riskier_side = (shown - reference) * risk_rises_with > 0
    if riskier_side != (effect == "raises risk"):
        return None
    side = "above" if shown > reference else "below"
    return f"{side} the {amount(plain, median)} typical of repaid clients"


def _shown(plain: Plain, value: float) -> float:
    return -value if plain.unit == "days_ago" else value


def amount(plain: Plain, value: float) -> str:
    """A value in its unit: 0.47; 12%; 3.2 times; 135,000; 2; 4.5 years; 8 months; 3 days."""
    match plain.unit:
        case "score":
            return f"{value:.2f}"
        case "share":
            return f"{100 * value:.1f}%" if 0 < abs(value) < 0.1 else f"{100 * value:.0f}%"
        case "ratio":
            return f"{value:.1f} times"
        case "amount":
            return f"{value:,.0f}"
        case "years":
            return f"{value:.1f} years"
        case "days_ago":
            return _duration(-value)
        case "days":
            return f"{_count(value)} days"
        case _:
            return _count(value)


def _duration(days: float) -> str:
    if abs(days) < 2 * DAYS_PER_MONTH:
        return f"{days:,.0f} days"
    if abs(days) < 2 * DAYS_PER_YEAR:
        return f"{days / DAYS_PER_MONTH:.0f} months"
    return f"{days / DAYS_PER_YEAR:.1f} years"


def _count(value: float) -> str:
    """Whole numbers as such; others to three significant digits, never in exponent notation."""
    if float(value).is_integer():
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) >= 0.001 else f"{value:.4f}"


def _category(name: str, code: float) -> str:
    column = name.removeprefix("app_").removesuffix("_code")
    vocabulary = VOCABULARIES[column]
    if not 0 <= code < len(vocabulary):
        return "a value outside the usual list"
    value = vocabulary[int(code)]
    return _CATEGORY_WORDS.get(value, value.replace("_", " "))  # Kaggle's "Other_B"
