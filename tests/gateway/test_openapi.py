"""Property-based checks of the gateway's OpenAPI schema (schemathesis) against the live platform: whatever
the generated input, no 5xx and no answer outside the documented statuses, content types and bodies.

Operations are driven one by one with Hypothesis rather than through `schema.parametrize`, whose lazy
fixture loading does not work with pytest 9.
"""

from collections.abc import Callable

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from loopback.platform import Platform

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 20


def test_api_honours_its_schema(stack: Platform, make_key: Callable[..., str]) -> None:
    schema = schemathesis.openapi.from_url(f"{stack.gateway.url}/openapi.json")
    headers = {"X-API-Key": make_key()}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {
        "/v1/scores",
        "/v1/explanations/{explanation_id}",
        "/v1/outcomes",
    }
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS, timeout=30)

        check()
