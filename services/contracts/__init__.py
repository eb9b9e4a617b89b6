"""Typed contracts between the services: the one definition of each message, imported by its producer and
its consumer alike, so a change to a field fails both sides' tests. Pydantic models and constants only."""
