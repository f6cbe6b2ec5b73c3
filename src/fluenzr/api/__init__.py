"""REST API (``/api/v1``) and the app factory that also mounts the web UI."""

from fluenzr.api.app import create_app

__all__ = ["create_app"]
