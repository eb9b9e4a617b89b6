"""What the scoring service runs while it serves (the alias watcher, the shadow publisher), and when it is
ready: once a champion model is loaded."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from services.common.http import ApiError
from services.common.service import service_state
from services.model.registry import MODEL_NAME
from services.scoring.metrics import show_model
from services.scoring.reloader import AliasWatcher
from services.scoring.serving import LoadedModel, ModelHolder
from services.scoring.settings import ScoringSettings
from services.scoring.shadow import ShadowPublisher


@dataclass(frozen=True)
class ScoringState:
    settings: ScoringSettings
    holder: ModelHolder
    shadow: ShadowPublisher

    def champion(self) -> LoadedModel:
        """The champion reference, read once: everything a request does uses this one version."""
        champion = self.holder.champion
        if champion is None:
            retry = str(max(1, round(self.settings.reload_interval_s)))
            raise ApiError(503, "model_not_loaded", "no model loaded yet", headers={"Retry-After": retry})
        return champion


ScoringStateDep = Annotated[ScoringState, Depends(service_state)]


@asynccontextmanager
async def open_state(settings: ScoringSettings) -> AsyncIterator[ScoringState]:
    state = ScoringState(settings=settings, holder=ModelHolder(), shadow=ShadowPublisher(settings))
    tasks = [
        asyncio.create_task(AliasWatcher(settings, state.holder).run()),
        asyncio.create_task(state.shadow.run()),
    ]
    try:
        yield state
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await state.shadow.close()
        for role in ("champion", "challenger"):
            show_model(role, None)  # metrics are process-wide: this app no longer serves a model


async def ready(state: ScoringState) -> str:
    return f"ready: {MODEL_NAME} version {state.champion().version}"
