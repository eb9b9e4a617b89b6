"""Synthetic Home Credit tables with the real headers, quirks and planted, recoverable default risk."""

from services.data.synth.build import generate
from services.data.synth.command import synth_command
from services.data.synth.drift import DRIFTED_COLUMNS, RECOMPUTED_UNDER_DRIFT

__all__ = ["DRIFTED_COLUMNS", "RECOMPUTED_UNDER_DRIFT", "generate", "synth_command"]
