"""The ASGI app: the API routers, the web pages and the error handlers over one AppContext."""

from fluenzr.server.app import create_app

__all__ = ["create_app"]
