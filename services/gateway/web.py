"""The loan officers' page at /app/: static files (HTML, CSS, ES modules, vendored Chart.js) served by the
gateway itself, so the page calls the same /v1 API from the same origin and needs no front-end server."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

WEB_DIR = Path(__file__).with_name("web")


def mount(app: FastAPI, path: str = "/app") -> None:
    """Serve WEB_DIR under `path`; `path` alone redirects to `path/`, which serves index.html."""
    app.mount(path, StaticFiles(directory=WEB_DIR, html=True), name="web")
