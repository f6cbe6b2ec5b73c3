"""``/api/docs``: Swagger UI served from this installation, never from a CDN.

The viewer's assets are the ones the ``fastapi-offline`` package ships (Swagger UI's bundle and
stylesheet, vendored there); the page is ours so the Content-Security-Policy stays strict
(``script-src 'self'``: the initialiser is a static file, not an inline script).
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/api/docs/assets"
DOCS_URL = "/api/docs"

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · API</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script>
</body>
</html>
"""


def install(app: FastAPI, *, title: str, openapi_url: str) -> None:
    """Mount the assets and the page (the app is built with ``docs_url=None``)."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="api-docs-assets")
    page = _PAGE.format(title=title, assets=ASSETS_URL, openapi=openapi_url)

    @app.get(DOCS_URL, include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> RedirectResponse:
        return RedirectResponse("/static/favicon.svg", status_code=301)


__all__ = ["ASSETS", "ASSETS_URL", "DOCS_URL", "install"]
