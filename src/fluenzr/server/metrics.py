"""``GET /metrics``: the Prometheus text format, for the operator only (docs/observability.md).

The figures span every workspace, so the endpoint is closed unless the operator sets
``FLUENZR_METRICS_TOKEN``: unset, ``/metrics`` is 404 (it does not exist); set, a scrape must
send ``Authorization: Bearer <token>`` or get 401. The token is compared in constant time and
never logged. The route sits beside the API and the pages, not in them: it is no user's and
takes no session or API token.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request, Response

from fluenzr.services.context import AppContext

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

PATH = "/metrics"


def _authorized(request: Request, expected: str) -> bool:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(value.strip().encode(), expected.encode())


def install(app: FastAPI, ctx: AppContext) -> None:
    registries: list[CollectorRegistry] = []  # built on the first scrape

    # A sync route: FastAPI runs it in the thread pool, the queries stay off the event loop.
    @app.get(PATH, include_in_schema=False)
    def metrics(request: Request) -> Response:
        token = ctx.settings.metrics_token
        if token is None:
            return Response("Not Found\n", status_code=404, media_type="text/plain")
        if not _authorized(request, token.get_secret_value()):
            return Response(
                "Unauthorized\n",
                status_code=401,
                media_type="text/plain",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        # lazy: prometheus_client (~0.1 s) only for an installation that is scraped.
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        from fluenzr.services.fleet_metrics import metrics_registry

        if not registries:
            registries.append(metrics_registry(ctx))
        return Response(
            generate_latest(registries[0]),
            media_type=CONTENT_TYPE_LATEST,
            headers={"Cache-Control": "no-store"},
        )
