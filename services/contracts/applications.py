"""A raw application and its history rows, as the gateway's `/v1/scores` accepts them and the features
service's `POST /features/compute` computes them.

The models are generated from services/data/tables.py, so the API accepts exactly the Kaggle column names
and types (extra fields are rejected, naming them), and each value is checked against its domain
(services/data/domains.py): an impossible value is a 422 naming the field, its value and the allowed range
or values.
"""

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, create_model
from pydantic_core import PydanticCustomError

from services.data.domains import CrossRule, Domain, domain_for, rules_for
from services.feature_definitions.raw import HISTORY_TABLES, spec_for

_PYTHON_TYPES: dict[str, Any] = {"id": int, "number": float, "text": str}
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


def _in_domain(domain: Domain, rules: list[CrossRule]) -> AfterValidator:
    """The field's domain, then the cross-field rules it is reported under (their other columns come
    earlier in the table, so they are validated already and in `info.data`)."""

    def check(value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return value
        if not domain.allows(value):
            raise PydanticCustomError("domain", "{reason}", {"reason": domain.reason})
        if not rules:  # most fields: no row to assemble (a new application has ~2,000 values)
            return value
        row = {**info.data, domain.column: value}
        for rule in rules:
            if rule.broken_in_row(row):
                raise PydanticCustomError("domain", "{reason}", {"reason": rule.explain(row)})
        return value

    return AfterValidator(check)


def _row_model(table: str, application: bool = False) -> type[BaseModel]:
    """Fields a domain says cannot be null are required, except ids: a new applicant has none yet, and
    history rows are tied to the application by the service."""
    spec = spec_for(table)
    domains, rules = domain_for(table), rules_for(table)
    fields: dict[str, Any] = {}
    for column in spec.columns:
        domain = domains[column]
        reported = [r for r in rules if r.columns[0] == column]
        python_type = Annotated[_PYTHON_TYPES[spec.kind(column)], _in_domain(domain, reported)]
        required = application and not domain.nullable and domain.kind != "id"
        fields[column] = (python_type, ...) if required else (python_type | None, None)
    return create_model(f"{table.title().replace('_', '')}Row", __config__=_STRICT, **fields)


ApplicationIn = _row_model("application", application=True)
REQUIRED_APPLICATION_FIELDS = tuple(n for n, f in ApplicationIn.model_fields.items() if f.is_required())
HistoryIn = create_model(
    "HistoryIn",
    __config__=_STRICT,
    **{table: (list[_row_model(table)], Field(default_factory=list)) for table in HISTORY_TABLES},
)


class ComputeRequest(BaseModel):
    """A raw application; `history` omitted means: use the history stored for its SK_ID_CURR."""

    model_config = _STRICT
    application: ApplicationIn  # type: ignore[valid-type]
    history: HistoryIn | None = None  # type: ignore[valid-type]


MAX_BATCH_APPLICATIONS = 200


class BatchComputeRequest(BaseModel):
    """Several raw applications computed in one call (`POST /features/compute/batch`), each as
    `POST /features/compute` takes one; the answer keeps their order."""

    model_config = _STRICT
    applications: list[ComputeRequest] = Field(min_length=1, max_length=MAX_BATCH_APPLICATIONS)
