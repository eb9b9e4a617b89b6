"""Feature pipeline: definitions (one source of truth), batch build, online assembly, HTTP service."""
