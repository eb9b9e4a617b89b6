"""`credit recourse --client ID`: the counterfactual offers for a client known to Postgres, as the officers'
tool until the explainer worker returns them with each explanation."""

import json
from dataclasses import asdict
from typing import Annotated

import typer

from services.common.cli import user_errors
from services.common.db import raw_connection
from services.common.settings import CommonSettings
from services.explainer.recourse import RecourseBounds, offers_for
from services.feature_definitions.raw import read_client_rows
from services.model import registry
from services.model.mlflow_uri import TrackingUnavailable, connect
from services.model.model_store import ModelVersionNotFound, load_alias

USER_ERRORS = (TrackingUnavailable, registry.RegistryError, ModelVersionNotFound, LookupError)


def recourse_command(
    client: Annotated[int, typer.Option(help="SK_ID_CURR of an application in Postgres.")],
    alias: Annotated[str, typer.Option(help="Registry alias of the model.")] = registry.CHAMPION,
    min_amount_share: Annotated[
        float, typer.Option(min=0.05, max=1.0, help="Smallest share of the amount asked an offer may lend.")
    ] = RecourseBounds.min_amount_share,
    max_term_months: Annotated[
        int, typer.Option(min=1, help="Longest term an offer may propose.")
    ] = RecourseBounds.max_term_months,
) -> None:
    """Up to three offers (smaller loan, down payment, longer term) the model would approve, as JSON."""
    settings = CommonSettings()
    bounds = RecourseBounds(min_amount_share=min_amount_share, max_term_months=max_term_months)
    with user_errors(*USER_ERRORS):
        connect(settings.mlflow_tracking_uri)
        model, version = load_alias(alias)
        with raw_connection(settings.database_url) as conn:
            raw = read_client_rows(conn, [client])
        if raw.application.is_empty():
            raise LookupError(f"client {client} is unknown: no application with SK_ID_CURR {client}")
        recourse = offers_for(model, raw, bounds)
    offers = [asdict(offer) for offer in recourse.offers]
    typer.echo(json.dumps({"client_id": client, "model_version": version, "offers": offers,
                           "statement": recourse.statement}))  # fmt: skip
