"""The one error body every service answers with (services.common.http writes it; the gateway reads it)."""

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    code: str = Field(description="stable, machine-readable")
    message: str
    details: Any = None
    request_id: str


class ErrorResponse(BaseModel):
    """The one error shape of every endpoint and every service."""

    error: ErrorBody
